"""Researcher pages: inter-rater reliability of a study, and rater certification.

Thin: widgets -> one service -> render. Nothing here reads or shows arms or time points:
the services give blind segment labels only.
"""

from __future__ import annotations

import json

import altair as alt
import pandas as pd
import streamlit as st

from annotate.services import accounts, reliability, studies
from annotate.services.actor import Actor
from annotate.services.errors import ServiceError
from annotate.services.reliability import reliability_json
from annotate.ui import common

KOO_LI_NOTE = (
    "Koo & Li (2016): below .50 poor, .50–.75 moderate, .75–.90 good, above .90 excellent; read by the 95% CI."
)
# Shown on the page: every agreement statistic of reports.reliability_rows except the alpha levels
# that do not fit a rating scale read as interval data.
HIDDEN_STATISTICS = {"Krippendorff's alpha (nominal)", "Krippendorff's alpha (ratio)"}


def _actor() -> Actor:
    return st.session_state["actor"]


def _keep_valid(key: str, options: list, default_index: int = 0) -> None:
    """A keyed selectbox keeps its old value when its options change (another study); reset it."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = options[default_index] if len(options) > default_index else None


def _num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


# ---------------------------------------------------------------- reliability page


def reliability_page() -> None:
    st.title("Inter-rater reliability")
    common.show_flashes()
    key = common.pick_study()
    if not key:
        return
    opts = common.call(reliability.reliability_options, _actor(), key)
    if opts is None:
        return
    st.caption(
        f"Scheme {opts.scheme_key} v{opts.scheme_version}. Only segments marked done by two or more raters "
        "count (calibration ratings are left out). No arm or time point is used or shown."
    )
    labels = {d.name: d.label for d in opts.dimensions}
    left, right = st.columns(2)
    _keep_valid("rel_dimension", list(labels))
    dimension = left.selectbox("Dimension", list(labels), format_func=lambda name: labels[name], key="rel_dimension")
    which = right.radio(
        "Segments",
        ["all", "pair", "period"],
        horizontal=True,
        key="rel_set",
        format_func={"all": "All double-coded", "pair": "A rater pair", "period": "A period"}.get,
    )
    raters = since = until = None
    if which == "pair":
        if len(opts.raters) < 2:
            st.info("Fewer than two raters have finished segments in this study.")
            return
        a, b = st.columns(2)
        _keep_valid("rel_rater_a", list(opts.raters), 0)
        _keep_valid("rel_rater_b", list(opts.raters), 1)
        rater_a = a.selectbox("Rater A", opts.raters, key="rel_rater_a")
        rater_b = b.selectbox("Rater B", opts.raters, key="rel_rater_b")
        raters = (rater_a, rater_b)
    elif which == "period":
        if opts.first_done is None or opts.last_done is None:
            st.info("No segment has been finished yet.")
            return
        period = st.date_input(
            "Segments finished between", value=(opts.first_done.date(), opts.last_done.date()), key="rel_period"
        )
        if not isinstance(period, tuple) or len(period) != 2:
            st.info("Choose the first and the last day of the period.")
            return
        since, until = period
    with st.expander("Options"):
        boot = st.checkbox("Bootstrap 95% CIs for ICC and alpha (1,000 resamples of segments)", key="rel_boot")
        seed = st.number_input("Bootstrap seed", value=2026, step=1, key="rel_seed")
        drift_how = st.radio(
            "Agreement over time by",
            ["month", "block"],
            horizontal=True,
            key="rel_drift",
            format_func={"month": "calendar month", "block": "blocks of segments"}.get,
        )
        block = st.number_input("Segments per block", min_value=2, value=10, step=1, key="rel_block")
        by_film = st.checkbox("Segments nested in films (G-study with film as cluster)", value=True, key="rel_by_film")
    tabs = st.tabs(
        ["Summary", "Design", "Raters", "G/D-study", "Plan", "Bland–Altman", "Confusion", "Over time", "Ratings"]
    )
    with tabs[4]:
        plan_panel(key)
    with tabs[0]:
        report = common.call(
            reliability.reliability_report,
            _actor(),
            key,
            dimension=dimension,
            raters=raters,
            since=since,
            until=until,
            bootstrap=1000 if boot else 0,
            seed=int(seed) if boot else None,
            drift_by="month" if drift_how == "month" else int(block),
            cluster="film" if by_film else None,
        )
        if report is not None:
            _render_report(report)
    if report is None:
        for tab in (*tabs[1:4], *tabs[5:]):
            tab.info("No double-coded segments to analyse yet; see the Summary tab.")
        return
    with tabs[1]:
        _design_panel(report)
    with tabs[2]:
        _raters_panel(key, report)
    with tabs[3]:
        _gstudy_panel(report)
    with tabs[5]:
        _bland_altman(report)
    with tabs[6]:
        _confusion(report)
    with tabs[7]:
        _drift(report)
    with tabs[8]:
        st.dataframe(report.ratings, hide_index=True, width="stretch")
        st.download_button(
            "Download statistics (JSON)",
            json.dumps(reliability_json(report.table), indent=2, allow_nan=False),
            file_name=f"{report.study_key}_{report.dimension}_reliability.json",
            mime="application/json",
        )


def _render_report(report: reliability.ReliabilityReport) -> None:
    t = report.table
    cols = st.columns(3)
    cols[0].metric("Double-coded segments", t.n_units)
    cols[1].metric("Raters", t.n_raters)
    cols[2].metric("Ratings", t.n_ratings)
    _recommendation(report)
    st.subheader("Statistics for this design")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "statistic": row.statistic,
                    "value": _num(row.value) if row.value is not None else "n/a",
                    "95% CI": ""
                    if row.ci95_low is None and row.ci95_high is None
                    else _ci(row.ci95_low, row.ci95_high),
                    "how": row.detail if row.value is not None else f"n/a: {row.why_missing}",
                }
                for row in reliability.design_rows(t)
            ]
        ),
        hide_index=True,
        width="stretch",
        height="content",
    )
    with st.expander("Complete-case statistics (only segments scored by every rater in the set)"):
        _complete_case(report)
    scale = ", ".join(f"{c:g}" for c in report.categories)
    st.caption(f"Scale used for every statistic: {scale} (all points, used or not). Level: {report.level}.")


def _ci(low: float | None, high: float | None) -> str:
    return f"{_num(low)} to {_num(high)}"


def _recommendation(report: reliability.ReliabilityReport) -> None:
    rec = report.recommendation
    k = report.koo_li
    if rec is None:
        st.warning(
            "No coefficient can be computed for this set of ratings: it needs segments scored by two raters "
            "with some spread in the scores."
        )
        return
    name, _, qualifier = rec.statistic.partition(", ")
    qualifier = f"{qualifier}; " if qualifier else ""
    if k is not None:
        st.markdown(
            f"**Report {name} = {k.value:.2f}** ({qualifier}95% CI {_num(k.ci95_low, 2)} to {_num(k.ci95_high, 2)}): "
            f"**{k.range_text}** reliability; the point estimate is {k.band}."
        )
    else:
        value = "n/a" if rec.value is None else f"{rec.value:.2f}"
        st.markdown(f"**Report {name} = {value}**" + (f" ({qualifier.rstrip('; ')})" if qualifier else ""))
    st.markdown(f"Why: {rec.reason}")
    st.caption("Sources: " + "; ".join(rec.sources) + ". " + (KOO_LI_NOTE if k is not None else ""))


def _complete_case(report: reliability.ReliabilityReport) -> None:
    t = report.table
    boot = t.bootstrap.icc if t.bootstrap is not None else {}
    rows = []
    for r in t.icc.forms if t.icc is not None else ():
        row = {
            "ICC": r.form,
            "McGraw & Wong": r.mcgraw_wong,
            "value": _num(r.value),
            "95% CI": _ci(r.ci95_low, r.ci95_high),
            "F": _num(r.f_statistic, 2),
            "df1": r.df1,
            "df2": r.df2,
            "p": "n/a" if r.p_value is None else ("< 0.001" if r.p_value < 0.001 else f"{r.p_value:.3f}"),
            "segments": r.n_units,
        }
        if r.form in boot:
            row["bootstrap 95% CI"] = _ci(boot[r.form].low, boot[r.form].high)
        rows.append(row)
    if rows and any(r.value is not None for r in t.icc.forms):  # type: ignore[union-attr]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    else:
        st.info(
            "No complete-case ICC: too few segments were scored by every rater in the set. The design's own "
            "ICCs above use every rating."
        )
    shown = [row for row in reliability.reliability_rows(t) if row.statistic not in HIDDEN_STATISTICS]
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "statistic": row.statistic,
                    "value": _num(row.value) if row.value is not None else "n/a",
                    "note": "" if row.value is not None else row.why_missing,
                }
                for row in shown
            ]
        ),
        hide_index=True,
        width="stretch",
    )


def _span(low: int | None, high: int | None) -> str:
    return f"{low}" if low == high else f"{low}–{high}"


def _design_panel(report: reliability.ReliabilityReport) -> None:
    d = report.table.design
    if d is None:
        st.info(f"No design description: {report.table.design_note or 'not computed'}.")
        return
    desc = d.design
    ratings = f"{_span(desc.ratings_per_unit_min, desc.ratings_per_unit_max)} (mean {desc.ratings_per_unit_mean:.2f})"
    facts = [
        ("Segments", str(desc.n_units)),
        ("Segments with two or more ratings", str(desc.n_units_multi)),
        ("Raters", str(desc.n_raters)),
        ("Ratings per segment", ratings),
        ("Harmonic mean k̂ (ten Hove et al. 2022)", f"{desc.k_harmonic:.2f}"),
        ("Complete (every rater rated every segment)", "yes" if desc.complete else "no"),
        ("Rater pairs sharing a segment", str(desc.n_rater_pairs)),
        ("Rating pairs", str(desc.n_rating_pairs)),
    ]
    if desc.n_clusters is not None:
        facts.append(("Films (clusters)", str(desc.n_clusters)))
        facts.append(("Segments per film", _span(desc.units_per_cluster_min, desc.units_per_cluster_max)))
    st.dataframe(pd.DataFrame(facts, columns=["", "value"]), hide_index=True, width="stretch")
    pairs = d.pairwise.pairs
    if pairs:
        st.subheader("Rater pairs")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "pair": f"{p.rater_a} × {p.rater_b}",
                        "shared segments": p.n_shared,
                        "kappa (quadratic)": "n/a (chance agreement is perfect)"
                        if p.kappa_quadratic is None
                        else _num(p.kappa_quadratic),
                        "exact": "n/a" if p.exact is None else f"{p.exact:.0%}",
                        "within one point": "n/a" if p.within_1 is None else f"{p.within_1:.0%}",
                    }
                    for p in pairs
                ]
            ),
            hide_index=True,
            width="stretch",
        )
        st.caption("The design's pairwise kappa and agreement average these, weighted by shared segments (Light 1971).")


def _gstudy_panel(report: reliability.ReliabilityReport) -> None:
    d = report.table.design
    vc = None if d is None else d.variance_components
    if d is None or vc is None or d.d_study is None:
        why = report.table.design_note if d is None else d.notes.get("variance_components", "not computed")
        st.info(f"No G-study: {why}.")
        return
    parts = vc.as_dict()
    total = sum(parts.values())
    names = {
        "cluster": "film",
        "unit": "segment within film" if vc.cluster is not None else "segment",
        "rater": "rater",
        "residual": "residual",
    }
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "component": names[name],
                    "variance": f"{value:.4f}",
                    "share": f"{value / total:.0%}" if total > 0 else "n/a",
                }
                for name, value in parts.items()
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    note = d.notes.get("variance_components")
    st.caption("REML estimates (as lme4::lmer)." + (f" Note: {note}." if note else ""))
    ds = d.d_study
    cells = pd.DataFrame(
        [
            {"raters": n, "segments": m, "Phi": phi, "label": _num(phi, 2)}
            for n, row in zip(ds.raters, ds.phi, strict=True)
            for m, phi in zip(ds.units, row, strict=True)
        ]
    )
    what = "a film's score averaged over m segments" if ds.nested else "one segment's score"
    st.markdown(f"**D-study: Φ (absolute) for {what}, scored by n raters** (Brennan 2001)")
    base = alt.Chart(cells).encode(
        x=alt.X("segments:O", title="segments per film (m)" if ds.nested else "segments"),
        y=alt.Y("raters:O", title="raters (n)", sort="descending"),
    )
    heat = base.mark_rect().encode(
        color=alt.Color("Phi:Q", scale=alt.Scale(scheme="greens", domain=[0, 1]), title="Φ"),
        tooltip=["raters", "segments", alt.Tooltip("Phi:Q", format=".3f")],
    )
    st.altair_chart(heat + base.mark_text().encode(text="label:N"), width="stretch")
    if ds.note:
        st.caption(ds.note)


def _raters_panel(key: str, report: reliability.ReliabilityReport) -> None:
    monitor = common.call(reliability.rater_monitoring, _actor(), key, dimension=report.dimension)
    if monitor is None:
        return
    st.subheader("Severity")
    if not monitor.severity:
        st.info(f"No severity yet: {monitor.severity_note}.")
    else:
        sev = pd.DataFrame(
            [
                {
                    "rater": str(s.rater),
                    "deviation": s.mean_deviation,
                    "low": None if s.ci95 is None else s.ci95[0],
                    "high": None if s.ci95 is None else s.ci95[1],
                    "segments": s.n,
                }
                for s in monitor.severity
                if s.mean_deviation is not None
            ]
        )
        points = alt.Chart(sev).encode(
            y=alt.Y("rater:N", title=None),
            tooltip=["rater:N", "deviation:Q", "low:Q", "high:Q", "segments:Q"],
        )
        bars = points.mark_rule().encode(x=alt.X("low:Q", title="mean deviation from the other rater(s)"), x2="high:Q")
        zero = alt.Chart(pd.DataFrame({"x": [0]})).mark_rule(strokeDash=[4, 4]).encode(x="x:Q")
        st.altair_chart(bars + points.mark_point(filled=True, size=80).encode(x="deviation:Q") + zero, width="stretch")
        if monitor.deviating:
            st.warning(
                f"Scores systematically off their colleagues' (95% CI excludes 0): {', '.join(monitor.deviating)}."
            )
        st.caption(
            "Mean of (rater's score − the other raters' mean) on shared segments, with a t-based 95% CI; "
            "above 0 lenient, below 0 severe."
        )
    st.subheader("Drift")
    c = monitor.criterion
    st.caption(
        f"Agreement with master and consensus scores per calendar month; flagged below ICC(A,1) {c.min_icc_a1:.2f} "
        f"or {c.min_within_1:.0%} within one point (the study's certification criterion)."
    )
    if not monitor.drift:
        st.info(f"No drift check yet: {monitor.drift_note}.")
        return
    drift = pd.DataFrame(
        [
            {
                "rater": str(x.rater),
                "month": x.month,
                "items": x.n,
                "ICC(A,1)": x.icc_a1,
                "within one point": x.within_1,
                "status": {"meets": "meets", "below": "below: recalibrate", "undetermined": "too few items"}[x.status],
            }
            for x in monitor.drift
        ]
    )
    long = drift.melt(id_vars=["rater", "month"], value_vars=["ICC(A,1)", "within one point"]).dropna(subset=["value"])
    line = (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X("month:O", title=None),
            y=alt.Y("value:Q", title=None),
            color=alt.Color("rater:N"),
            strokeDash=alt.StrokeDash("variable:N", legend=alt.Legend(title=None)),
            tooltip=["rater", "month", "variable", "value"],
        )
    )
    floor = alt.Chart(pd.DataFrame({"y": [c.min_icc_a1]})).mark_rule(color="red", strokeDash=[4, 4]).encode(y="y:Q")
    st.altair_chart(line + floor, width="stretch")
    if monitor.flagged:
        st.error(f"Recalibrate: {', '.join(monitor.flagged)} (a month below the criterion).")
    shown = drift.assign(
        **{
            "ICC(A,1)": drift["ICC(A,1)"].map(lambda v: "n/a" if pd.isna(v) else f"{v:.2f}"),
            "within one point": drift["within one point"].map(lambda v: "n/a" if pd.isna(v) else f"{v:.0%}"),
        }
    )
    st.dataframe(shown, hide_index=True, width="stretch")


def plan_panel(key: str) -> None:
    """Plan: expected ICC, raters, CI width -> segments to double-code and the engine's share."""
    st.caption(
        "How many double-coded segments give an ICC with the confidence interval you want (Bonett 2002), "
        "and the double-coding share that gives them for this study's films."
    )
    c1, c2, c3, c4 = st.columns(4)
    rho = c1.number_input("Expected ICC", 0.05, 0.99, 0.75, 0.05, key="plan_rho")
    k = c2.number_input("Raters per double-coded segment", 2, 10, 2, 1, key="plan_k")
    width = c3.number_input("Desired width of the 95% CI", 0.05, 1.0, 0.2, 0.05, key="plan_width")
    rho0 = c4.number_input("Lower limit above (optional)", 0.0, 0.95, value=None, step=0.05, key="plan_rho0")
    plan = common.call(
        reliability.reliability_plan,
        _actor(),
        key,
        rho=float(rho),
        k=int(k),
        width=float(width),
        rho0=None if rho0 is None or rho0 >= rho else float(rho0),
    )
    if plan is None:
        return
    text = f"Double-code **{plan.n_units} segments** ({plan.precision.n_units} for a CI of width {width:g}"
    if plan.lower_bound is not None:
        text += f"; {plan.lower_bound.n_units} for the lower limit to exceed {rho0:g} with 80% assurance"
    st.markdown(text + ").")
    if rho0 is not None and rho0 >= rho:
        st.caption("The lower limit must be below the expected ICC; it is left out.")
    if plan.share is None:
        st.info("No ready assessment films yet: the share follows once films are in.")
        return
    st.markdown(
        f"This study has {plan.n_segments} ready segments: set the double-coding share to **{plan.share:.0%}** "
        f"(now {plan.current_share:.0%}, about {plan.current_double_coded} double-coded segments)."
    )
    if not plan.enough_segments:
        st.warning(
            f"The study has fewer segments ({plan.n_segments}) than the plan needs: double-code every segment, "
            "and add raters per segment or accept a wider interval."
        )
    apply = plan.share != plan.current_share and st.button(f"Use {plan.share:.0%} for this study", key="plan_apply")
    if apply and common.call(studies.update_settings, _actor(), key, double_code_share=plan.share) is not None:
        common.flash(f"Double-coding share set to {plan.share:.0%}; the Assign page uses it.")
        st.rerun()


