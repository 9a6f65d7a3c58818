"""Event coding on the rater's page: codes on the player's keys, and the list of the rater's events.

The player turns a key press into an op (start, stop or point at the frame shown) with a random
id; :func:`player_coding` applies each id once, in its own unit of work, and tells the player
which ids are done, so a press is never lost to a rerun and never coded twice. The list beside
the player shows the rater's events by onset; one chosen event can be edited (code, times,
modifiers), deleted, or jumped to. Widget keys carry the page's opaque item token and a random
token per event (``tok``), never an event or assignment id.
"""

from __future__ import annotations

import secrets

import streamlit as st

from annotate.services import events
from annotate.services.errors import DatabaseUnavailable, ServiceError
from annotate.ui import common
from annotate.ui.player import Coding, CodingKey, parse_coding_ops

__all__ = ["event_list", "player_coding", "seek_request"]

_APPLIED = "_coding_applied"


def _actor():
    return st.session_state["actor"]


def _labels(groups: tuple[events.EventGroup, ...]) -> dict[str, str]:
    return {c.name: c.label for g in groups for c in g.codes}


def _apply(aid: int, item_tok: str, ops: list[events.CodingOp]) -> None:
    """Apply the presses not applied yet, each in its own transaction (one refused press, for
    example a stop with nothing running, says why and does not hold back the others)."""
    applied: set[str] = st.session_state.setdefault(_APPLIED, set())
    reason = st.session_state.get(f"reason_{item_tok}", "")
    for op in ops:
        if op.op_id in applied:
            continue
        try:
            with common.db() as s:
                events.apply_coding_op(s, _actor(), aid, op, reason=reason)
        except DatabaseUnavailable as exc:
            # Not answered: the browser keeps the press and sends it again with the next one.
            common.flash(str(exc), "error")
            return
        except ServiceError as exc:
            common.flash(str(exc), "warning")
        # Applied or refused, the press is answered: the browser may stop sending it.
        applied.add(op.op_id)


def player_coding(coding: events.EventCoding, aid: int, item_tok: str, player_key: str, disabled: bool) -> Coding:
    """The :class:`Coding` to hand the player for this item: its codes, running states and acks."""
    value = st.session_state.get(player_key)
    sent = parse_coding_ops(value.get("coding") if value is not None and hasattr(value, "get") else None)
    applied: set[str] = st.session_state.get(_APPLIED, set())
    keys = [
        CodingKey(key=c.key, code=c.name, kind=c.kind, label=c.label, group=g.key, exclusive=g.exclusive)
        for g in coding.groups
        for c in g.codes
    ]
    return Coding(
        codes=keys,
        on_ops=lambda ops: _apply(aid, item_tok, ops),
        open_codes=sorted({e.code for e in coding.open_states}),
        acked=[op.op_id for op in sent if op.op_id in applied],
        disabled=disabled,
    )


def seek_request(item_tok: str) -> tuple[float | None, int | None]:
    """The pending "go to" of this item's list (seconds, request id) for the player."""
    request = st.session_state.get(f"seek_{item_tok}")
    return (request[0], request[1]) if request else (None, None)


def _go_to(item_tok: str, seconds: float) -> None:
    _, last = seek_request(item_tok)
    st.session_state[f"seek_{item_tok}"] = (seconds, (last or 0) + 1)


def _event_tok(event_id: int) -> str:
    tokens: dict[int, str] = st.session_state.setdefault("_event_tokens", {})
    if event_id not in tokens:
        tokens[event_id] = secrets.token_hex(6)
    return tokens[event_id]


def _save(item_tok: str, event: events.EventView, etok: str) -> None:
    offset = st.session_state.get(f"evoff_{etok}") if event.kind == "state" else None
    try:
        with common.db() as s:
            events.edit_event(
                s,
                _actor(),
                event.id,
                expected_version=event.version,
                code=st.session_state.get(f"evcode_{etok}", event.code),
                onset=st.session_state.get(f"evon_{etok}", event.onset),
                offset=offset,
                modifiers=st.session_state.get(f"evmod_{etok}", list(event.modifiers)),
                reason=st.session_state.get(f"reason_{item_tok}", ""),
            )
        common.flash("Event saved.")
    except ServiceError as exc:
        common.flash(str(exc), "error")


