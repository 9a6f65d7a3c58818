"""Clinician pages: find moments in a family's intervention films, mark and tag clips, plan a
feedback session and export its offline package."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from annotate.services import clips
from annotate.services.errors import ServiceError
from annotate.ui import common, job_files
from annotate.ui.player import segment_player


def _actor():
    return st.session_state["actor"]


def _fmt(t: float) -> str:
    return f"{int(t // 60):02d}:{t % 60:05.2f}"


def _activity_chart(code: str) -> None:
    curve = common.call(clips.film_activity, _actor(), code)
    if curve is None:
        return

    def unit(values) -> pd.Series:
        v = pd.Series(values, dtype=float)
        return (v - v.min()) / max(v.max() - v.min(), 1e-9)

    # Each signal on its own 0..1 scale: motion (grey levels) and loudness (dBFS) share no unit.
    df = pd.DataFrame({"time": curve.times, "motion": unit(curve.motion)})
    if curve.loudness is not None:
        df["loudness"] = unit(curve.loudness)
    signals: list[Any] = [c for c in df.columns if c != "time"]
    # Vega supports "nearest" on point marks only (on a line it warns and never fires), so the
    # click goes to a layer of (invisible, wide) points on the motion curve.
    pick = alt.selection_point(fields=["time"], on="click", nearest=True, name="jump")
    long = alt.Chart(df).transform_fold(signals, as_=["signal", "level"])
    colours = alt.Scale(domain=["motion", "loudness"], range=["#1f77b4", "#d95f02"])
    lines = long.mark_line(strokeWidth=2).encode(
        x=alt.X("time:Q", title="seconds"),
        y=alt.Y("level:Q", title=None, axis=alt.Axis(labels=False, ticks=False, grid=False)),
        color=alt.Color("signal:N", scale=colours, legend=alt.Legend(orient="top", title=None)),
    )
    targets = (
        alt.Chart(df)
        .mark_point(size=160, opacity=0.01, filled=True)
        .encode(x="time:Q", y=alt.Y("motion:Q", axis=None), tooltip=[alt.Tooltip("time:Q", format=".1f")])
        .add_params(pick)
    )
    chart = alt.layer(lines, targets)
    # A callback, not the return value: it runs before the page is drawn, so the player (drawn
    # above the curve) already gets the new time in this run.
    st.altair_chart(
        chart, on_select=functools.partial(_jump, code), key=f"activity_{code}", width="stretch", height=260
    )
    st.caption("Motion (frame differences) and loudness over the film. Click the curve to jump there.")


def _jump(code: str) -> None:
    state: Any = st.session_state.get(f"activity_{code}") or {}
    points = state.get("selection", {}).get("jump") or []
    if points and "time" in points[0]:
        t = float(points[0]["time"])
        if st.session_state.get("jump_to") != (code, t):
            st.session_state["jump_to"] = (code, t)
            st.session_state["jump_id"] = st.session_state.get("jump_id", 0) + 1


def _set_mark(which: str, state, fps: float) -> None:
    if state is None:
        common.flash("Play or pause the film first, so the player can tell where you are.", "warning")
        return
    st.session_state[f"clip_{which}"] = round(round(state.current_time * fps) / fps, 3)


def _tag_label(vocab: Any, group: str) -> Callable[[str | None], str]:
    def label(name: str | None) -> str:
        return "—" if name is None else str(vocab.label_of(group, name))

    return label


def _tag_widgets(vocab) -> dict[str, list[str]]:
    chosen: dict[str, list[str]] = {}
    for group in vocab.groups:
        names = [t.name for t in group.tags]
        label = group.label + (" *" if group.required else "")
        if group.multiple:
            several = st.pills(
                label,
                names,
                selection_mode="multi",
                format_func=_tag_label(vocab, group.name),
                key=f"tags_{group.name}",
                width="stretch",
                wrap=True,
            )
            chosen[group.name] = list(several or [])
        else:
            options: list[str | None] = [None, *names]
            one = st.selectbox(label, options, key=f"tags_{group.name}", format_func=_tag_label(vocab, group.name))
            chosen[group.name] = [one] if one else []
    return chosen


def caseload_page() -> None:
    st.title("My families")
    common.show_flashes()
    films = common.call(clips.caseload_films, _actor(), common.settings())
    if films is None:
        return
    if not films:
        st.info("No intervention films of your families yet.")
        return
    labels = {f.blind_code: f"Family {f.family} · session {f.session_no or '?'} · film {f.blind_code}" for f in films}
    code = st.selectbox("Film", list(labels), format_func=labels.__getitem__)
    film = next(f for f in films if f.blind_code == code)
    st.session_state["clin_family"] = (film.family, film.study_key)
    fps = film.fps or 25.0
    tab_mark, tab_session = st.tabs(["Mark clips", "Plan and export a session"], key="clin_tabs")
    with tab_mark:
        _mark_clips(film, fps)
    with tab_session:
        _plan_session(film.family, film.study_key)


def _mark_clips(film, fps: float) -> None:
    code = film.blind_code
    jump = st.session_state.get("jump_to")
    left, right = st.columns([5, 4], gap="large")
    with left:
        state = segment_player(
            src=film.media_url,
            start_s=0.0,
            end_s=film.duration_s or 0.0,
            fps=fps,
            key=f"clin_player_{code}",
            label=f"Family {film.family} · film {code}",
            seek_s=jump[1] if jump and jump[0] == code else None,
            seek_id=st.session_state.get("jump_id"),
        )
        thumbs = common.call(clips.film_thumbnails, _actor(), code) or []
        if thumbs:
            st.image(
                thumbs,
                width=70,
                alt=[
                    f"Film {code}, still {i} of {len(thumbs)} (evenly spaced through the film)"
                    for i in range(1, len(thumbs) + 1)
                ],
            )
        _activity_chart(code)
    with right:
        vocab = clips.vocabulary(common.settings())
        st.markdown("**New clip**")
        c1, c2 = st.columns(2)
        c1.button("Mark in", on_click=_set_mark, args=("in", state, fps), width="stretch")
        c2.button("Mark out", on_click=_set_mark, args=("out", state, fps), width="stretch")
        step = round(1 / fps, 4)
        in_s = c1.number_input("In (s)", min_value=0.0, step=step, format="%.3f", key="clip_in")
        out_s = c2.number_input("Out (s)", min_value=0.0, step=step, format="%.3f", key="clip_out")
        length = out_s - in_s
        limits = vocab.clip_length
        if length > 0:
            msg = f"Length {length:.2f} s ({_fmt(in_s)} – {_fmt(out_s)}); ± steps move one frame."
            if length < limits.min_seconds or length > limits.max_seconds:
                st.warning(msg + f" Feedback clips are usually {limits.min_seconds:g}–{limits.max_seconds:g} s.")
            else:
                st.caption(msg)
        _tag_widgets(vocab)
        st.text_input("Caption (the words 'speaking for the child', shown under the clip)", key="clip_caption")
        st.text_area("Notes: what to say and ask", key="clip_note", height=80)
        editing = st.session_state.get("clip_edit")
        st.button(
            "Save changes" if editing else "Save clip",
            type="primary",
            width="stretch",
            disabled=length <= 0,
            on_click=_save_clip,
            args=(code,),
        )
        if editing:
            st.button("Cancel editing", on_click=_reset_clip_form, width="stretch")
        _film_clips(code)
        if length > 0:
            with st.expander("Preview the clip"):
                segment_player(
                    src=film.media_url, start_s=in_s, end_s=out_s, fps=fps, key=f"clin_preview_{code}", label="Preview"
                )


def _reset_clip_form() -> None:
    """A fresh form: nothing of the last clip (times, tags, caption, notes) carries over.

    Values are set, not deleted: a deleted key lets the browser keep showing what it had.
    """
    state = st.session_state
    state.update(clip_in=0.0, clip_out=0.0, clip_caption="", clip_note="", clip_edit=None)
    for key in [k for k in state if str(k).startswith("tags_")]:
        state[key] = [] if isinstance(state[key], list) else None


def _chosen_tags(vocab) -> dict[str, list[str]]:
    chosen: dict[str, list[str]] = {}
    for group in vocab.groups:
        value = st.session_state.get(f"tags_{group.name}")
        chosen[group.name] = list(value or []) if group.multiple else ([value] if value else [])
    return chosen


def _save_clip(code: str) -> None:
    state = st.session_state
    try:
        with common.db() as s:
            made = clips.save_clip(
                s,
                _actor(),
                common.settings(),
                code,
                float(state.get("clip_in") or 0.0),
                float(state.get("clip_out") or 0.0),
                tags=_chosen_tags(clips.vocabulary(common.settings())),
                caption=state.get("clip_caption", ""),
                note=state.get("clip_note", ""),
                clip_id=state.get("clip_edit"),
            )
    except ServiceError as exc:
        common.flash(str(exc), "error")  # the form keeps what was typed
        return
    verb = "changed" if state.get("clip_edit") else "saved"
    common.flash(f"Clip {verb} ({_fmt(made.in_s)} – {_fmt(made.out_s)}).")
    _reset_clip_form()


def _edit_clip(c: clips.ClipInfo) -> None:
    _reset_clip_form()
    vocab = clips.vocabulary(common.settings())
    st.session_state.update(
        clip_in=c.in_s, clip_out=c.out_s, clip_caption=c.caption, clip_note=c.note, clip_edit=c.clip_id
    )
    for group in vocab.groups:
        names = c.tags.get(group.name, [])
        st.session_state[f"tags_{group.name}"] = list(names) if group.multiple else (names[0] if names else None)


def _film_clips(code: str) -> None:
    """The clips already marked on this film, to edit or delete."""
    film = st.session_state.get("clin_family")
    items = (
        [
            c
            for c in (common.call(clips.family_clips, _actor(), common.settings(), film[0], study_key=film[1]) or [])
            if c.film == code
        ]
        if film
        else []
    )
    if not items:
        return
    st.markdown(f"**Clips on this film ({len(items)})**")
    for c in items:
        row = st.columns([5, 1, 1], vertical_alignment="center")
        text = f"{_fmt(c.in_s)} – {_fmt(c.out_s)} · {', '.join(c.tag_labels) or 'no tags'}"
        row[0].markdown(text + (f"  \n_{common.plain(c.caption)}_" if c.caption else ""))
        row[1].button("Edit", key=f"edit_clip_{c.clip_id}", on_click=_edit_clip, args=(c,))
        row[2].button("Delete", key=f"del_film_clip_{c.clip_id}", on_click=_delete, args=(c.clip_id,))


def _plan_session(family: str, study_key: str) -> None:
    items = common.call(clips.family_clips, _actor(), common.settings(), family, study_key=study_key) or []
    if not items:
        st.info(f"No clips of family {family} yet: mark some on the first tab.")
        return
    session_no = st.number_input("Session number", min_value=1, step=1, value=1, key="plan_session_no")
    plan = common.call(clips.session_plan, _actor(), common.settings(), family, int(session_no), study_key=study_key)
    by_id = {c.clip_id: c for c in items}

    def label(cid: int) -> str:
        c = by_id[cid]
        return f"{c.film} {_fmt(c.in_s)}–{_fmt(c.out_s)} · {', '.join(c.tag_labels) or 'no tags'}"

    # The session's clips, kept in session state so ↑/↓ can reorder them; fresh per family and session.
    if st.session_state.get("plan_for") != (family, int(session_no)):
        st.session_state["plan_for"] = (family, int(session_no))
        st.session_state["plan_clips"] = [c.clip_id for c in plan.clips] if plan else []
    st.session_state["plan_clips"] = [cid for cid in st.session_state["plan_clips"] if cid in by_id]
    st.multiselect("Clips in this session", list(by_id), format_func=label, key="plan_clips")
    chosen = list(st.session_state["plan_clips"])
    if chosen:
        st.caption("Order in which they will be shown:")
    for k, cid in enumerate(chosen):
        row = st.columns([8, 1, 1], vertical_alignment="center")
        row[0].markdown(f"{k + 1}. {label(cid)}")
        row[1].button("↑", key=f"up_{cid}", on_click=_move, args=(k, -1), disabled=k == 0, help="Show earlier")
        row[2].button(
            "↓", key=f"down_{cid}", on_click=_move, args=(k, 1), disabled=k == len(chosen) - 1, help="Show later"
        )
    opening = st.text_area("Opening note", value=plan.opening_note if plan else "", height=70)
    closing = st.text_area("Closing note", value=plan.closing_note if plan else "", height=70)
    if st.button("Save session plan"):
        n = common.call(
            clips.plan_session,
            _actor(),
            family,
            int(session_no),
            chosen,
            opening_note=opening,
            closing_note=closing,
            study_key=study_key,
        )
        if n is not None:
            common.flash(f"Session {int(session_no)} saved with {n} clip(s).")
            st.rerun()
    burn = st.checkbox("Burn captions into the video (they are always included as subtitles too)")

    if st.button("Prepare session package (zip)", type="primary", disabled=not (plan and plan.clips)):
        job = common.call(
            clips.enqueue_session_package,
            _actor(),
            common.settings(),
            family,
            int(session_no),
            burn_captions=burn,
            study_key=study_key,
        )
        if job is not None:
            st.success("The package is being made (you may leave this page); it appears below when ready.")
    st.caption(
        "The zip holds each clip (MP4), subtitles, an offline playlist (index.html) and a printable session script. "
        "Unzip it on the laptop you take to the family; it plays without internet."
    )
    job_files.my_files_panel("clip_package")
    with st.expander(f"All clips of family {family} ({len(items)})"):
        for c in items:
            row = st.columns([6, 1], vertical_alignment="center")
            warn = f" — ⚠ {c.length_warning}" if c.length_warning else ""
            row[0].markdown(f"{label(c.clip_id)}{warn}" + (f"  \n_{common.plain(c.caption)}_" if c.caption else ""))
            row[1].button("Delete", key=f"del_clip_{c.clip_id}", on_click=_delete, args=(c.clip_id,))


def _delete(clip_id: int) -> None:
    try:
        with common.db() as s:
            clips.delete_clip(s, _actor(), clip_id)
    except ServiceError as exc:
        common.flash(str(exc), "error")


def _move(k: int, step: int) -> None:
    order = list(st.session_state.get("plan_clips", []))
    j = k + step
    if 0 <= j < len(order):
        order[k], order[j] = order[j], order[k]
        st.session_state["plan_clips"] = order