def _bland_altman(report: reliability.ReliabilityReport) -> None:
    ba = report.bland_altman
    if ba is None:
        st.info("Bland–Altman needs a rater pair with at least two shared segments.")
        return
    r = ba.result
    st.markdown(
        f"**{ba.rater_a} − {ba.rater_b}** over {r.n_units} segments: mean difference "
        f"{r.mean_difference:.2f} (95% CI {r.mean_difference_ci95[0]:.2f} to {r.mean_difference_ci95[1]:.2f}), "
        f"limits of agreement {r.lower_limit:.2f} to {r.upper_limit:.2f}."
    )
    points = ba.pairs.groupby(["mean", "difference"], as_index=False).size().rename(columns={"size": "segments"})
    lines = pd.DataFrame(
        {
            "value": [r.lower_limit, r.mean_difference, r.upper_limit],
            "line": ["lower limit", "mean difference", "upper limit"],
        }
    )
    dots = (
        alt.Chart(points)
        .mark_circle(opacity=0.7)
        .encode(
            x=alt.X("mean:Q", title=f"mean of {ba.rater_a} and {ba.rater_b}", scale=alt.Scale(zero=False)),
            y=alt.Y("difference:Q", title=f"{ba.rater_a} − {ba.rater_b}"),
            size=alt.Size("segments:Q", legend=alt.Legend(title="segments", format="d", tickMinStep=1)),
            tooltip=["mean", "difference", "segments"],
        )
    )
    rules = (
        alt.Chart(lines)
        .mark_rule(strokeDash=[6, 4])
        .encode(y="value:Q", color=alt.Color("line:N", legend=alt.Legend(title=None)), tooltip=["line", "value"])
    )
    st.altair_chart(dots + rules, width="stretch")


