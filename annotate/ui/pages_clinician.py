"""Clinician pages: find moments in a family's intervention films, mark and tag clips, plan a
feedback session and export its offline package."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from annotate.services import clinician, clips
from annotate.services.errors import ServiceError
from annotate.ui import common
from annotate.ui.player import segment_player


def _actor():
    return st.session_state["actor"]


def _fmt(t: float) -> str:
    return f"{int(t // 60):02d}:{t % 60:05.2f}"


def _activity_chart(code: str) -> None:
    curve = common.call(clips.film_activity, _actor(), code)
    if curve is None:
        return
    def unit(values) -> pd.Series:  # noqa: ANN001
        v = pd.Series(values, dtype=float)
        return (v - v.min()) / max(v.max() - v.min(), 1e-9)

    # Each signal on its own 0..1 scale: motion (grey levels) and loudness (dBFS) share no unit.
    df = pd.DataFrame({"time": curve.times, "motion": unit(curve.motion)})
    if curve.loudness is not None:
        df["loudness"] = unit(curve.loudness)
    signals = [c for c in df.columns if c != "time"]
    pick = alt.selection_point(fields=["time"], on="click", nearest=True, name="jump")
    chart = (
        alt.Chart(df).transform_fold(signals, as_=["signal", "level"]).mark_line(point=alt.OverlayMarkDef(size=14)).encode(
            x=alt.X("time:Q", title="seconds"),
            y=alt.Y("level:Q", title=None, axis=alt.Axis(labels=False, ticks=False, grid=False)),
            color=alt.Color("signal:N", legend=alt.Legend(orient="top", title=None)),
        ).add_params(pick)
    )
    event = st.altair_chart(chart, on_select="rerun", key=f"activity_{code}", width="stretch", height=220)
    points = (event or {}).get("selection", {}).get("jump") or []
    if points and "time" in points[0]:
        t = float(points[0]["time"])
        if st.session_state.get("jump_to") != (code, t):
            st.session_state["jump_to"] = (code, t)
            st.session_state["jump_id"] = st.session_state.get("jump_id", 0) + 1
    st.caption("Motion (frame differences) and loudness over the film. Click the curve to jump there.")


def _set_mark(which: str, state, fps: float) -> None:  # noqa: ANN001
    if state is None:
        common.flash("Play or pause the film first, so the player can tell where you are.", "warning")
        return
    st.session_state[f"clip_{which}"] = round(round(state.current_time * fps) / fps, 3)


def _tag_widgets(vocab) -> dict[str, list[str]]:  # noqa: ANN001
    chosen: dict[str, list[str]] = {}
    for group in vocab.groups:
        names = [t.name for t in group.tags]
        label = group.label + (" *" if group.required else "")
        if group.multiple:
            picked = st.pills(label, names, selection_mode="multi", format_func=lambda n, g=group: vocab.label_of(g.name, n),
                              key=f"tags_{group.name}", width="stretch", wrap=True)
            chosen[group.name] = list(picked or [])
        else:
            picked = st.selectbox(label, [None, *names], key=f"tags_{group.name}",
                                  format_func=lambda n, g=group: "—" if n is None else vocab.label_of(g.name, n))
            chosen[group.name] = [picked] if picked else []
    return chosen


def caseload_page() -> None:
    st.title("My families")
    common.show_flashes()
    films = common.call(clinician.caseload_films, _actor(), common.settings())
    if films is None:
        return
    if not films:
        st.info("No intervention films of your families yet.")
        return
    labels = {f.blind_code: f"Family {f.family} · session {f.session_no or '?'} · film {f.blind_code}" for f in films}
    code = st.selectbox("Film", list(labels), format_func=labels.get)
    film = next(f for f in films if f.blind_code == code)
    fps = film.fps or 25.0
    tab_mark, tab_session = st.tabs(["Mark clips", "Plan and export a session"], key="clin_tabs")
    with tab_mark:
        _mark_clips(film, fps)
    with tab_session:
        _plan_session(film.family)


def _mark_clips(film, fps: float) -> None:  # noqa: ANN001
    code = film.blind_code
    jump = st.session_state.get("jump_to")
    left, right = st.columns([5, 4], gap="large")
    with left:
        state = segment_player(
            src=film.media_url, start_s=0.0, end_s=film.duration_s or 0.0, fps=fps, key=f"clin_player_{code}",
            label=f"Family {film.family} · film {code}",
            seek_s=jump[1] if jump and jump[0] == code else None, seek_id=st.session_state.get("jump_id"),
        )
        thumbs = common.call(clips.film_thumbnails, _actor(), code) or []
        if thumbs:
            st.image([str(p) for p in thumbs], width=70)
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
        tags = _tag_widgets(vocab)
        caption = st.text_input("Caption (the words 'speaking for the child', shown under the clip)", key="clip_caption")
        note = st.text_area("Notes: what to say and ask", key="clip_note", height=80)
        if st.button("Save clip", type="primary", width="stretch", disabled=length <= 0):
            made = common.call(clips.save_clip, _actor(), common.settings(), code, in_s, out_s, tags=tags,
                               caption=caption, note=note)
            if made:
                common.flash(f"Clip saved ({_fmt(made.in_s)} – {_fmt(made.out_s)}).")
                st.rerun()
        if length > 0:
            with st.expander("Preview the clip"):
                segment_player(src=film.media_url, start_s=in_s, end_s=out_s, fps=fps, key=f"clin_preview_{code}",
                               label="Preview")


def _plan_session(family: str) -> None:
    items = common.call(clips.family_clips, _actor(), common.settings(), family) or []
    if not items:
        st.info(f"No clips of family {family} yet: mark some on the first tab.")
        return
    session_no = st.number_input("Session number", min_value=1, step=1, value=1, key="plan_session_no")
    plan = common.call(clips.session_plan, _actor(), common.settings(), family, int(session_no))
    by_id = {c.clip_id: c for c in items}

    def label(cid: int) -> str:
        c = by_id[cid]
        return f"{c.film} {_fmt(c.in_s)}–{_fmt(c.out_s)} · {', '.join(c.tag_labels) or 'no tags'}"

    chosen = st.multiselect("Clips in this session, in the order they will be shown", list(by_id),
                            default=[c.clip_id for c in plan.clips] if plan else [], format_func=label)
    opening = st.text_area("Opening note", value=plan.opening_note if plan else "", height=70)
    closing = st.text_area("Closing note", value=plan.closing_note if plan else "", height=70)
    if st.button("Save session plan"):
        n = common.call(clips.plan_session, _actor(), family, int(session_no), chosen,
                        opening_note=opening, closing_note=closing)
        if n is not None:
            common.flash(f"Session {int(session_no)} saved with {n} clip(s).")
            st.rerun()
    burn = st.checkbox("Burn captions into the video (they are always included as subtitles too)")

    def package(session, actor, settings, number: int) -> bytes:  # noqa: ANN001
        return clips.export_session(session, actor, settings, family, number, burn_captions=burn).read_bytes()

    st.download_button("Export session package (zip)", data=common.deferred(package, common.settings(), int(session_no)), file_name=f"family-{family}-session-{int(session_no)}.zip",
                       mime="application/zip", type="primary", disabled=not (plan and plan.clips))
    st.caption("The zip holds each clip (MP4), subtitles, an offline playlist (index.html) and a printable session script. "
               "Unzip it on the laptop you take to the family; it plays without internet.")
    with st.expander(f"All clips of family {family} ({len(items)})"):
        for c in items:
            row = st.columns([6, 1], vertical_alignment="center")
            warn = f" — ⚠ {c.length_warning}" if c.length_warning else ""
            row[0].markdown(f"{label(c.clip_id)}{warn}" + (f"  \n_{c.caption}_" if c.caption else ""))
            row[1].button("Delete", key=f"del_clip_{c.clip_id}", on_click=_delete, args=(c.clip_id,))


def _delete(clip_id: int) -> None:
    try:
        with common.db() as s:
            clips.delete_clip(s, _actor(), clip_id)
    except ServiceError as exc:
        common.flash(str(exc), "error")
