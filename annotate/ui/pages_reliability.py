"""Researcher pages: inter-rater reliability of a study, and rater certification.

Thin: widgets -> one service -> render. Nothing here reads or shows arms or time points:
the services give blind segment labels only.
"""

from __future__ import annotations

import json

import altair as alt
import pandas as pd
import streamlit as st

from annotate.services import certification, reliability, users
from annotate.services.actor import Actor
from annotate.services.errors import ServiceError
from annotate.services.reliability import ReliabilityReport
from annotate.ui import common

KOO_LI_NOTE = (
    "Koo & Li (2016): below .50 poor, .50–.75 moderate, .75–.90 good, above .90 excellent; "
    "read by the 95% CI."
)
OTHER_STATISTICS = [
    ("Cohen's kappa (unweighted)", ("cohen_kappa", "unweighted")),
    ("Cohen's kappa (linear weights)", ("cohen_kappa", "linear")),
    ("Cohen's kappa (quadratic weights)", ("cohen_kappa", "quadratic")),
    ("Fleiss' kappa", ("fleiss_kappa",)),
    ("Krippendorff's alpha (interval)", ("krippendorff_alpha", "interval")),
    ("Krippendorff's alpha (ordinal)", ("krippendorff_alpha", "ordinal")),
    ("Gwet's AC1", ("gwet_ac1",)),
    ("Gwet's AC2 (linear weights)", ("gwet_ac2", "linear")),
    ("Gwet's AC2 (quadratic weights)", ("gwet_ac2", "quadratic")),
    ("Exact agreement", ("percent_agreement", "exact")),
    ("Agreement within one point", ("percent_agreement", "within_1")),
]


def _actor() -> Actor:
    return st.session_state["actor"]


