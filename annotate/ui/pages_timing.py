"""Researcher page: timing agreement of a study's event coding (issue 19).

Thin: widgets -> :func:`annotate.services.events.timing_report` -> render. Per event group the
event-based and time-unit kappas with their CIs, F1 per code, onset differences, the agreement
curve, and the match explainer (every pair and unmatched event; a chosen row opens the film
there). Nothing here reads or shows arms or time points: rows carry film codes only.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from annotate.services import events
from annotate.services.actor import Actor
from annotate.ui import common
from annotate.ui.player import segment_player


def _actor() -> Actor:
    return st.session_state["actor"]


def _num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _secs(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f} s"


def _ci(ci: events.BootstrapCI | None) -> str:
    if ci is None:
        return ""
    if ci.low is None:
        return "95% CI n/a"
    return f"95% CI {_num(ci.low)} to {_num(ci.high)}"


def timing_page() -> None:
    st.title("Timing agreement")
    key = common.pick_study()
    if not key:
        return
    st.caption(
        "Event coding marked done by two or more raters. Event kappa: onsets matched one to one within the "
        "tolerance (most pairs, then least total difference). Time-unit kappa: one unit per film frame. "
        "No arm or time point is used or shown."
    )
    left, mid, right = st.columns(3)
    tolerance = left.number_input("Tolerance (s)", min_value=0.04, value=1.0, step=0.25, key="timing_tol")
    scheme = mid.text_input("Scheme (empty: the study's)", value="", key="timing_scheme").strip() or None
    boot = right.checkbox("Bootstrap 95% CIs (1,000 resamples of sessions, seed 2026)", key="timing_boot")
    report = common.call(
        events.timing_report,
        _actor(),
        key,
        scheme=scheme,
        tolerance=float(tolerance),
        bootstrap=1000 if boot else 0,
        seed=2026 if boot else None,
    )
    if report is None:
        return
    r = report.result
    st.write(
        f"Scheme {report.scheme_key} v{report.scheme_version}: {r.n_sessions} double-coded session(s), "
        f"tolerance {r.tolerance:g} s, unit {r.unit:.4g} s."
    )
    for name, group in r.groups.items():
        _render_group(name, group)
    _render_explainer(report)


def _render_group(name: str, g: events.GroupTiming) -> None:
    st.subheader(name)
    ev, tu = g.event, g.time_unit
    a, b, c = st.columns(3)
    a.metric("Event kappa", _num(ev.kappa), help=ev.table.note if ev.kappa is None else None)
    a.caption(_ci(ev.ci95))
    b.metric("Time-unit kappa", _num(tu.kappa), help=tu.note if tu.kappa is None else None)
    b.caption(_ci(tu.ci95))
    c.metric("Pooled F1", _num(ev.f1.pooled))
    c.caption(f"{ev.n_matched} matched, {ev.n_unmatched[0]} / {ev.n_unmatched[1]} unmatched")
    st.dataframe(
        pd.DataFrame(
            {
                "code": list(ev.f1.per_code),
                "F1": [_num(v) for v in ev.f1.per_code.values()],
            }
        ),
        hide_index=True,
    )
    st.caption(
        f"|Onset difference| median {_secs(ev.onset_diff.median)}, 90th percentile {_secs(ev.onset_diff.p90)}; "
        f"|offset difference| (states) median {_secs(ev.offset_diff.median)}, "
        f"90th percentile {_secs(ev.offset_diff.p90)}."
    )
    points = [
        {"tolerance (s)": p.tolerance, "value": v, "measure": m}
        for p in g.curve
        for m, v in (("event kappa", p.kappa), ("pooled F1", p.f1))
        if v is not None
    ]
    if points:
        chart = (
            alt.Chart(pd.DataFrame(points))
            .mark_line(point=True)
            .encode(x="tolerance (s):Q", y=alt.Y("value:Q", scale=alt.Scale(domain=[-0.2, 1])), color="measure:N")
            .properties(height=220, title=f"{name}: agreement by tolerance")
        )
        st.altair_chart(chart, use_container_width=True)


def _render_explainer(report: events.TimingReport) -> None:
    st.subheader("Match explainer")
    rows = report.explainer
    if not rows:
        st.info("No events to explain.")
        return
    table = pd.DataFrame(
        {
            "group": [x.group for x in rows],
            "film": [x.blind_code for x in rows],
            "segment": [x.segment for x in rows],
            "at": [common.fmt_time(x.at) for x in rows],
            "first rater": [x.first_rater for x in rows],
            "first code": [x.first_code for x in rows],
            "second rater": [x.second_rater for x in rows],
            "second code": [x.second_code for x in rows],
            "onset difference (s)": [None if x.onset_diff is None else round(x.onset_diff, 3) for x in rows],
            "outcome": [x.outcome for x in rows],
        }
    )
    picked = st.dataframe(table, hide_index=True, on_select="rerun", selection_mode="single-row", key="timing_rows")
    chosen = picked.selection.rows if picked is not None else []
    if not chosen:
        st.caption("Choose a row to open the film at that moment.")
        return
    row = rows[chosen[0]]
    url = common.call(events.film_url, _actor(), common.settings(), row.blind_code)
    if url:
        st.write(
            f"Film {row.blind_code} at {common.fmt_time(row.at)}: {row.first_rater} coded {row.first_code}, "
            f"{row.second_rater} coded {row.second_code}."
        )
        # The house player streams through /api/media with Range, like every other page.
        segment_player(
            src=url,
            start_s=max(0.0, row.at - 1.0),
            end_s=row.at + 4.0,
            key="timing_explainer_player",
            label=f"Film {row.blind_code} around {common.fmt_time(row.at)}",
        )