def _confusion(report: reliability.ReliabilityReport) -> None:
    if not report.confusion:
        st.info("No rater pair shares a segment.")
        return
    names = [f"{c.rater_a} × {c.rater_b}" for c in report.confusion]
    _keep_valid("rel_confusion_pair", list(range(len(names))))
    pick = st.selectbox("Rater pair", range(len(names)), format_func=names.__getitem__, key="rel_confusion_pair")
    pair = report.confusion[pick]
    st.caption(
        f"{pair.n_units} shared segments; exact agreement {pair.exact:.0%}, within one point {pair.within_1:.0%}."
    )
    long = pair.counts.rename_axis(index="a", columns="b").melt(ignore_index=False, value_name="segments").reset_index()
    long["a"], long["b"] = long["a"].map(lambda v: f"{v:g}"), long["b"].map(lambda v: f"{v:g}")
    order = [f"{c:g}" for c in report.categories]
    base = alt.Chart(long).encode(
        x=alt.X("b:O", sort=order, title=pair.rater_b), y=alt.Y("a:O", sort=list(reversed(order)), title=pair.rater_a)
    )
    heat = base.mark_rect().encode(
        color=alt.Color("segments:Q", scale=alt.Scale(scheme="blues")), tooltip=["a", "b", "segments"]
    )
    labels = base.mark_text().encode(text="segments:Q")
    st.altair_chart(heat + labels, width="stretch")


