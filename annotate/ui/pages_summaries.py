"""Researcher page: the per-arm outcome table of a study, with its plot and downloads.

Thin: widgets -> :func:`annotate.services.outcomes.summaries.outcome_table` -> render. Before
unblinding the service masks the arms (Arm A / Arm B); this page only says so.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable

import altair as alt
import pandas as pd
import streamlit as st

from annotate.services import events, outcomes
from annotate.services.actor import Actor
from annotate.services.outcomes.summaries import OutcomeChoice, OutcomeTable, SummaryOptions
from annotate.ui import common

MASKED_BANNER = "Arms are masked (Arm A / Arm B) until the study is unblinded."
SET_LABELS = {"itt": "All randomised with data (ITT as observed)", "per-protocol": "Per-protocol"}
RULE_LABELS = {
    "consensus_else_mean": "Consensus where raters differed, else the raters' mean",
    "primary_only": "Primary rater only",
}
HAS_VL_CONVERT = importlib.util.find_spec("vl_convert") is not None


def _actor() -> Actor:
    return st.session_state["actor"]


def _keep_valid(key: str, options: list, default=None) -> None:
    """Give a keyed widget a valid value: its old one may not fit another study's options."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = default if default in options else (options[0] if options else None)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if _missing(value) else f"{value:.{digits}f}"


def _ci(low: float | None, high: float | None) -> str:
    return "–" if _missing(low) or _missing(high) else f"{low:.2f} to {high:.2f}"


def _p(value: float | None) -> str:
    if value is None or _missing(value):
        return "–"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _choices(opts: SummaryOptions) -> dict:
    """Read the widgets; returns the keyword arguments of outcome_table."""
    outcomes = {o.name: o for o in opts.outcomes}
    _keep_valid("sum_outcome", list(outcomes))
    left, middle, right = st.columns(3)
    name = left.selectbox(
        "Dimension or composite",
        list(outcomes),
        key="sum_outcome",
        format_func=lambda n: outcomes[n].label + (" (composite)" if outcomes[n].kind == "composite" else ""),
    )
    analysis_set = middle.radio("Analysis set", list(SET_LABELS), format_func=SET_LABELS.get, key="sum_set")
    if analysis_set == "per-protocol" and not opts.n_per_protocol:
        middle.caption("No participant is flagged per-protocol yet (import a per_protocol column).")
    rule = right.radio("Double-coded segments", list(RULE_LABELS), format_func=RULE_LABELS.get, key="sum_rule")
    outcome: OutcomeChoice = outcomes[name]
    with st.expander("Threshold, covariates and comparison", expanded=True):
        a, b = st.columns(2)
        # One threshold per outcome: each dimension keeps its own "sensitive" cut-off.
        threshold = a.number_input(
            f"Threshold: {outcome.label} ≥ X counts as an event (empty: none)",
            min_value=float(outcome.min),
            max_value=float(outcome.max),
            value=None,
            step=float(outcome.step),
            key=f"sum_threshold_{name}",
        )
        st.session_state["sum_covariates"] = [
            c for c in st.session_state.get("sum_covariates", []) if c in opts.covariates
        ]
        covariates = b.multiselect(
            "ANCOVA covariates (from the participants file)",
            list(opts.covariates),
            key="sum_covariates",
            placeholder="none" if opts.covariates else "the participants file has no covariate columns",
        )
        baselines = ["", *opts.timepoints]
        default = opts.timepoints[0] if len(opts.timepoints) >= 2 else ""
        _keep_valid("sum_baseline", baselines, default)
        c, d, e = st.columns(3)
        baseline = c.selectbox(
            "Baseline",
            baselines,
            key="sum_baseline",
            format_func=lambda t: t or "none (compare every time point)",
        )
        treatment = control = None
        if len(opts.arms) >= 2:
            arms = list(opts.arms)
            _keep_valid("sum_treatment", arms, arms[0])
            _keep_valid("sum_control", arms, arms[1])
            treatment = d.selectbox("Treatment arm", arms, key="sum_treatment")
            control = e.selectbox("Control arm", arms, key="sum_control")
    return {
        "dimension": name,
        "rule": rule,
        "analysis_set": analysis_set,
        "threshold": threshold,
        "covariates": covariates,
        "baseline": baseline,
        "treatment": treatment,
        "control": control,
    }


