"""The rater's page: own queue, the segment player, scores saved on every change.

Blinding: nothing the browser receives names an item by a database id. Widget keys, component
keys and options use a random token per item, drawn for this browser session and kept in its
(server-side) session state, so keys are neither sequential nor comparable between raters; the
assignment id stays on the server (callback arguments). Labels carry no "segment 2 of 2".
"""

from __future__ import annotations

import functools
import secrets

import streamlit as st

from annotate.services import events, rating
from annotate.services.errors import ServiceError
from annotate.ui import common, event_coding
from annotate.ui.note_box import note_box
from annotate.ui.player import segment_player


def _actor():
    return st.session_state["actor"]


def _tok(kind: str, internal_id: int) -> str:
    """The opaque token that stands for ``internal_id`` (an assignment or consensus task) in keys.

    Random (``secrets``), drawn once per browser session and item, so two raters' pages share no
    key and a key says nothing about when the item was created.
    """
    tokens: dict[tuple[str, int], str] = st.session_state.setdefault("_blind_tokens", {})
    if (kind, internal_id) not in tokens:
        tokens[(kind, internal_id)] = secrets.token_hex(8)
    return tokens[(kind, internal_id)]


def _select(aid: int) -> None:
    st.session_state["rate_aid"] = aid


def _save_score(aid: int, dim: str) -> None:
    t = _tok("item", aid)
    value = st.session_state.get(f"score_{t}_{dim}")
    try:
        with common.db() as s:
            rating.save_rating(
                s,
                _actor(),
                aid,
                dim,
                value,
                expected_version=st.session_state.get(f"ver_{t}_{dim}", 0),
                reason=st.session_state.get(f"reason_{t}", ""),
            )
        st.session_state["saved_score"] = "Saved"
    except ServiceError as exc:
        common.flash(str(exc), "error")


def _save_note(aid: int, text: str) -> str | None:
    """Store the note typed for ``aid``; the refusal's message, or None when stored."""
    t = _tok("item", aid)
    try:
        with common.db() as s:
            version = rating.save_note(
                s,
                _actor(),
                aid,
                text,
                expected_version=st.session_state.get(f"notever_{t}", 0),
                reason=st.session_state.get(f"reason_{t}", ""),
            )
        # The next pause may be handled before this run reaches the line that reads the version.
        st.session_state[f"notever_{t}"] = version
        return None
    except ServiceError as exc:
        return str(exc)


def _mark_done(aid: int, next_aid: int | None, coded_events: bool = False) -> None:
    try:
        with common.db() as s:
            # An event-coded item is refused while a state still runs (the message names it).
            (events.mark_done if coded_events else rating.mark_done)(s, _actor(), aid)
        common.flash("Segment marked done.")
        # Nothing open left: no item is chosen, so the page says "All done" instead of reopening this one.
        st.session_state["rate_aid"] = next_aid
    except ServiceError as exc:
        common.flash(str(exc), "error")


def _item_label(item: rating.QueueItem, several_studies: bool = False) -> str:
    # No "segment 2 of 2": the count of a film's segments follows its length, which can differ by wave.
    mark = {"done": "✓", "in_progress": "◐"}.get(item.status, "○")
    study = f"{item.study_title} · " if several_studies else ""
    return f"{mark} {item.position}. {study}Film {item.blind_code} ({_span(item.start_s, item.end_s)})"


def _span(start_s: float, end_s: float) -> str:
    return f"{common.fmt_time(start_s)}–{common.fmt_time(end_s)}"