def _drift(report: reliability.ReliabilityReport) -> None:
    drift = report.drift
    if drift.empty:
        st.info("No finished double-coded segments to follow over time.")
        return
    long = drift.melt(
        id_vars=["period", "n_segments"], value_vars=["exact", "within_1", "icc_a1"], var_name="statistic"
    ).dropna(subset=["value"])
    if long.empty:
        st.info(
            "No agreement over time: in every period the segments were scored by different rater pairs. "
            "The Raters tab follows each rater against master and consensus scores instead."
        )
        return
    long["statistic"] = long["statistic"].map(
        {"exact": "exact agreement", "within_1": "within one point", "icc_a1": "ICC(A,1)"}
    )
    chart = (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X("period:O", sort=list(drift["period"]), title=None),
            y=alt.Y("value:Q", title=None),
            color=alt.Color("statistic:N", legend=alt.Legend(title=None)),
            tooltip=["period", "statistic", "value", "n_segments"],
        )
    )
    st.altair_chart(chart, width="stretch")
    shown = drift.copy()
    for column in ("exact", "within_1", "icc_a1"):
        shown[column] = drift[column].map(
            lambda v: (
                "n/a: not computable for this period (the same raters must share segments)"
                if pd.isna(v)
                else f"{v:.3f}"
            )
        )
    st.dataframe(shown, hide_index=True, width="stretch")