def summaries_page() -> None:
    st.title("Per-arm summaries")
    key = common.pick_study()
    if not key:
        return
    opts = common.call(outcomes.summary_options, _actor(), key)
    if opts is None:
        return
    if not opts.unblinded:
        st.warning(
            f"{MASKED_BANNER} The study is {opts.status}; which arm is which shows here once it is "
            "unblinded on the Study status page."
        )
    choices = _choices(opts)
    table = common.call(outcomes.outcome_table, _actor(), key, **choices)
    if table is not None:
        _render(key, table, opts)
    if opts.has_events:
        _event_summaries(key)


def _event_summaries(key: str) -> None:
    """Per arm and time point, each code's rate per minute, share of time and mean bout (states)."""
    st.subheader("Coded events per arm")
    found = common.call(events.arm_event_summaries, _actor(), key)
    if found is None:
        return
    st.caption(
        "Done event coding only, averaged over the raters of a segment, then over segments. "
        "Rate: events per minute; share: fraction of the segment a state ran; bout: a state's mean length."
        + (f" {MASKED_BANNER}" if found.masked else "")
    )
    st.dataframe(
        pd.DataFrame(
            {
                "arm": [r.summary.arm for r in found.rows],
                "time point": [r.timepoint for r in found.rows],
                "code": [r.summary.code for r in found.rows],
                "segments": [r.summary.n_sessions for r in found.rows],
                "rate / min": [_num(r.summary.rate_per_min) for r in found.rows],
                "share of time": [
                    "" if r.summary.kind == "point" else _num(r.summary.share_of_time) for r in found.rows
                ],
                "mean bout (s)": ["" if r.summary.kind == "point" else _num(r.summary.mean_bout_s) for r in found.rows],
            }
        ),
        hide_index=True,
        width="stretch",
    )


def _descriptives(table: OutcomeTable) -> pd.DataFrame:
    rows = [
        {
            "arm": d.arm,
            "time point": d.timepoint,
            "n": d.stats.n,
            "mean": _num(d.stats.mean),
            "SD": _num(d.stats.sd),
            "median": _num(d.stats.median),
            "IQR": _ci(d.stats.q1, d.stats.q3),
            "range": _ci(d.stats.minimum, d.stats.maximum),
        }
        for d in table.report.descriptives
    ]
    return pd.DataFrame(rows)


def _estimates(table: OutcomeTable, section: str) -> pd.DataFrame:
    rows = [r for r in outcomes.outcome_row_list(table) if r.section == section]
    shown = pd.DataFrame(
        {
            "time point": [r.timepoint for r in rows],
            "statistic": [r.statistic for r in rows],
            "estimate": [r.value if isinstance(r.value, str) else _num(r.value) for r in rows],
            "95% CI": [_ci(r.ci95_low, r.ci95_high) for r in rows],
            "p": [_p(r.p) for r in rows],
            "n": ["–" if r.n is None else str(r.n) for r in rows],
        }
    )
    if section == "comparison":
        shown.insert(1, "treatment − control", [f"{r.treatment} − {r.control}" for r in rows])
    else:
        shown.insert(0, "arm", [r.arm for r in rows])
    return shown


def _chart(table: OutcomeTable, opts: SummaryOptions, trajectories: bool) -> alt.LayerChart | alt.FacetChart:
    timepoints = [t for t in opts.timepoints if t in set(table.means["timepoint"])]
    arms = list(dict.fromkeys(table.means["arm"]))
    x = alt.X("timepoint:N", sort=timepoints, title="Time point", axis=alt.Axis(labelAngle=0))
    y_scale = alt.Scale(zero=False)
    color = alt.Color("arm:N", scale=alt.Scale(domain=arms, scheme="tableau10"), title="Arm")
    means = alt.Chart(table.means).encode(x=x, color=color)
    layers = [
        means.mark_rule(strokeWidth=2).encode(y=alt.Y("ci95_low:Q", scale=y_scale), y2="ci95_high:Q"),
        means.mark_line(point=alt.OverlayMarkDef(size=70, filled=True), strokeWidth=3).encode(
            y=alt.Y("mean:Q", scale=y_scale, title=f"{table.dimension_label} (mean, 95% CI)"),
            tooltip=[
                "arm",
                "timepoint",
                "n",
                alt.Tooltip("mean:Q", format=".2f"),
                alt.Tooltip("ci95_low:Q", format=".2f"),
                alt.Tooltip("ci95_high:Q", format=".2f"),
            ],
        ),
    ]
    if trajectories:
        lines = (
            alt.Chart(table.scores[["participant", "arm", "timepoint", "score"]])
            .mark_line(strokeWidth=1, opacity=0.3, point=alt.OverlayMarkDef(size=12, opacity=0.3))
            .encode(
                x=x,
                y=alt.Y("score:Q", scale=y_scale),
                color=color,
                detail="participant:N",
                tooltip=["participant", "arm", "timepoint", alt.Tooltip("score:Q", format=".2f")],
            )
        )
        layers.insert(0, lines)
    title = f"{table.dimension_label}: arm means with 95% CIs" + (" and each family" if trajectories else "")
    return alt.layer(*layers).properties(
        title=alt.TitleParams(title, anchor="start"),
        height=360,
        padding={"top": 12, "left": 5, "right": 5, "bottom": 5},
    )