def rate_page() -> None:
    actor = _actor()
    common.show_flashes()
    # One window of the queue, not all of it: the same few statements at 80 items or 80,000.
    page = common.call(rating.rater_queue_page, actor, st.session_state.get("rate_aid"))
    if page is None:
        return
    if not page.total:
        st.title("Rate")
        st.info("Your queue is empty. A researcher assigns segments to you; come back later.")
        return
    several = len(page.studies) > 1
    st.progress(page.done / page.total, text=f"{page.done} of {page.total} segments done")
    if page.current is None:
        st.title("Rate")
        if page.all_done:
            st.success("All done — thank you. Every segment in your queue is marked done.")
        else:
            st.info("This study is closed: the segments left can no longer be rated. Thank you for your work.")
        if page.items:
            st.button("Review my segments", on_click=_select, args=(page.items[0].assignment_id,))
        return
    item_now = page.current
    aid = item_now.assignment_id
    st.session_state["rate_aid"] = aid

    nav = st.columns([1, 6, 1], vertical_alignment="bottom")
    nav[0].button(
        "← Previous",
        disabled=page.previous_id is None,
        on_click=_select,
        args=(page.previous_id,),
        width="stretch",
    )
    by_tok = {_tok("item", i.assignment_id): i for i in page.items}
    st.session_state["queue_pick"] = _tok("item", aid)
    nav[1].selectbox(
        "Segment",
        list(by_tok),
        format_func=lambda t: _item_label(by_tok[t], several),
        key="queue_pick",
        on_change=lambda: _select(by_tok[st.session_state["queue_pick"]].assignment_id),
        label_visibility="collapsed",
    )
    nav[2].button(
        "Next →",
        disabled=page.following_id is None,
        on_click=_select,
        args=(page.following_id,),
        width="stretch",
    )

    item = common.call(rating.open_item, actor, common.settings(), aid)
    if item is None:
        return
    t = _tok("item", aid)
    coding = common.call(events.event_coding, actor, aid) if item.scheme.event_groups else None
    # Equal halves: a 9-point scale keeps all its buttons on a 1280x720 screen.
    left, right = st.columns([1, 1], gap="medium")
    with left:
        player_key = f"player_{t}"
        # Coding a done item needs the reason first, as for scores; a locked study codes nothing.
        locked = not item.editable or (item.status == "done" and not st.session_state.get(f"reason_{t}", "").strip())
        seek_s, seek_id = event_coding.seek_request(t)
        segment_player(
            src=item.media_url,
            start_s=item.start_s,
            end_s=item.end_s,
            fps=item.fps,
            key=player_key,
            label=f"Film {item.blind_code} · {_span(item.start_s, item.end_s)}",
            seek_s=seek_s,
            seek_id=seek_id,
            coding=event_coding.player_coding(coding, aid, t, player_key, locked) if coding else None,
        )
    with right:
        st.markdown(f"**{item.scheme.title}**")
        if coding is not None:
            # The rater's events first: while coding, the list is what they check against the film.
            event_coding.event_list(coding, t, locked)
        _scoring_panel(item, page, coded_events=coding is not None)


def _scoring_panel(item: rating.RatingItem, page: rating.QueuePage, coded_events: bool = False) -> None:
    aid = item.assignment_id
    t = _tok("item", aid)
    done = item.status == "done"
    if not item.editable:
        st.warning("This study is locked: scores can no longer be changed.")
    reason_ok = True
    if done and item.editable:
        st.info("This segment is marked done. To change a score or the note, first say why (kept in the history).")
        reason = st.text_input("Reason for the change", key=f"reason_{t}")
        reason_ok = bool(reason.strip())
    disabled = not item.editable or not reason_ok
    for dim in item.scheme.dimensions:
        key = f"score_{t}_{dim.name}"
        st.session_state[key] = item.values[dim.name]
        st.session_state[f"ver_{t}_{dim.name}"] = item.versions[dim.name]
        st.segmented_control(
            f"{dim.label} ({dim.min:g}–{dim.max:g}, {'higher is better' if dim.direction == 'higher_better' else 'higher is worse'})",
            dim.allowed_values(),
            format_func=lambda v: f"{v:g}",
            key=key,
            on_change=_save_score,
            args=(aid, dim.name),
            disabled=disabled,
            width="stretch",
        )
        # The anchors fold away so every scale's buttons fit on a 1280x720 screen.
        anchors = sorted(dim.anchors, key=lambda a: -a.value)
        with st.expander(f"What the {dim.label.lower()} scores mean"):
            st.markdown(
                "\n".join(
                    f"- **{a.value:g} · {common.plain(a.label)}** — {common.plain(a.description)}" for a in anchors
                )
            )
    st.session_state[f"notever_{t}"] = item.note_version
    note_box(
        label="Note (optional)",
        text=item.note,
        key=f"note_{t}",
        save=functools.partial(_save_note, aid),
        disabled=disabled,
    )
    status = st.session_state.pop("saved_score", None)
    if status:
        st.caption(f"✓ {status}")
    _blinding_panel(aid)
    next_aid = page.next_open.assignment_id if page.next_open else None  # never a done or locked item
    if not done:
        st.button(
            "Mark segment done",
            type="primary",
            on_click=_mark_done,
            args=(aid, next_aid, coded_events),
            disabled=not item.editable,
            width="stretch",
        )
    else:
        st.success("Done ✓")


