"""Researcher pages: studies, films, assignments, exports. Thin: widgets -> one service -> render."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pandas as pd
import streamlit as st

from annotate.services import accounts, assignments, films, jobs, policy, studies
from annotate.services.errors import ServiceError
from annotate.ui import common

FILM_COLUMNS = {
    "blind_code": "Film code",
    "original_name": "File",
    "participant": "Participant",
    "arm": "Arm",
    "timepoint": "Time point",
    "purpose": "Purpose",
    "session_no": "Session",
    "status": "Status",
    "reason": "Why refused",
    "duration_s": "Seconds",
    "width": "Width",
    "height": "Height",
    "has_audio": "Audio",
    "n_segments": "Segments",
}


def _actor():
    return st.session_state["actor"]


def studies_page() -> None:
    st.title("Studies")
    common.show_flashes()
    infos = common.call(studies.list_studies, _actor()) or []
    if infos:
        df = pd.DataFrame([asdict(i) for i in infos])
        df["arms"] = df["arms"].map(", ".join)
        df["timepoints"] = df["timepoints"].map(", ".join)
        st.dataframe(df, hide_index=True, width="stretch")
    if policy.Operation.MANAGE_STUDY not in (common.call(studies.operations, _actor()) or ()):
        return  # the analyst reads; creating studies and importing allocation are not theirs
    with st.expander("Create a study", expanded=not infos):
        available = studies.available_schemes(common.settings())
        with st.form("create_study"):
            new_key = st.text_input("Key (short, no spaces)", placeholder="VIPP-PMH")
            title = st.text_input("Title", placeholder="VIPP-PMH feasibility trial")
            arms = st.text_input("Arms (comma-separated)", placeholder="VIPP, Usual care")
            tps = st.text_input("Time points (comma-separated, in order)", placeholder="baseline, month5, month8")
            scheme = st.selectbox(
                "Rating scheme",
                sorted(available),
                format_func=lambda k: f"{available[k][0].title} ({k} v{available[k][0].version})",
            )
            whole = st.checkbox("Rate whole films (no fixed-length segments)")
            seconds = st.number_input("Segment length (seconds)", min_value=5.0, value=300.0, step=30.0)
            if st.form_submit_button("Create study", type="primary"):
                made = common.call(
                    studies.create_study,
                    _actor(),
                    common.settings(),
                    new_key,
                    arms=arms,
                    timepoints=tps,
                    scheme_key=scheme,
                    segment_seconds=None if whole else seconds,
                    title=title or None,
                )
                if made:
                    common.flash(f"Study {made.key} created.")
                    st.rerun()
    st.subheader("Import participants and allocation")
    st.caption(
        "CSV with columns **participant**, **arm**; optional **per_protocol** (yes/no), **clinician** "
        "(username, for the clinician's caseload) and any covariate columns. All rows are checked first: "
        "if one is wrong, nothing is imported."
    )
    key = common.pick_study()
    upload = st.file_uploader("Participants CSV", type=["csv", "txt"], key="participants_csv")
    if key and upload is not None and st.button("Import participants"):
        result = common.call(studies.import_participants, _actor(), key, upload.getvalue())
        if result:
            st.success(f"{result.created} participant(s) added, {result.updated} updated.")


def _queue(key: str, items: list[films.IngestItem]) -> None:
    queued = common.call(films.enqueue_ingest, _actor(), common.settings(), key, items)
    if queued is not None:
        _queued_message(queued)


def _queued_message(queued: list[films.QueuedFilm]) -> None:
    n = sum(q.status == "queued" for q in queued)
    st.success(f"{n} film(s) queued: their progress is under Jobs (you may close this page).")
    dup = [q for q in queued if q.status != "queued"]
    if dup:
        st.warning("Some films were not added:")
        st.dataframe(pd.DataFrame([asdict(q) for q in dup]), hide_index=True, width="stretch")


@st.fragment(run_every=3)
def _jobs_panel(key: str) -> None:
    """Every job of the study, refreshed every few seconds; failed jobs with their reason and Retry."""
    rows = common.call(jobs.list_jobs, _actor(), key) or []
    if not rows:
        st.caption("No jobs yet.")
        return
    active = [r for r in rows if r.state in jobs.ACTIVE]
    failed = [r for r in rows if r.state == "failed"]
    st.caption(
        f"{sum(r.state == 'queued' for r in rows)} queued, {sum(r.state == 'running' for r in rows)} running, "
        f"{sum(r.state == 'done' for r in rows)} done, {len(failed)} failed."
    )
    for r in active:
        label = f"Job {r.id} · {r.kind} · film {r.film or '–'} · {r.state}: {r.message}"
        st.progress(min(max(r.progress, 0.0), 1.0), text=label)
    for r in failed:
        c1, c2 = st.columns([5, 1])
        c1.error(f"Job {r.id} · {r.kind} · film {r.film or '–'} failed after {r.attempts} attempt(s): {r.error}")
        if c2.button("Retry", key=f"retry_job_{r.id}"):
            retried = common.call(jobs.retry, _actor(), common.settings(), r.id)
            if retried is not None:
                st.rerun(scope="fragment")
    with st.expander("All jobs"):
        df = pd.DataFrame([asdict(r) for r in rows]).drop(columns=["study", "worker"])
        st.dataframe(df, hide_index=True, width="stretch")


def _remove_film(key: str, recs: list[films.RecordingInfo]) -> None:
    removable = [r.blind_code for r in recs if r.status == "failed"]
    if not removable:
        return
    with st.expander("Remove a refused or mistaken film record"), st.form("remove_film"):
        st.caption("Only films that no rating or clip uses; the removal and its reason go to the audit log.")
        code = st.selectbox("Film", removable)
        reason = st.text_input("Reason")
        if st.form_submit_button("Remove film") and code:
            common.call(films.remove_film, _actor(), common.settings(), code, reason)


def films_page() -> None:
    st.title("Films")
    key = common.pick_study()
    if not key:
        return
    info = common.call(studies.study_info, _actor(), key)
    st.subheader("Jobs")
    _jobs_panel(key)
    tab_status, tab_folder, tab_upload = st.tabs(["Status", "Ingest from a server folder", "Upload films"])
    with tab_status:
        recs = common.call(films.list_recordings, _actor(), key) or []
        if not recs:
            st.info("No films yet.")
        else:
            df = pd.DataFrame([asdict(r) for r in recs]).drop(columns=["proxy_file", "fps", "source_codec"])
            df["duration_s"] = df["duration_s"].round(1)
            df = df.rename(columns=FILM_COLUMNS)
            st.caption(
                f"{sum(r.status == 'ready' for r in recs)} ready, {sum(r.status == 'failed' for r in recs)} refused."
            )
            st.dataframe(df, hide_index=True, width="stretch")
            _remove_film(key, recs)
    with tab_folder:
        st.caption(
            "Films stay where they are; each is checked, copied into the media store under a random "
            "name and converted to a browser copy. Participant and time point come from a manifest "
            "CSV (columns file, participant, timepoint; optional purpose, session) or from the file names."
        )
        folder = st.text_input("Folder or file on the server", key="ingest_folder")
        how = st.radio("Participant and time point from", ["manifest CSV", "file-name pattern"], horizontal=True)
        manifest = pattern = None
        if how == "manifest CSV":
            manifest = st.file_uploader("Manifest CSV", type=["csv"], key="ingest_manifest")
        else:
            pattern = st.text_input("Pattern", value=r"(?P<participant>[A-Za-z0-9]+)_(?P<timepoint>[A-Za-z0-9]+)")
        if st.button("Ingest", type="primary", disabled=not folder):
            try:
                if manifest is not None:
                    items = films.items_from_manifest(manifest.getvalue(), Path(folder))
                else:
                    items = films.items_from_pattern(films.expand_paths([folder]), pattern or "")
            except ServiceError as exc:
                st.error(str(exc))
            else:
                _queue(key, items)
    with tab_upload:
        st.caption("For a few films at a time. Large films are better ingested from a server folder.")
        parts = common.call(studies.participant_ids, _actor(), key) or []
        # Cleared on submit: a second click cannot send the same files again (duplicate refused records).
        with st.form("upload_films", clear_on_submit=True):
            files = st.file_uploader(
                "Films", accept_multiple_files=True, type=sorted(s.lstrip(".") for s in films.VIDEO_SUFFIXES)
            )
            c1, c2, c3, c4 = st.columns(4)
            participant = c1.selectbox("Participant", parts)
            purpose = c3.selectbox("Purpose", ["assessment", "intervention"])
            timepoint = c2.selectbox("Time point", info.timepoints if info else [])
            session_no = c4.number_input("Session (intervention films)", min_value=1, step=1, value=1)
            if st.form_submit_button("Upload and ingest", type="primary") and files:
                queued = common.call(
                    films.enqueue_uploads,
                    _actor(),
                    common.settings(),
                    key,
                    [(f.name, f.getvalue()) for f in files],
                    participant,
                    timepoint,
                    purpose,
                    int(session_no) if purpose == "intervention" else None,
                )
                if queued is not None:
                    _queued_message(queued)


def assign_page() -> None:
    st.title("Assign segments to raters")
    common.show_flashes()
    key = common.pick_study()
    if not key:
        return
    segs = common.call(assignments.assignable_segments, _actor(), key) or []
    raters = common.call(accounts.list_users, _actor(), "rater") or []
    if not segs:
        st.info("No ready assessment films in this study yet.")
        return
    n_un = sum(s.n_assigned == 0 for s in segs)
    st.caption(f"{len(segs)} segments in ready assessment films; {n_un} not assigned to anyone yet.")
    names = [r.username for r in raters]
    st.subheader("Planned double-coding")
    st.caption(
        "Every unassigned film gets a primary rater; a share of segments, drawn at random within each "
        "arm × time point, also gets a second, independent rater. Loads are balanced, each queue "
        "interleaves arms and time points, and raters cannot tell which items are double-coded. "
        "Run it again when new films arrive: earlier assignments stay as they are."
    )
    chosen = st.multiselect("Raters", names, default=names, key="engine_raters")
    settings = common.call(studies.study_settings, _actor(), key)
    study_share = settings.double_code_share if settings is not None else 0.2
    if st.session_state.get("engine_share_study") != (key, study_share):
        # the slider starts at the study's own setting (the Reliability page's Plan can set it)
        st.session_state["engine_share"], st.session_state["engine_share_study"] = study_share, (key, study_share)
    c1, c2 = st.columns(2)
    share = c1.slider(
        "Share double-coded",
        0.0,
        1.0,
        step=policy.SHARE_STEP,
        key="engine_share",
        help=f"The study's setting is {study_share:.0%}; the Reliability page's Plan tab says how many you need.",
    )
    seed = c2.number_input("Seed (empty = random; recorded)", value=None, step=1, min_value=0, key="engine_seed")
    expected = policy.expected_double_coded(share, n_un)
    if n_un and expected == 0:
        st.warning(
            f"At {share:.0%} of {n_un} unassigned segments no segment would be double-coded: reliability could not "
            "be computed. Raise the share (the Reliability page's Plan tab gives the share you need)."
        )
    family = st.checkbox("One rater never sees two time points of the same family (where feasible)", value=True)
    if st.button("Plan and assign", type="primary", disabled=not chosen):
        res = common.call(
            assignments.plan_study,
            _actor(),
            key,
            chosen,
            share=share,
            seed=None if seed is None else int(seed),
            one_timepoint_per_family=family,
        )
        if res:
            st.success(
                f"{res.films_planned} film(s) planned: {res.created_primary} primary and "
                f"{res.created_reliability} double-coded items (seed {res.seed})."
            )
            if res.created_primary and not res.created_reliability:
                st.warning(
                    "This plan double-codes no segment: reliability cannot be computed from it. "
                    "Assign second raters (raise the share and plan new films, or use manual assignment)."
                )
            if res.relaxed_families:
                st.warning(
                    f"{res.relaxed_families} family(ies) have a rater with two time points: too few raters for the rule."
                )
            c1, c2 = st.columns(2)
            c1.dataframe(pd.DataFrame({"rater": list(res.load), "segments": list(res.load.values())}), hide_index=True)
            c2.dataframe(
                pd.DataFrame(
                    {"stratum": list(res.share_by_stratum), "double-coded": list(res.share_by_stratum.values())}
                ),
                hide_index=True,
            )
    with st.expander("Manual assignment (chosen films, training, re-assignment)"):
        manual = st.multiselect("Raters", names, key="manual_raters")
        mode = st.radio(
            "How",
            ["split", "all"],
            horizontal=True,
            format_func=lambda m: (
                "Share the segments out" if m == "split" else "Every chosen rater rates every segment"
            ),
        )
        codes = sorted({s.blind_code for s in segs})
        picked = st.multiselect("Films (none = all unassigned)", codes)
        if st.button("Assign", disabled=not manual):
            ids = [s.segment_id for s in segs if s.blind_code in picked] if picked else None
            made = common.call(assignments.assign_segments, _actor(), key, manual, segment_ids=ids, mode=mode)
            if made:
                st.success(
                    f"{made.created} assignment(s) made (seed {made.seed}); {made.already_assigned} already assigned."
                )