def _csv_download(key: str, table: OutcomeTable, what: str) -> Callable[[], str]:
    """The file is built (and audited as an export) only when the button is clicked."""
    actor = _actor()  # the callable runs on another thread, without this session's state

    def build() -> str:
        with common.db() as session:
            return outcomes.outcome_csv(session, actor, key, table, what)

    return build


def _cli_hint(stem: str, table: OutcomeTable) -> str:
    parts = [f"annotate stats arms {stem}-scores.csv"]
    parts.append(f"--baseline '{table.baseline}'" if table.baseline else "")
    if table.report.comparisons:
        first = table.report.comparisons[0]
        parts.append(f"--treatment '{first.treatment}' --control '{first.control}'")
    parts.append(f"--threshold {table.threshold:g}" if table.threshold is not None else "")
    parts += [f"--covariate '{c}'" for c in table.covariates]
    return " ".join(p for p in [*parts, "--json"] if p)


def _render(key: str, table: OutcomeTable, opts: SummaryOptions) -> None:
    st.info(table.rule_text)
    cols = st.columns(3)
    cols[0].metric("Participants with data", table.n_participants)
    cols[1].metric("Analysis set", "ITT" if table.analysis_set == "itt" else "Per-protocol")
    cols[2].metric("Baseline", table.baseline or "none")
    st.subheader("Each arm at each time point")
    st.dataframe(_descriptives(table), hide_index=True, width="stretch")
    st.subheader("Between arms")
    if table.report.comparisons:
        st.dataframe(_estimates(table, "comparison"), hide_index=True, width="stretch")
        st.caption(
            "Mean difference with Welch's 95% CI; ANCOVA adjusted for baseline (and chosen covariates); "
            "Hedges' g with the Borenstein et al. (2009) CI; risk ratio with the Katz log CI "
            "(0.5 added to every cell when one is zero); risk difference with Newcombe's hybrid score CI."
        )
    else:
        st.caption("No comparison: the data have only one arm (or one time point, which is the baseline).")
    st.subheader("Within each arm")
    if table.report.within_arm:
        st.dataframe(_estimates(table, "within arm"), hide_index=True, width="stretch")
        st.caption("Change from baseline over participants with both scores: paired t test and Cohen's d_z.")
    else:
        st.caption("No within-arm change without a baseline time point.")
    st.subheader("Plot")
    trajectories = st.checkbox("Show each family's trajectory", value=True, key="sum_trajectories")
    chart = _chart(table, opts, trajectories)
    st.altair_chart(chart, width="stretch")
    stem = f"{key}-{table.dimension}-{table.analysis_set}{'-masked' if table.masked else ''}"
    a, b, c = st.columns(3)
    a.download_button(
        "Outcome table (CSV)",
        data=_csv_download(key, table, "table"),
        file_name=f"{stem}-table.csv",
        mime="text/csv",
        on_click="ignore",
        key="sum_dl_table",
    )
    b.download_button(
        "Scores per family and time point (CSV)",
        data=_csv_download(key, table, "scores"),
        file_name=f"{stem}-scores.csv",
        mime="text/csv",
        on_click="ignore",
        key="sum_dl_scores",
    )
    if HAS_VL_CONVERT:
        import vl_convert

        spec = chart.to_json()
        c.download_button(
            "Plot (PNG)",
            data=lambda: vl_convert.vegalite_to_png(spec, scale=2),
            file_name=f"{stem}-plot.png",
            mime="image/png",
            on_click="ignore",
            key="sum_dl_plot",
        )
    else:
        c.download_button(
            "Plot (HTML)",
            data=chart.to_html(),
            file_name=f"{stem}-plot.html",
            mime="text/html",
            on_click="ignore",
            key="sum_dl_plot",
        )
        st.caption(
            "Plot (HTML) is the interactive chart (it loads Vega from the internet when opened); for a PNG, "
            "hover over the chart and use its toolbar's Download as PNG."
        )
    st.caption(f"The scores file reproduces this table from the command line: `{_cli_hint(stem, table)}`.")