def _report(aid: int) -> None:
    try:
        with common.db() as s:
            rating.report_unblinding(s, _actor(), aid, st.session_state.get(f"unblind_{_tok('item', aid)}", ""))
        common.flash("Thank you: your report was sent to the study team.")
    except ServiceError as exc:
        common.flash(str(exc), "error")


def _guess(aid: int, guess: str) -> None:
    try:
        with common.db() as s:
            rating.record_guess(s, _actor(), aid, guess)
        common.flash("Your guess was recorded.")
    except ServiceError as exc:
        common.flash(str(exc), "error")


def _blinding_panel(aid: int) -> None:
    t = _tok("item", aid)
    wanted = common.call(rating.guess_wanted, _actor(), aid)
    if wanted:
        st.info("You have finished this film. Which group do you think this family is in?")
        cols = st.columns(3)
        for col, (label, guess) in zip(
            cols, [("Intervention", "treatment"), ("Control", "control"), ("Don't know", "dont_know")], strict=False
        ):
            col.button(label, key=f"guess_{t}_{guess}", on_click=_guess, args=(aid, guess), width="stretch")
    with st.expander("I may have been unblinded"):
        st.caption(
            "Something in the film may have told you the family's group or the time point "
            "(the child's age, a remark about sessions…). Say what; the study team sees this."
        )
        st.text_input("What happened", key=f"unblind_{t}")
        st.button("Send report", key=f"unblind_send_{t}", on_click=_report, args=(aid,))


def _resolve(task_id: int) -> None:
    t = _tok("task", task_id)
    value = st.session_state.get(f"cons_value_{t}")
    if value is None:
        common.flash("Choose the agreed score first.", "error")
        return
    try:
        with common.db() as s:
            rating.resolve_consensus(s, _actor(), task_id, value, st.session_state.get(f"cons_reason_{t}", ""))
        common.flash("Consensus recorded.")
    except ServiceError as exc:
        common.flash(str(exc), "error")


def consensus_page() -> None:
    st.title("Consensus")
    common.show_flashes()
    tasks = common.call(rating.consensus_queue, _actor(), common.settings())
    if tasks is None:
        return
    open_tasks = [t for t in tasks if t.status == "open"]
    st.caption(
        "Double-coded segments where the two scores differ by more than the study allows. "
        "Watch the segment again, agree a score and say how you reached it. The original scores stay as they were."
    )
    if not open_tasks:
        st.info("No open consensus tasks.")
    labels = {
        _tok("task", t.task_id): f"Film {t.blind_code} · {_span(t.start_s, t.end_s)} · {t.dimension_label}"
        for t in open_tasks
    }
    if open_tasks:
        ttok = st.selectbox("Task", list(labels), format_func=labels.__getitem__, key="cons_pick")
        task = next(t for t in open_tasks if _tok("task", t.task_id) == ttok)
        tid = task.task_id
        left, right = st.columns([5, 4], gap="large")
        with left:
            segment_player(
                src=task.media_url,
                start_s=task.start_s,
                end_s=task.end_s,
                fps=task.fps,
                key=f"cons_player_{ttok}",
                label=labels[ttok],
            )
        with right:
            st.markdown(f"**{common.plain(task.dimension_label)}**")
            for score in task.scores:
                note = f" — _{common.plain(score.note)}_" if score.note else ""
                st.markdown(f"- {common.plain(score.rater)}: **{score.value:g}**{note}")
            st.segmented_control(
                "Consensus score",
                task.allowed_values,
                format_func=lambda v: f"{v:g}",
                key=f"cons_value_{ttok}",
                width="stretch",
            )
            st.text_area("How was it reached?", key=f"cons_reason_{ttok}", height=80)
            st.button("Record consensus", type="primary", on_click=_resolve, args=(tid,), width="stretch")
    done = [t for t in tasks if t.status == "resolved"]
    if done:
        with st.expander(f"Resolved ({len(done)})"):
            for t in done:
                st.markdown(
                    f"- Film {t.blind_code} · {_span(t.start_s, t.end_s)} · {t.dimension_label}: **{t.value:g}** — {t.reason}"
                )
