"""Researcher page "Data in and out": exports in every format, imports with row-numbered errors,
ELAN exchange and the backup command. Thin: widgets -> one service -> render."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from annotate.services import exchange, films, policy, studies
from annotate.services.errors import ImportRejected, ServiceError
from annotate.ui import common, job_files

FORMAT_LABELS = {
    "csv": ("Ratings, one row per rating (CSV)", "Tidy long table; consensus scores as extra rows."),
    "wide": ("Wide table (CSV)", "One row per participant and time point, one column per dimension and composite."),
    "xlsx": ("Excel workbook", "Sheets: ratings, segments, wide, codebook, study info."),
    "sav": ("SPSS (.sav)", "With variable labels and value labels from the scheme's anchors."),
    "dta": ("Stata (.dta)", "With variable labels and value labels (whole-number anchors)."),
    "parquet": ("Parquet", "Typed columns, for R (arrow) or Python (pandas)."),
    "reliability": ("Reliability matrices for R (zip)", "Per dimension: segments x raters, NA where not scored."),
    "history": ("Rating history (CSV)", "Every change of a score or note: who, when, old, new, why."),
    "codebook": ("Codebook (CSV)", "Every variable with label, range, direction and anchors."),
}


def _actor():
    return st.session_state["actor"]


def _run(fn: Callable, *args, **kwargs):
    """Call an import; show row-numbered problems as a table, other service errors as a message."""
    try:
        with common.db() as session:
            return fn(session, *args, **kwargs)
    except ImportRejected as exc:
        st.error(f"{len(exc.errors)} problem(s): nothing was imported. Fix these rows and upload the file again.")
        st.dataframe(pd.DataFrame([{"row": e.row, "problem": e.message} for e in exc.errors]), hide_index=True)
    except ServiceError as exc:
        st.error(str(exc))
    return None


def data_page() -> None:
    st.title("Data in and out")
    common.show_flashes()
    key = common.pick_study()
    if not key:
        return
    gate = common.call(studies.gate, _actor(), key)
    if gate is None:
        return
    ops = common.call(studies.operations, _actor(), key) or frozenset()
    if policy.Operation.MANAGE_STUDY not in ops:  # the analyst: exports only
        _exports(key, gate.status)
        return
    tab_out, tab_in, tab_elan, tab_backup = st.tabs(["Export", "Import", "ELAN", "Backup"])
    with tab_out:
        _exports(key, gate.status)
    with tab_in:
        _imports(key)
    with tab_elan:
        _elan(key)
    with tab_backup:
        st.markdown("Backups are taken on the server with the `annotate` command (the app can keep running):")
        st.code(
            "annotate backup /backups/annotate-$(date +%F) --with-media\nannotate restore /backups/annotate-2025-01-31",
            language=None,  # plain: the highlighter's token colours fall below AA contrast
        )
        st.caption(
            "SQLite: a consistent copy through the SQLite backup API plus a sha256 manifest of every film. "
            "PostgreSQL: use pg_dump / pg_restore (see README). Restore refuses to overwrite a database "
            "with data unless --force, and checks every film's checksum."
        )


def _exports(key: str, status: policy.StudyStatus) -> None:
    modes = [m.value for m in policy.export_modes(status)]
    labels = {m.value: text for m, text in policy.EXPORT_MODE_LABELS.items()}
    mode = st.radio("Which export", modes, format_func=labels.get, index=len(modes) - 1, key="data_mode")
    c1, c2 = st.columns(2)
    table = c1.selectbox(
        "Table for SPSS, Stata and Parquet",
        ["default", "wide", "segments", "ratings"],
        help="default: wide for SPSS/Stata (segments when blinded), ratings for Parquet.",
    )
    analysis_set = c2.selectbox("Analysis set of the wide table", ["itt", "per_protocol"])
    st.caption(
        "Every download is audited. Cells that begin with = + - @ are neutralised. Files come straight from the "
        "server (the ratings and history CSV stream, whatever the study's size)."
    )
    shown = [f for f in FORMAT_LABELS if not (f == "wide" and mode == "blinded")]
    cols = st.columns(3)
    for i, fmt in enumerate(shown):
        label, help_text = FORMAT_LABELS[fmt]
        url = exchange.export_url(
            key, fmt, mode, table=None if table == "default" else table, analysis_set=analysis_set
        )
        with cols[i % 3]:
            common.download_link(label, url, help_text)
    with st.expander("A large study? Prepare the file in the background"):
        st.caption(
            "A worker writes the file while you do something else (the tab may be closed); it is listed here "
            "for you to download when ready. Same file, same audit entry."
        )
        c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
        fmt = c1.selectbox("Format", shown, format_func=lambda f: FORMAT_LABELS[f][0], key="bg_format")
        if c2.button("Prepare in the background", key="bg_export"):
            job = common.call(
                exchange.enqueue_export,
                _actor(),
                common.settings(),
                key,
                fmt,
                mode,
                table=None if table == "default" else table,
                analysis_set=analysis_set,
            )
            if job is not None:
                st.success(f"Queued as job {job.id}.")
        job_files.my_files_panel("export")

    if policy.Operation.STUDY_PACKAGE in (common.call(studies.operations, _actor(), key) or ()):
        st.download_button(
            "Study package (definition, allocation, segments, scores) for another database",
            data=common.deferred(exchange.export_study_package, key),
            file_name=f"{key}_study_package.zip",
            mime="application/zip",
            key="dl_package",
            on_click="ignore",
        )


def _imports(key: str) -> None:
    st.subheader("Ratings from CSV")
    st.caption(
        "Columns **film** (film code), **segment** (1 = first), **rater** (username), **dimension**, **value**; "
        "optional **purpose** (primary / reliability) and **note**. All rows are checked first; importing the "
        "same file again adds nothing."
    )
    upload = st.file_uploader("Ratings CSV", type=["csv", "txt"], key="ratings_csv")
    if upload is not None and st.button("Import ratings", key="import_ratings"):
        got = _run(exchange.import_ratings, _actor(), key, upload.getvalue(), source=upload.name)
        if got:
            st.success(
                f"{got.created} score(s) added, {got.unchanged} already present; "
                f"{got.assignments_created} assignment(s) created, {got.assignments_done} marked done."
            )
    st.subheader("Segments from CSV")
    st.caption(
        "Columns **film**, **start**, **end** (seconds or m:ss) and optional **task**. A film's segments are "
        "replaced; films with assigned work cannot be re-cut."
    )
    upload = st.file_uploader("Segments CSV", type=["csv", "txt"], key="segments_csv")
    if upload is not None and st.button("Import segments", key="import_segments"):
        got = _run(exchange.import_segments, _actor(), key, upload.getvalue())
        if got:
            st.success(f"{got.films} film(s) re-segmented ({got.segments} segments); {got.unchanged} unchanged.")


def _elan(key: str) -> None:
    st.download_button(
        "Download .eaf files (one per film, zip)",
        data=common.deferred(exchange.export_eaf_zip, key),
        file_name=f"{key}_elan.zip",
        mime="application/zip",
        key="dl_eaf",
        on_click="ignore",
        help="Segments and scores as tiers. Put each film next to its .eaf as <film code>.mp4.",
    )
    st.subheader("Segments from an ELAN tier")
    codes = [
        r.blind_code for r in (common.call(films.list_recordings, _actor(), key) or []) if r.purpose == "assessment"
    ]
    if not codes:
        st.info("No assessment films in this study yet.")
        return
    film = st.selectbox("Film", codes, key="eaf_film")
    upload = st.file_uploader("ELAN file (.eaf)", type=["eaf", "xml"], key="eaf_upload")
    if upload is None:
        return
    try:
        tiers = exchange.eaf_tiers(upload.getvalue())
    except ServiceError as exc:
        st.error(str(exc))
        return
    tier = st.selectbox("Tier with the segments", tiers, key="eaf_tier")
    if st.button("Import segments from tier", key="import_eaf"):
        got = _run(exchange.import_eaf_segments, _actor(), key, film, upload.getvalue(), tier)
        if got:
            st.success(f"{got.segments} segment(s) written." if got.films else "Segments unchanged.")