# ---------------------------------------------------------------- certification page


def certification_page() -> None:
    st.title("Rater certification")
    common.show_flashes()
    key = common.pick_study()
    if not key:
        return
    tab_sets, tab_new = st.tabs(["Sets, trainees and results", "New calibration set"])
    with tab_sets:
        _sets_view(key)
    with tab_new:
        _new_set(key)


def _criterion_text(c: reliability.Criterion) -> str:
    text = f"ICC(A,1) ≥ {c.min_icc_a1:.2f} and ≥ {c.min_within_1:.0%} within one point"
    return text + (f" and ≥ {c.min_exact:.0%} exact" if c.min_exact is not None else "")


def _sets_view(key: str) -> None:
    sets = common.call(reliability.list_calibration_sets, _actor(), key)
    if not sets:
        st.info("No calibration set in this study yet: make one under 'New calibration set'.")
        return
    by_name = {s.name: s for s in sets}
    if st.session_state.get("cert_set_created") in by_name:
        st.session_state["cert_set"] = st.session_state.pop("cert_set_created")
    _keep_valid("cert_set", list(by_name))
    name = st.selectbox("Calibration set", list(by_name), key="cert_set")
    info = by_name[name]
    master = f"copied from {info.master_rater}" if info.master_rater else "entered by a researcher"
    st.markdown(
        f"{info.n_segments} segments · dimensions: {', '.join(info.dimensions)} · master scores {master}  \n"
        f"Pass: {_criterion_text(info.criterion)} on every dimension."
    )
    if info.trainees:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "rater": t.rater,
                        "finished": f"{t.n_done} of {t.n_total}",
                        "last check": t.checked_at,
                        "result": "—" if t.passed is None else ("pass" if t.passed else "fail"),
                    }
                    for t in info.trainees
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    raters = [r.username for r in common.call(accounts.list_users, _actor(), "rater") or []]
    enrolled = [t.rater for t in info.trainees]
    with st.form("cert_assign"):
        chosen = st.multiselect(
            "Assign trainees (the segments join their queue; they rate them blind)",
            [r for r in raters if r not in enrolled and r != info.master_rater],
        )
        if st.form_submit_button("Assign") and chosen:
            made = common.call(reliability.assign_trainees, _actor(), info.id, chosen)
            if made is not None:
                common.flash(", ".join(f"{r}: {n} segment(s)" for r, n in made.items()) + " assigned.")
                st.rerun()
    if not enrolled:
        return
    _keep_valid("cert_trainee", enrolled)
    who = st.selectbox("Trainee", enrolled, key="cert_trainee")
    st.button("Check certification", type="primary", on_click=_check, args=(info.id, who))
    report = st.session_state.get("cert_report")
    if report is not None and (report.set_name, report.rater) == (info.name, who):
        _render_certification(report)