def _keep_valid(key: str, options: list, default_index: int = 0) -> None:
    """A keyed selectbox keeps its old value when its options change (another study); reset it."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = options[default_index] if len(options) > default_index else None


def _num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _dig(summary: dict, path: tuple[str, ...]):
    value = summary
    for part in path:
        value = None if value is None else value.get(part)
    return value


# ---------------------------------------------------------------- reliability page


def reliability_page() -> None:
    st.title("Inter-rater reliability")
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
    dimension = left.selectbox("Dimension", list(labels), format_func=labels.get, key="rel_dimension")
    which = right.radio(
        "Segments", ["all", "pair", "period"], horizontal=True, key="rel_set",
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
        default = (opts.first_done.date(), opts.last_done.date()) if opts.first_done else ()
        period = st.date_input("Segments finished between", value=default, key="rel_period")
        if not isinstance(period, tuple) or len(period) != 2:
            st.info("Choose the first and the last day of the period.")
            return
        since, until = period
    with st.expander("Options"):
        boot = st.checkbox("Bootstrap 95% CIs for ICC and alpha (1,000 resamples of segments)", key="rel_boot")
        seed = st.number_input("Bootstrap seed", value=2026, step=1, key="rel_seed")
        drift_how = st.radio(
            "Agreement over time by", ["month", "block"], horizontal=True, key="rel_drift",
            format_func={"month": "calendar month", "block": "blocks of segments"}.get,
        )
        block = st.number_input("Segments per block", min_value=2, value=10, step=1, key="rel_block")
    report = common.call(
        reliability.reliability_report, _actor(), key, dimension=dimension, raters=raters, since=since,
        until=until, bootstrap=1000 if boot else 0, seed=int(seed) if boot else None,
        drift_by="month" if drift_how == "month" else int(block),
    )
    if report is not None:
        _render_report(report)


def _render_report(report: ReliabilityReport) -> None:
    s = report.summary
    cols = st.columns(3)
    cols[0].metric("Double-coded segments", s["n_units"])
    cols[1].metric("Raters", s["n_raters"])
    cols[2].metric("Ratings", s["n_ratings"])
    k = report.koo_li
    if k is None:
        st.warning(
            "ICC(A,1) cannot be computed here (it needs two or more segments scored by every rater in the set); "
            "choose a rater pair."
        )
    else:
        st.markdown(
            f"**ICC(A,1) = {k.value:.2f}** (95% CI {_num(k.ci95_low, 2)} to {_num(k.ci95_high, 2)}): "
            f"**{k.range_text}** reliability; the point estimate is {k.band}."
        )
        st.caption(KOO_LI_NOTE)
    st.subheader("Intraclass correlations")
    boot = (s.get("bootstrap") or {}).get("icc", {})
    rows = []
    for form, r in s["icc"].items():
        if r is None:
            continue
        row = {
            "ICC": form, "McGraw & Wong": r["mcgraw_wong"], "value": r["value"],
            "95% CI": f"{_num(r['ci95'][0])} to {_num(r['ci95'][1])}",
            "F": r["F"], "df1": r["df1"], "df2": r["df2"],
            "p": "n/a" if r["p"] is None else ("< 0.001" if r["p"] < 0.001 else f"{r['p']:.3f}"),
            "segments": r["n_units"],
        }
        if form in boot:
            row["bootstrap 95% CI"] = f"{_num(boot[form][0])} to {_num(boot[form][1])}"
        rows.append(row)
    if rows:
        st.dataframe(
            pd.DataFrame(rows), hide_index=True, width="stretch",
            column_config={"value": st.column_config.NumberColumn(format="%.3f"),
                           "F": st.column_config.NumberColumn(format="%.2f")},
        )
    else:
        st.info("No ICC: too few segments scored by every rater in the set.")
    st.subheader("Agreement coefficients")
    st.dataframe(
        pd.DataFrame([{"statistic": name, "value": _dig(s, path)} for name, path in OTHER_STATISTICS]),
        hide_index=True, width="stretch", height="content",
        column_config={"value": st.column_config.NumberColumn(format="%.3f")},
    )
    scale = ", ".join(f"{c:g}" for c in report.categories)
    st.caption(f"Scale used for every statistic: {scale} (all points, used or not). Level: {report.level}.")
    tab_ba, tab_conf, tab_drift, tab_data = st.tabs(["Bland–Altman", "Confusion", "Over time", "Ratings"])
    with tab_ba:
        _bland_altman(report)
    with tab_conf:
        _confusion(report)
    with tab_drift:
        _drift(report)
    with tab_data:
        st.dataframe(report.ratings, hide_index=True, width="stretch")
        st.download_button(
            "Download statistics (JSON)", json.dumps(s, indent=2, allow_nan=False),
            file_name=f"{report.study_key}_{report.dimension}_reliability.json", mime="application/json",
        )


def _bland_altman(report: ReliabilityReport) -> None:
    ba = report.bland_altman
    if ba is None:
        st.info("Bland–Altman needs a rater pair with at least two shared segments.")
        return
    st.markdown(
        f"**{ba.rater_a} − {ba.rater_b}** over {ba.n_units} segments: mean difference "
        f"{ba.mean_difference:.2f} (95% CI {ba.mean_difference_ci95[0]:.2f} to {ba.mean_difference_ci95[1]:.2f}), "
        f"limits of agreement {ba.lower_limit:.2f} to {ba.upper_limit:.2f}."
    )
    points = ba.pairs.groupby(["mean", "difference"], as_index=False).size().rename(columns={"size": "segments"})
    lines = pd.DataFrame(
        {"value": [ba.lower_limit, ba.mean_difference, ba.upper_limit],
         "line": ["lower limit", "mean difference", "upper limit"]}
    )
    dots = alt.Chart(points).mark_circle(opacity=0.7).encode(
        x=alt.X("mean:Q", title=f"mean of {ba.rater_a} and {ba.rater_b}", scale=alt.Scale(zero=False)),
        y=alt.Y("difference:Q", title=f"{ba.rater_a} − {ba.rater_b}"),
        size=alt.Size("segments:Q", legend=alt.Legend(title="segments", format="d", tickMinStep=1)),
        tooltip=["mean", "difference", "segments"],
    )
    rules = alt.Chart(lines).mark_rule(strokeDash=[6, 4]).encode(
        y="value:Q", color=alt.Color("line:N", legend=alt.Legend(title=None)), tooltip=["line", "value"]
    )
    st.altair_chart(dots + rules, width="stretch")


def _confusion(report: ReliabilityReport) -> None:
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
    long = pair.counts.rename_axis(index="a", columns="b").stack().reset_index(name="segments")
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


def _drift(report: ReliabilityReport) -> None:
    drift = report.drift
    if drift.empty:
        st.info("No finished double-coded segments to follow over time.")
        return
    long = drift.melt(
        id_vars=["period", "n_segments"], value_vars=["exact", "within_1", "icc_a1"], var_name="statistic"
    ).dropna(subset=["value"])
    long["statistic"] = long["statistic"].map(
        {"exact": "exact agreement", "within_1": "within one point", "icc_a1": "ICC(A,1)"}
    )
    chart = alt.Chart(long).mark_line(point=True).encode(
        x=alt.X("period:O", sort=list(drift["period"]), title=None),
        y=alt.Y("value:Q", title=None),
        color=alt.Color("statistic:N", legend=alt.Legend(title=None)),
        tooltip=["period", "statistic", "value", "n_segments"],
    )
    st.altair_chart(chart, width="stretch")
    st.dataframe(drift, hide_index=True, width="stretch")


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


def _criterion_text(c: certification.Criterion) -> str:
    text = f"ICC(A,1) ≥ {c.min_icc_a1:.2f} and ≥ {c.min_within_1:.0%} within one point"
    return text + (f" and ≥ {c.min_exact:.0%} exact" if c.min_exact is not None else "")


def _sets_view(key: str) -> None:
    sets = common.call(certification.list_calibration_sets, _actor(), key)
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
                    {"rater": t.rater, "finished": f"{t.n_done} of {t.n_total}", "last check": t.checked_at,
                     "result": "—" if t.passed is None else ("pass" if t.passed else "fail")}
                    for t in info.trainees
                ]
            ),
            hide_index=True, width="stretch",
        )
    raters = [r.username for r in common.call(users.list_users, _actor(), "rater") or []]
    enrolled = [t.rater for t in info.trainees]
    with st.form("cert_assign"):
        chosen = st.multiselect(
            "Assign trainees (the segments join their queue; they rate them blind)",
            [r for r in raters if r not in enrolled and r != info.master_rater],
        )
        if st.form_submit_button("Assign") and chosen:
            made = common.call(certification.assign_trainees, _actor(), info.id, chosen)
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
            st.session_state["cert_report"] = certification.certification_report(session, _actor(), set_id, rater)
    except ServiceError as exc:
        common.flash(str(exc), "error")


def _render_certification(report: certification.CertificationReport) -> None:
    verdict = "passes" if report.passed else "does not pass"
    (st.success if report.passed else st.error)(
        f"{report.rater} {verdict} {report.set_name} ({_criterion_text(report.criterion)} on every dimension)."
    )
    st.dataframe(
        pd.DataFrame(
            [
                {"dimension": r.dimension, "ICC(A,1)": r.icc_a1,
                 "95% CI": f"{_num(r.ci95[0], 2)} to {_num(r.ci95[1], 2)}",
                 "exact": f"{r.pct_exact:.0%}", "within one point": f"{r.pct_within_1:.0%}",
                 "segments": r.n_segments, "result": "pass" if r.passed else "fail"}
                for r in report.results
            ]
        ),
        hide_index=True, width="stretch",
    )


def _new_set(key: str) -> None:
    candidates = common.call(certification.calibration_candidates, _actor(), key) or []
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
    picked = st.multiselect("Segments (ten or more give a usable ICC)", list(by_id), format_func=label, key="cert_segments")
    source = st.radio(
        "Master scores", ["rater", "entered"], horizontal=True, key="cert_source",
        format_func={"rater": "copy from a master rater's finished ratings", "entered": "enter them"}.get,
    )
    master_rater = scores = None
    if source == "rater":
        finished_all = sorted(set.intersection(*(set(by_id[s].done_by) for s in picked))) if picked else []
        if picked and not finished_all:
            st.warning("No rater has finished all the chosen segments; enter the master scores instead.")
        _keep_valid("cert_master", finished_all)
        master_rater = st.selectbox("Master rater", finished_all, key="cert_master")
    elif picked:
        table = pd.DataFrame({"segment": [by_id[s].label for s in picked]} | {d.name: [None] * len(picked) for d in opts.dimensions})
        edited = st.data_editor(
            table, hide_index=True, key=f"cert_scores_{'_'.join(map(str, picked))}", disabled=["segment"],
            column_config={
                d.name: st.column_config.NumberColumn(d.label, min_value=d.min, max_value=d.max, step=d.step)
                for d in opts.dimensions
            },
        )
        scores = {
            sid: {d.name: (None if pd.isna(edited.iloc[i][d.name]) else float(edited.iloc[i][d.name]))
                  for d in opts.dimensions}
            for i, sid in enumerate(picked)
        }
        scores = {sid: {d: v for d, v in row.items() if v is not None} for sid, row in scores.items()}
    c1, c2, c3 = st.columns(3)
    min_icc = c1.number_input("Minimum ICC(A,1)", min_value=-1.0, max_value=1.0, value=0.70, step=0.05, key="cert_min_icc")
    min_within = c2.number_input("Minimum % within one point", 0, 100, 80, step=5, key="cert_min_within")
    min_exact = c3.number_input("Minimum % exact (optional)", 0, 100, value=None, step=5, key="cert_min_exact")
    if st.button("Create calibration set", type="primary", disabled=not (name and picked) or (source == "rater" and not master_rater)):
        made = common.call(
            certification.create_calibration_set, _actor(), key, name, picked,
            master_rater=master_rater if source == "rater" else None,
            master_scores=scores if source == "entered" else None,
            criterion=certification.Criterion(
                min_icc_a1=float(min_icc), min_within_1=min_within / 100,
                min_exact=None if min_exact is None else min_exact / 100,
            ),
        )
        if made is not None:
            common.flash(f"Calibration set {made.name} created with {made.n_segments} segments.")
            st.session_state["cert_set_created"] = made.name
            st.rerun()

