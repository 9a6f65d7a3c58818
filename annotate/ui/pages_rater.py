"""The rater's page: own queue, the segment player, scores saved on every change."""

from __future__ import annotations

import streamlit as st

from annotate.services import blinding, consensus, rating
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
    _blinding_panel(aid)
    following = [i for i in queue.items if i.status != "done" and i.assignment_id != aid]
    next_aid = following[0].assignment_id if following else None
    if not done:
        st.button(
            "Mark segment done", type="primary", on_click=_mark_done, args=(aid, next_aid),
            disabled=not item.editable, width="stretch",
        )
    else:
        st.success("Done ✓")


def _report(aid: int) -> None:
    try:
        with common.db() as s:
            blinding.report_unblinding(s, _actor(), aid, st.session_state.get(f"unblind_{aid}", ""))
        common.flash("Thank you: your report was sent to the study team.")
    except ServiceError as exc:
        common.flash(str(exc), "error")


def _guess(aid: int, guess: str) -> None:
    try:
        with common.db() as s:
            blinding.record_guess(s, _actor(), aid, guess)
        common.flash("Your guess was recorded.")
    except ServiceError as exc:
        common.flash(str(exc), "error")


def _blinding_panel(aid: int) -> None:
    wanted = common.call(blinding.guess_wanted, _actor(), aid)
    if wanted:
        st.info("You have finished this film. Which group do you think this family is in?")
        cols = st.columns(3)
        for col, (label, guess) in zip(cols, [("Intervention", "treatment"), ("Control", "control"), ("Don't know", "dont_know")]):
            col.button(label, key=f"guess_{aid}_{guess}", on_click=_guess, args=(aid, guess), width="stretch")
    with st.expander("I may have been unblinded"):
        st.caption("Something in the film may have told you the family's group or the time point "
                   "(the child's age, a remark about sessions…). Say what; the study team sees this.")
        st.text_input("What happened", key=f"unblind_{aid}")
        st.button("Send report", key=f"unblind_send_{aid}", on_click=_report, args=(aid,))


def _resolve(task_id: int) -> None:
    try:
        with common.db() as s:
            consensus.resolve(
                s, _actor(), task_id, st.session_state.get(f"cons_value_{task_id}"),
                st.session_state.get(f"cons_reason_{task_id}", ""),
            )
        common.flash("Consensus recorded.")
    except ServiceError as exc:
        common.flash(str(exc), "error")


def consensus_page() -> None:
    st.title("Consensus")
    common.show_flashes()
    tasks = common.call(consensus.consensus_queue, _actor(), common.settings())
    if tasks is None:
        return
    open_tasks = [t for t in tasks if t.status == "open"]
    st.caption(
        "Double-coded segments where the two scores differ by more than the study allows. "
        "Watch the segment again, agree a score and say how you reached it. The original scores stay as they were."
    )
    if not open_tasks:
        st.info("No open consensus tasks.")
    labels = {t.task_id: f"Film {t.blind_code} · segment {t.segment_index} · {t.dimension_label}" for t in open_tasks}
    if open_tasks:
        tid = st.selectbox("Task", list(labels), format_func=labels.get, key="cons_pick")
        task = next(t for t in open_tasks if t.task_id == tid)
        left, right = st.columns([5, 4], gap="large")
        with left:
            segment_player(src=task.media_url, start_s=task.start_s, end_s=task.end_s, fps=task.fps,
                           key=f"cons_player_{tid}", label=labels[tid])
        with right:
            st.markdown(f"**{task.dimension_label}**")
            for score in task.scores:
                note = f" — _{score.note}_" if score.note else ""
                st.markdown(f"- {score.rater}: **{score.value:g}**{note}")
            st.segmented_control("Consensus score", task.allowed_values, format_func=lambda v: f"{v:g}",
                                 key=f"cons_value_{tid}", width="stretch")
            st.text_area("How was it reached?", key=f"cons_reason_{tid}", height=80)
            st.button("Record consensus", type="primary", on_click=_resolve, args=(tid,), width="stretch")
    done = [t for t in tasks if t.status == "resolved"]
    if done:
        with st.expander(f"Resolved ({len(done)})"):
            for t in done:
                st.markdown(f"- Film {t.blind_code} · segment {t.segment_index} · {t.dimension_label}: **{t.value:g}** — {t.reason}")
