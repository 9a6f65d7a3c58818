"""Long table -> outcome-table dict: published figures, reference libraries, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats as sps

from annotate.reports.arms import ArmsTableError, arms_json, arms_summary, arms_summary_from_csv
from annotate.stats.effects import EffectsInputError


def summary_json(frame, **options):
    """The JSON ``annotate stats arms --json`` prints for a long frame."""
    return arms_json(arms_summary(frame, **options))


def summary_json_csv(path, **options):
    return arms_json(arms_summary_from_csv(path, **options))


def vipp_like() -> pd.DataFrame:
    """34 randomised (20 VIPP-PMH, 14 usual care); at month 5, 9/17 vs 3/11 score >= 5."""
    rows = []
    rng = np.random.default_rng(5)
    month5 = {"VIPP-PMH": [6] * 9 + [3] * 8 + [None] * 3, "usual care": [5] * 3 + [2] * 8 + [None] * 3}
    for arm, scores in month5.items():
        for i, m5 in enumerate(scores):
            pid = f"{arm[:1]}{i:02d}"
            rows.append((pid, arm, "baseline", int(rng.integers(2, 7))))
            if m5 is not None:  # missing follow-up: no row at all
                rows.append((pid, arm, "month 5", m5))
    return pd.DataFrame(rows, columns=["participant", "arm", "timepoint", "score"])


def test_vipp_pmh_month_5_risk_ratio_from_a_long_table():
    out = summary_json(vipp_like(), threshold=5)
    (comparison,) = out["comparisons"]
    t = comparison["threshold"]
    assert comparison["timepoint"] == "month 5"
    assert (comparison["treatment"], comparison["control"]) == ("VIPP-PMH", "usual care")
    assert (t["treatment_events"], t["treatment_n"], t["control_events"], t["control_n"]) == (9, 17, 3, 11)
    assert round(t["risk_ratio"]["value"], 2) == 1.94
    assert [round(v, 2) for v in t["risk_ratio"]["ci95"]] == [0.67, 5.63]
    assert t["risk_difference"]["value"] == pytest.approx(9 / 17 - 3 / 11)
    assert t["value"] == 5.0


def test_output_shape_and_json_safety():
    out = summary_json(vipp_like(), threshold=5)
    json.dumps(out, allow_nan=False)
    assert set(out) == {"descriptives", "comparisons", "within_arm"}
    assert set(out["descriptives"][0]) == {"arm", "timepoint", "n", "mean", "sd", "median", "q1", "q3", "min", "max"}
    c = out["comparisons"][0]
    assert set(c) == {
        "timepoint",
        "treatment",
        "control",
        "n_treatment",
        "n_control",
        "mean_difference",
        "ancova",
        "hedges_g",
        "threshold",
    }
    assert set(c["ancova"]) == {"value", "ci95", "p", "n"}
    assert set(c["threshold"]) == {
        "value",
        "treatment_events",
        "treatment_n",
        "control_events",
        "control_n",
        "risk_ratio",
        "risk_difference",
    }
    assert set(out["within_arm"][0]) == {"arm", "from", "to", "n_pairs", "mean_change", "ci95", "p", "cohens_dz"}
    assert [(d["arm"], d["timepoint"], d["n"]) for d in out["descriptives"]] == [
        ("VIPP-PMH", "baseline", 20),
        ("VIPP-PMH", "month 5", 17),
        ("usual care", "baseline", 14),
        ("usual care", "month 5", 11),
    ]
    assert (c["n_treatment"], c["n_control"]) == (17, 11)


def trial_frame(with_covariates: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    rows = []
    for i in range(30):
        arm = "VIPP" if i % 2 == 0 else "care"
        base = float(rng.normal(5, 1.2))
        site = ["north", "south", "east"][i % 3]
        age = float(rng.normal(14, 4))
        rows.append((f"p{i}", arm, "Baseline", round(base, 2), site, round(age, 1)))
        for tp, gain in (("m5", 0.8), ("m8", 1.0)):
            post = base * 0.6 + 2 + (gain if arm == "VIPP" else 0) + float(rng.normal(0, 1))
            if (i, tp) in {(4, "m5"), (9, "m8"), (12, "m8")}:
                post = None  # blank cell = missing follow-up
            rows.append((f"p{i}", arm, tp, None if post is None else round(post, 2), "", ""))
    frame = pd.DataFrame(rows, columns=["participant", "arm", "timepoint", "score", "site", "age"])
    return frame if with_covariates else frame.drop(columns=["site", "age"])


def wide(frame: pd.DataFrame) -> pd.DataFrame:
    w = frame.pivot(index="participant", columns="timepoint", values="score").astype(float)
    w["treated"] = frame.groupby("participant")["arm"].first().eq("VIPP").astype(int)
    return w


def test_baseline_found_by_name_any_case_and_ancova_matches_statsmodels():
    frame = trial_frame()
    out = summary_json(frame)
    w = wide(frame)
    for comparison in out["comparisons"]:
        tp = comparison["timepoint"]
        ref = smf.ols(f"{tp} ~ treated + Baseline", data=w, missing="drop").fit()
        a = comparison["ancova"]
        assert a["n"] == int(ref.nobs)
        assert a["value"] == pytest.approx(ref.params["treated"])
        assert a["ci95"] == pytest.approx(list(ref.conf_int().loc["treated"]))
        assert a["p"] == pytest.approx(ref.pvalues["treated"])
    assert [c["timepoint"] for c in out["comparisons"]] == ["m5", "m8"]
    assert [c["ancova"]["n"] for c in out["comparisons"]] == [29, 28]


def test_covariates_from_the_baseline_row_numeric_and_categorical():
    frame = trial_frame(with_covariates=True)
    out = summary_json(frame, covariates=["age", "site"])
    w = wide(frame)
    baseline_rows = frame[frame["timepoint"] == "Baseline"].set_index("participant")
    w["age"] = baseline_rows["age"].astype(float)
    w["site"] = baseline_rows["site"].astype(pd.CategoricalDtype(["north", "south", "east"]))
    ref = smf.ols("m5 ~ treated + Baseline + age + C(site)", data=w, missing="drop").fit()
    a = out["comparisons"][0]["ancova"]
    assert a["value"] == pytest.approx(ref.params["treated"])
    assert a["p"] == pytest.approx(ref.pvalues["treated"])
    assert a["n"] == 29


def test_covariate_on_the_outcome_row_wins_over_baseline_row():
    frame = trial_frame(with_covariates=True)
    at_m5 = frame["timepoint"] == "m5"
    frame.loc[at_m5, "age"] = [str(20 + (i * 7) % 5) for i in range(int(at_m5.sum()))]
    out = summary_json(frame, covariates=["age"])
    w = wide(frame)
    w["age_m5"] = frame[at_m5].set_index("participant")["age"].astype(float)
    w["age_base"] = frame[frame["timepoint"] == "Baseline"].set_index("participant")["age"].astype(float)
    m5 = smf.ols("m5 ~ treated + Baseline + age_m5", data=w, missing="drop").fit()
    m8 = smf.ols("m8 ~ treated + Baseline + age_base", data=w, missing="drop").fit()  # m8 cells blank
    assert out["comparisons"][0]["ancova"]["value"] == pytest.approx(m5.params["treated"])
    assert out["comparisons"][1]["ancova"]["value"] == pytest.approx(m8.params["treated"])


def test_within_arm_matches_ttest_rel_with_missing_follow_up():
    frame = trial_frame()
    out = summary_json(frame)
    w = wide(frame)
    by_key = {(r["arm"], r["to"]): r for r in out["within_arm"]}
    assert list(by_key) == [("VIPP", "m5"), ("VIPP", "m8"), ("care", "m5"), ("care", "m8")]
    for (arm, tp), r in by_key.items():
        sub = w[w["treated"] == (arm == "VIPP")][["Baseline", tp]].dropna()
        ref = sps.ttest_rel(sub[tp], sub["Baseline"])
        assert r["from"] == "Baseline"
        assert r["n_pairs"] == len(sub)
        assert r["p"] == pytest.approx(ref.pvalue)
        assert r["ci95"] == pytest.approx(list(ref.confidence_interval()))
        diff = sub[tp] - sub["Baseline"]
        assert r["cohens_dz"] == pytest.approx(diff.mean() / diff.std(ddof=1))
    assert by_key[("VIPP", "m5")]["n_pairs"] == 14  # participant p4 has a blank month-5 score
    assert by_key[("VIPP", "m8")]["n_pairs"] == 14  # p12 blank at month 8 (p9 is in care)


def test_mean_difference_and_hedges_g_use_observed_scores():
    frame = trial_frame()
    out = summary_json(frame)
    w = wide(frame)
    c = out["comparisons"][0]
    x1, x2 = w.loc[w["treated"] == 1, "m5"].dropna(), w.loc[w["treated"] == 0, "m5"].dropna()
    ref = sps.ttest_ind(x1, x2, equal_var=False)
    assert (c["n_treatment"], c["n_control"]) == (14, 15)
    assert c["mean_difference"]["value"] == pytest.approx(x1.mean() - x2.mean())
    assert c["mean_difference"]["ci95"] == pytest.approx(list(ref.confidence_interval()))
    assert c["hedges_g"]["value"] > 0 and c["threshold"] is None


def test_without_baseline_every_time_point_is_compared_and_no_ancova():
    frame = trial_frame().replace({"timepoint": {"Baseline": "intake"}})
    out = summary_json(frame, threshold=6)
    assert [c["timepoint"] for c in out["comparisons"]] == ["intake", "m5", "m8"]
    assert all(c["ancova"] is None for c in out["comparisons"])
    assert out["within_arm"] == []
    named = summary_json(frame, baseline="intake")
    assert [c["timepoint"] for c in named["comparisons"]] == ["m5", "m8"]
    assert named["within_arm"][0]["from"] == "intake"


def test_single_arm_pre_post_study():
    rows = [
        (f"m{i}", "group", tp, s)
        for i, (a, b) in enumerate([(3, 5), (4, 4), (5, 7), (2, 4), (4, None)])
        for tp, s in (("pre", a), ("post", b))
    ]
    out = summary_json(pd.DataFrame(rows, columns=["participant", "arm", "timepoint", "score"]), baseline="pre")
    assert out["comparisons"] == []
    (change,) = out["within_arm"]
    assert (change["arm"], change["from"], change["to"], change["n_pairs"]) == ("group", "pre", "post", 4)
    assert change["mean_change"] == pytest.approx(1.5)
    assert [d["n"] for d in out["descriptives"]] == [5, 4]


def test_zero_cells_give_corrected_risk_ratio():
    rows = [(f"t{i}", "T", "m5", 3) for i in range(6)] + [(f"c{i}", "C", "m5", s) for i, s in enumerate([5, 6, 2, 2])]
    out = summary_json(pd.DataFrame(rows, columns=["participant", "arm", "timepoint", "score"]), threshold=5)
    t = out["comparisons"][0]["threshold"]
    assert (t["treatment_events"], t["control_events"]) == (0, 2)
    assert t["risk_ratio"]["value"] == pytest.approx((0.5 / 7) / (2.5 / 5))
    assert t["risk_difference"]["value"] == pytest.approx(-0.5)
    json.dumps(out, allow_nan=False)


def test_three_arms_need_named_treatment_and_control():
    frame = trial_frame()
    frame.loc[frame["participant"].isin(["p0", "p1", "p2"]), "arm"] = "waitlist"
    with pytest.raises(ArmsTableError, match="3 arms"):
        summary_json(frame)
    out = summary_json(frame, treatment="VIPP", control="waitlist")
    assert {(c["treatment"], c["control"]) for c in out["comparisons"]} == {("VIPP", "waitlist")}
    assert {r["arm"] for r in out["within_arm"]} == {"VIPP", "care", "waitlist"}


def test_control_alone_picks_the_other_arm_as_treatment():
    out = summary_json(trial_frame(), control="VIPP")
    assert (out["comparisons"][0]["treatment"], out["comparisons"][0]["control"]) == ("care", "VIPP")


def test_numeric_dataframe_as_a_database_would_build_it():
    frame = pd.DataFrame(
        {
            "pid": [1, 1, 2, 2, 3, 3, 4, 4],
            "group": ["A", "A", "A", "A", "B", "B", "B", "B"],
            "visit": [0, 6, 0, 6, 0, 6, 0, 6],
            "sens": [4.0, 6.0, 5.0, np.nan, 4.5, 5.0, 3.0, 4.0],
        }
    )
    out = summary_json(frame, participant="pid", arm="group", timepoint="visit", score="sens", baseline="0")
    assert out["comparisons"][0]["timepoint"] == "6"
    assert out["comparisons"][0]["ancova"]["n"] == 3
    assert out["within_arm"][0]["n_pairs"] == 1


def test_csv_file_round_trip(tmp_path):
    path = tmp_path / "scores.csv"
    vipp_like().to_csv(path, index=False)
    assert summary_json_csv(path, threshold=5) == summary_json(vipp_like(), threshold=5)


@pytest.mark.parametrize(
    ("change", "options", "message"),
    [
        (
            None,
            {"treatment": "VIPP-SD"},
            "unknown treatment arm 'VIPP-SD'; the arms in the table are VIPP-PMH, usual care",
        ),
        (None, {"control": "placebo"}, "unknown control arm 'placebo'"),
        (None, {"treatment": "usual care", "control": "usual care"}, "both 'usual care'"),
        (None, {"baseline": "month 2"}, "baseline time point 'month 2' is not in the table"),
        (None, {"covariates": ["age"]}, "no column 'age' for the covariate"),
        (None, {"score": "sensitivity"}, "no column 'sensitivity' for the score column"),
        (None, {"threshold": float("inf")}, "threshold must be a finite number"),
        ("two arms", {}, "participants appear in more than one arm: 'V00' (VIPP-PMH and usual care)"),
        ("text score", {}, "row 3 has 'high'"),
        ("duplicate", {}, "'V00' at 'baseline' (row 2 and row 64)"),
        ("blank arm", {}, "column 'arm' (arm) is blank: row 4"),
    ],
)
def test_bad_input_says_what_to_fix(change, options, message):
    frame = vipp_like().astype({"score": object})
    if change == "two arms":
        frame.loc[1, "arm"] = "usual care"
    elif change == "text score":
        frame.loc[1, "score"] = "high"
    elif change == "duplicate":
        frame = pd.concat([frame, frame.iloc[[0]]], ignore_index=True)
    elif change == "blank arm":
        frame.loc[2, "arm"] = " "
    with pytest.raises(ArmsTableError) as info:
        summary_json(frame, **options)
    assert message in str(info.value)
    assert isinstance(info.value, (ValueError, EffectsInputError))


def test_one_arm_cannot_be_compared_when_asked():
    frame = vipp_like()
    frame = frame[frame["arm"] == "VIPP-PMH"]
    with pytest.raises(ArmsTableError, match="only one arm"):
        summary_json(frame, control="VIPP-PMH")
    assert summary_json(frame)["comparisons"] == []


def test_covariates_need_a_baseline():
    frame = trial_frame(with_covariates=True).replace({"timepoint": {"Baseline": "intake"}})
    with pytest.raises(ArmsTableError, match="needs a baseline"):
        summary_json(frame, covariates=["age"])


def test_empty_and_unreadable_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ArmsTableError, match="is empty"):
        summary_json_csv(empty)
    header_only = tmp_path / "header.csv"
    header_only.write_text("participant,arm,timepoint,score\n")
    with pytest.raises(ArmsTableError, match="no rows"):
        summary_json_csv(header_only)
