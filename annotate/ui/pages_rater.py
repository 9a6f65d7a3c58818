"""The rater's page: own queue, the segment player, scores saved on every change."""

from __future__ import annotations

import streamlit as st

from annotate.services import rating
from annotate.services.errors import ServiceError
from annotate.ui import common
from annotate.ui.player import segment_player


def _actor():
    return st.session_state["actor"]


def _select(aid: int) -> None:
    st.session_state["rate_aid"] = aid


def _save_score(aid: int, dim: str) -> None:
    value = st.session_state.get(f"score_{aid}_{dim}")
    try:
        with common.db() as s:
            rating.save_rating(
                s, _actor(), aid, dim, value,
                expected_version=st.session_state.get(f"ver_{aid}_{dim}", 0),
                reason=st.session_state.get(f"reason_{aid}", ""),
            )
        st.session_state["saved_note"] = "Saved"
    except ServiceError as exc:
        common.flash(str(exc), "error")


def _save_note(aid: int) -> None:
    try:
        with common.db() as s:
            rating.save_note(
                s, _actor(), aid, st.session_state.get(f"note_{aid}", ""),
                expected_version=st.session_state.get(f"notever_{aid}", 0),
                reason=st.session_state.get(f"reason_{aid}", ""),
            )
        st.session_state["saved_note"] = "Note saved"
    except ServiceError as exc:
        common.flash(str(exc), "error")


def _mark_done(aid: int, next_aid: int | None) -> None:
    try:
        with common.db() as s:
            rating.mark_done(s, _actor(), aid)
        common.flash("Segment marked done.")
        if next_aid is not None:
            st.session_state["rate_aid"] = next_aid
    except ServiceError as exc:
        common.flash(str(exc), "error")


def _item_label(item: rating.QueueItem) -> str:
    mark = {"done": "✓", "in_progress": "◐"}.get(item.status, "○")
    return (
        f"{mark} {item.position}. Film {item.blind_code} · segment {item.segment_index}/{item.n_segments} "
        f"({common.fmt_time(item.start_s)}–{common.fmt_time(item.end_s)})"
    )


def rate_page() -> None:
    actor = _actor()
    common.show_flashes()
    queue = common.call(rating.rater_queue, actor)
    if queue is None:
        return
    st.title("Rate")
    if not queue.items:
        st.info("Your queue is empty. A researcher assigns segments to you; come back later.")
        return
    st.progress(queue.done / queue.total, text=f"{queue.done} of {queue.total} segments done")

    ids = [i.assignment_id for i in queue.items]
    if st.session_state.get("rate_aid") not in ids:
        nxt = queue.next_open() or queue.items[0]
        st.session_state["rate_aid"] = nxt.assignment_id
    aid = st.session_state["rate_aid"]
    pos = ids.index(aid)

    nav = st.columns([1, 6, 1], vertical_alignment="bottom")
    nav[0].button("← Previous", disabled=pos == 0, on_click=_select, args=(ids[max(pos - 1, 0)],), width="stretch")
    by_id = {i.assignment_id: i for i in queue.items}
    st.session_state["queue_pick"] = aid
    nav[1].selectbox(
        "Segment", ids, format_func=lambda a: _item_label(by_id[a]), key="queue_pick",
        on_change=lambda: _select(st.session_state["queue_pick"]), label_visibility="collapsed",
    )
    nav[2].button("Next →", disabled=pos == len(ids) - 1, on_click=_select, args=(ids[min(pos + 1, len(ids) - 1)],), width="stretch")

    item = common.call(rating.open_item, actor, common.settings(), aid)
    if item is None:
        return
    left, right = st.columns([5, 4], gap="large")
    with left:
        segment_player(
            src=item.media_url, start_s=item.start_s, end_s=item.end_s, fps=item.fps,
            key=f"player_{aid}",
            label=f"Film {item.blind_code} · segment {item.segment_index} of {item.n_segments}",
        )
    with right:
        _scoring_panel(item, queue)


def _scoring_panel(item: rating.RatingItem, queue: rating.RaterQueue) -> None:
    aid = item.assignment_id
    done = item.status == "done"
    st.markdown(f"**{item.scheme.title}**")
    if not item.editable:
        st.warning("This study is locked: scores can no longer be changed.")
    reason_ok = True
    if done and item.editable:
        st.info("This segment is marked done. To change a score or the note, first say why (kept in the history).")
        reason = st.text_input("Reason for the change", key=f"reason_{aid}")
        reason_ok = bool(reason.strip())
    disabled = not item.editable or not reason_ok
    for dim in item.scheme.dimensions:
        key = f"score_{aid}_{dim.name}"
        st.session_state[key] = item.values[dim.name]
        st.session_state[f"ver_{aid}_{dim.name}"] = item.versions[dim.name]
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
        anchors = sorted(dim.anchors, key=lambda a: -a.value)
        st.markdown(
            "\n".join(f"- **{a.value:g} · {a.label}** — {a.description}" for a in anchors),
        )
    st.session_state[f"note_{aid}"] = item.note
    st.session_state[f"notever_{aid}"] = item.note_version
    st.text_area("Note (optional)", key=f"note_{aid}", on_change=_save_note, args=(aid,), disabled=disabled, height=80)
    status = st.session_state.pop("saved_note", None)
    if status:
        st.caption(f"✓ {status}")
    following = [i for i in queue.items if i.status != "done" and i.assignment_id != aid]
    next_aid = following[0].assignment_id if following else None
    if not done:
        st.button(
            "Mark segment done", type="primary", on_click=_mark_done, args=(aid, next_aid),
            disabled=not item.editable, width="stretch",
        )
    else:
        st.success("Done ✓")