def _check(set_id: int, rater: str) -> None:
    """Runs before the page is drawn, so the trainee table above shows the new result."""
    st.session_state.pop("cert_report", None)
    try:
        with common.db() as session:
            st.session_state["cert_report"] = reliability.certification_report(session, _actor(), set_id, rater)
    except ServiceError as exc:
        common.flash(str(exc), "error")


def _render_certification(report: reliability.CertificationReport) -> None:
    verdict = "passes" if report.passed else "does not pass"
    (st.success if report.passed else st.error)(
        f"{report.rater} {verdict} {report.set_name} ({_criterion_text(report.criterion)} on every dimension)."
    )
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "dimension": r.dimension,
                    "ICC(A,1)": r.icc_a1,
                    "95% CI": f"{_num(r.ci95[0], 2)} to {_num(r.ci95[1], 2)}",
                    "exact": f"{r.pct_exact:.0%}",
                    "within one point": f"{r.pct_within_1:.0%}",
                    "segments": r.n_segments,
                    "result": "pass" if r.passed else "fail",
                }
                for r in report.results
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    for r in report.results:
        if r.note:
            st.warning(f"{r.dimension}: {r.note} This dimension cannot pass until the ICC can be computed.")


def _new_set(key: str) -> None:
    candidates = common.call(reliability.calibration_candidates, _actor(), key) or []
    opts = common.call(reliability.reliability_options, _actor(), key)
    if not candidates or opts is None:
        st.info("No ready assessment films in this study yet.")
        return
    by_id = {c.segment_id: c for c in candidates}

    def label(sid: int) -> str:
        c = by_id[sid]
        done = f" · done by {', '.join(c.done_by)}" if c.done_by else ""
        return f"{c.label} ({common.fmt_time(c.start_s)}–{common.fmt_time(c.end_s)}){done}"

    name = st.text_input("Name of the set", placeholder="Calibration 2026-03", key="cert_name")
    picked = st.multiselect(
        "Segments (ten or more give a usable ICC)", list(by_id), format_func=label, key="cert_segments"
    )
    source = st.radio(
        "Master scores",
        ["rater", "entered"],
        horizontal=True,
        key="cert_source",
        format_func={"rater": "copy from a master rater's finished ratings", "entered": "enter them"}.get,
    )
    master_rater = scores = None
    if source == "rater":
        finished_all = sorted(set.intersection(*(set(by_id[s].done_by) for s in picked))) if picked else []
        if picked and not finished_all:
            st.warning("No rater has finished all the chosen segments; enter the master scores instead.")
        _keep_valid("cert_master", finished_all)
        # An empty list would draw a disabled, faded box (below AA contrast) that offers nothing.
        if finished_all:
            master_rater = st.selectbox("Master rater", finished_all, key="cert_master")
        elif not picked:
            st.caption("Choose the segments first; the raters who finished all of them are offered here.")
    elif picked:
        table = pd.DataFrame(
            {"segment": [by_id[s].label for s in picked]} | {d.name: [None] * len(picked) for d in opts.dimensions}
        )
        edited = st.data_editor(
            table,
            hide_index=True,
            key=f"cert_scores_{'_'.join(map(str, picked))}",
            disabled=["segment"],
            column_config={
                d.name: st.column_config.NumberColumn(d.label, min_value=d.min, max_value=d.max, step=d.step)
                for d in opts.dimensions
            },
        )
        scores = {
            sid: {
                d.name: (None if pd.isna(edited.iloc[i][d.name]) else float(edited.iloc[i][d.name]))
                for d in opts.dimensions
            }
            for i, sid in enumerate(picked)
        }
        scores = {sid: {d: v for d, v in row.items() if v is not None} for sid, row in scores.items()}
    c1, c2, c3 = st.columns(3)
    min_icc = c1.number_input(
        "Minimum ICC(A,1)", min_value=-1.0, max_value=1.0, value=0.70, step=0.05, key="cert_min_icc"
    )
    min_within = c2.number_input("Minimum % within one point", 0, 100, 80, step=5, key="cert_min_within")
    min_exact = c3.number_input("Minimum % exact (optional)", 0, 100, value=None, step=5, key="cert_min_exact")
    if st.button(
        "Create calibration set",
        type="primary",
        disabled=not (name and picked) or (source == "rater" and not master_rater),
    ):
        made = common.call(
            reliability.create_calibration_set,
            _actor(),
            key,
            name,
            picked,
            master_rater=master_rater if source == "rater" else None,
            master_scores=scores if source == "entered" else None,
            criterion=reliability.Criterion(
                min_icc_a1=float(min_icc),
                min_within_1=min_within / 100,
                min_exact=None if min_exact is None else min_exact / 100,
            ),
        )
        if made is not None:
            common.flash(f"Calibration set {made.name} created with {made.n_segments} segments.")
            st.session_state["cert_set_created"] = made.name
            st.rerun()