def _delete(item_tok: str, event: events.EventView) -> None:
    try:
        with common.db() as s:
            events.delete_event(
                s,
                _actor(),
                event.id,
                expected_version=event.version,
                reason=st.session_state.get(f"reason_{item_tok}", ""),
            )
        common.flash("Event deleted.")
    except ServiceError as exc:
        common.flash(str(exc), "error")


def _when(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, rest = divmod(max(0.0, seconds), 60.0)
    return f"{int(minutes)}:{rest:06.3f}"


def event_list(coding: events.EventCoding, item_tok: str, disabled: bool) -> None:
    """The rater's events by onset, a warning for running states, and the editor of one event."""
    labels = _labels(coding.groups)
    st.markdown(f"**Your events** ({len(coding.events)})")
    if not coding.events:
        st.caption("No events yet. Click the player, then press a code's key (or click the code) while the film plays.")
        return
    st.dataframe(
        [
            {
                "Onset": _when(e.onset),
                "Code": labels.get(e.code, e.code),
                "Offset": "running" if e.is_open else _when(e.offset),
                "Length (s)": "" if e.duration is None else f"{e.duration:.3f}",
                "Modifiers": ", ".join(e.modifiers),
            }
            for e in coding.events
        ],
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * len(coding.events), 250),
    )
    if coding.open_states:
        running = ", ".join(f"{labels.get(e.code, e.code)} from {_when(e.onset)}" for e in coding.open_states)
        st.warning(f"Still running: {running}. Stop each (press its key again) before marking the item done.")
    by_tok = {_event_tok(e.id): e for e in coding.events}
    with st.expander("Change or delete an event"):
        _pick_and_edit(coding, item_tok, by_tok, labels, disabled)


def _pick_and_edit(
    coding: events.EventCoding,
    item_tok: str,
    by_tok: dict[str, events.EventView],
    labels: dict[str, str],
    disabled: bool,
) -> None:
    etok = st.selectbox(
        "Event to change",
        list(by_tok),
        format_func=lambda k: (
            f"{_when(by_tok[k].onset)} · {labels.get(by_tok[k].code, by_tok[k].code)}"
            + (" (running)" if by_tok[k].is_open else "")
        ),
        key=f"evpick_{item_tok}",
    )
    if etok is None:
        return
    _editor(coding, item_tok, by_tok[etok], etok, disabled)


def _editor(coding: events.EventCoding, item_tok: str, event: events.EventView, etok: str, disabled: bool) -> None:
    group = next(g for g in coding.groups if g.key == event.group)
    code = group.code(event.code)
    # Seed the fields when this event (or its version) is first shown, not on every rerun, so a
    # key press elsewhere does not wipe what the rater is typing.
    if st.session_state.get(f"evseed_{etok}") != event.version:
        st.session_state[f"evcode_{etok}"] = event.code
        st.session_state[f"evon_{etok}"] = event.onset
        st.session_state[f"evoff_{etok}"] = event.offset
        st.session_state[f"evmod_{etok}"] = list(event.modifiers)
        st.session_state[f"evseed_{etok}"] = event.version
    with st.form(f"evform_{etok}", border=True):
        code_col, onset_col, offset_col = st.columns([3, 2, 2])
        code_col.selectbox(
            f"Code ({group.label})",
            [c.name for c in group.codes],
            format_func=lambda name: group.code(name).label,
            key=f"evcode_{etok}",
        )
        onset_col.number_input("Onset (s)", min_value=0.0, step=0.04, format="%.3f", key=f"evon_{etok}")
        if event.kind == "state":
            offset_col.number_input(
                "Offset (s)", min_value=0.0, step=0.04, format="%.3f", key=f"evoff_{etok}", help="Empty while running."
            )
        if code.modifiers:
            st.multiselect("Modifiers", list(code.modifiers), key=f"evmod_{etok}")
        st.form_submit_button("Save event", on_click=_save, args=(item_tok, event, etok), disabled=disabled)
    go, remove = st.columns(2)
    go.button("Go to its onset", key=f"evgo_{etok}", on_click=_go_to, args=(item_tok, event.onset), width="stretch")
    remove.button(
        "Delete event",
        key=f"evdel_{etok}",
        on_click=_delete,
        args=(item_tok, event),
        disabled=disabled,
        width="stretch",
    )
