"""The long table -> reliability dict use case (CSV parsing, levels, nulls, bootstrap)."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from annotate.reports.reliability import (
    ReliabilityTableError,
    parse_categories,
    reliability_from_csv,
    reliability_from_frame,
    reliability_json,
)
from annotate.stats.reliability import ReliabilityInputError


def summary_of(frame, **options):
    """The JSON of the reliability table of a long frame (what `annotate stats reliability --json` prints)."""
    return reliability_json(reliability_from_frame(frame, **options))


def summary_from_csv(path, **options):
    return reliability_json(reliability_from_csv(path, **options))


KEYS = {
    "n_units",
    "n_raters",
    "n_ratings",
    "icc",
    "cohen_kappa",
    "fleiss_kappa",
    "krippendorff_alpha",
    "gwet_ac1",
    "gwet_ac2",
    "percent_agreement",
}


def long_frame(rows):
    return pd.DataFrame(rows, columns=["unit", "rater", "score"])


THREE_RATERS = long_frame(
    [
        (u, r, s)
        for u, scores in enumerate([[1, 2, 2], [3, 3, 3], [5, 4, 5], [2, 2, 1], [4, 4, 4]])
        for r, s in zip("abc", scores, strict=False)
    ]
)


def test_three_raters_numeric_has_every_key_and_cohen_is_null():
    out = summary_of(THREE_RATERS, categories=[1, 2, 3, 4, 5])
    assert out.keys() >= KEYS
    assert (out["n_units"], out["n_raters"], out["n_ratings"]) == (5, 3, 15)
    assert out["cohen_kappa"] == {"unweighted": None, "linear": None, "quadratic": None}
    assert set(out["icc"]) == {"ICC(1,1)", "ICC(2,1)", "ICC(3,1)", "ICC(1,k)", "ICC(2,k)", "ICC(3,k)"}
    icc = out["icc"]["ICC(2,1)"]
    assert set(icc) >= {"value", "ci95", "F", "df1", "df2", "p", "n_units"}
    assert icc["ci95"][0] < icc["value"] < icc["ci95"][1]
    assert out["percent_agreement"] == {"exact": 0.4, "within_1": 1.0}
    assert out["bland_altman"] is None
    json.dumps(out, allow_nan=False)


def test_string_codes_make_numeric_statistics_null():
    frame = long_frame(
        [(1, "a", "yes"), (1, "b", "yes"), (2, "a", "no"), (2, "b", "yes"), (3, "a", "no"), (3, "b", "no")]
    )
    out = summary_of(frame)
    assert out["icc"]["ICC(1,1)"] is None
    assert out["krippendorff_alpha"]["interval"] is None and out["krippendorff_alpha"]["nominal"] is not None
    assert out["cohen_kappa"]["unweighted"] == pytest.approx(0.4)
    assert out["cohen_kappa"]["linear"] is None
    assert out["gwet_ac2"] == {"linear": None, "quadratic": None}
    assert out["percent_agreement"]["within_1"] is None


def test_level_nominal_nulls_higher_level_statistics_and_interval_rejects_text():
    out = summary_of(THREE_RATERS, level="nominal")
    assert out["krippendorff_alpha"]["ordinal"] is None and out["icc"]["ICC(3,1)"] is None
    text = long_frame([(1, "a", "x"), (1, "b", "y")])
    with pytest.raises(ReliabilityTableError, match="needs numeric"):
        summary_of(text, level="interval")


def test_csv_with_empty_scores_custom_columns_and_declared_scale(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text("film,coder,sens\nf1,ann,3\nf1,bob,4\nf2,ann,\nf2,bob,5\nf3,ann,7\nf3,bob,7\n")
    out = summary_from_csv(
        path, unit="film", rater="coder", score="sens", categories=parse_categories("1,2,3,4,5,6,7,8,9")
    )
    assert (out["n_units"], out["n_ratings"]) == (3, 5)
    assert out["categories"] == list(range(1, 10))
    assert out["icc"]["ICC(2,1)"]["n_units"] == 2
    assert out["bland_altman"]["rater_a"] == "ann"


def test_bootstrap_block(tmp_path):
    out = summary_of(THREE_RATERS, bootstrap=1000, seed=5)
    boot = out["bootstrap"]
    assert (boot["n_resamples"], boot["seed"]) == (1000, 5)
    assert set(boot["krippendorff_alpha"]) == {"nominal", "ordinal", "interval", "ratio"}
    low, high = boot["icc"]["ICC(2,1)"]
    assert low <= high and all(math.isfinite(x) for x in (low, high))
    assert summary_of(THREE_RATERS, bootstrap=1000, seed=5) == out


@pytest.mark.parametrize(
    ("frame", "options", "message"),
    [
        (THREE_RATERS, {"unit": "film"}, "column\\(s\\) \\['film'\\] not found"),
        (long_frame([]), {}, "no rows"),
        (THREE_RATERS, {"categories": [1, 2, 3]}, "not on the declared scale"),
        (THREE_RATERS, {"level": "fuzzy"}, "unknown level"),
        (THREE_RATERS, {"bootstrap": 10}, "at least 1000"),
    ],
)
def test_bad_tables_raise_input_errors(frame, options, message):
    with pytest.raises(ReliabilityInputError, match=message):
        summary_of(frame, **options)


def test_parse_categories_rejects_empty_entries():
    with pytest.raises(ReliabilityTableError, match="empty entry"):
        parse_categories("1,,3")


# ---------------------------------------------------------------- the design actually run (issue 14)

# each unit scored by 2 of 3 raters (different pairs): no unit has every rater
TWO_OF_THREE = long_frame(
    [
        (1, "A", 4), (1, "B", 5), (2, "A", 2), (2, "C", 2), (3, "B", 6), (3, "C", 7), (4, "A", 3), (4, "B", 4),
        (5, "B", 5), (5, "C", 5), (6, "A", 1), (6, "C", 2), (7, "A", 6), (7, "B", 6), (8, "B", 3), (8, "C", 2),
    ]
)  # fmt: skip


def test_two_of_three_raters_gives_the_design_statistics_where_complete_case_is_null():
    out = summary_of(TWO_OF_THREE, categories=range(1, 8))
    json.dumps(out, allow_nan=False)
    assert all(out["icc"][form] is None for form in out["icc"])  # the complete-case statistics stay as they were
    assert out["design"] == {
        "complete": False,
        "n_units_multi": 8,
        "ratings_per_unit": {"min": 2, "max": 2, "mean": 2.0},
        "n_rater_pairs": 3,
        "cluster": None,
        "n_clusters": None,
    }
    one = out["icc_oneway"]["ICC(1)"]
    # one-way ANOVA by hand: balanced k = 2, so ICC(1) = (MSB - MSW) / (MSB + MSW) (Shrout & Fleiss Case 1)
    scores = TWO_OF_THREE.groupby("unit")["score"]
    msw = ((TWO_OF_THREE["score"] - scores.transform("mean")) ** 2).sum() / 8
    msb = 2 * ((scores.mean() - TWO_OF_THREE["score"].mean()) ** 2).sum() / 7
    assert one["value"] == pytest.approx((msb - msw) / (msb + msw))
    assert (one["df1"], one["df2"], one["k0"]) == (7, 8, 2.0) and one["F"] == pytest.approx(msb / msw)
    assert one["ci95"][0] < one["value"] < one["ci95"][1]
    assert out["icc_oneway"]["ICC(1,k)"]["value"] == pytest.approx((msb - msw) / msb)
    inc = out["icc_incomplete"]
    assert set(inc) == {"ICC(A,1)", "ICC(C,1)", "ICC(A,k)", "ICC(C,k)"} and inc["ICC(A,k)"]["k"] == 2.0
    assert inc["ICC(A,1)"]["value"] <= inc["ICC(C,1)"]["value"]
    assert all(lo <= inc[f]["value"] <= hi for f in inc for lo, hi in [inc[f]["ci95"]])
    assert set(out["variance_components"]) == {"unit", "rater", "residual"}
    assert out["d_study"]["units"] == [1] and out["d_study"]["phi"][0][0] == pytest.approx(inc["ICC(A,1)"]["value"])
    assert out["pairwise"]["n_pairs"] == 8 and out["pairwise"]["agreement"]["exact"] == 3 / 8
    assert [r["rater"] for r in out["raters"]] == ["A", "B", "C"] and [r["n"] for r in out["raters"]] == [5, 6, 5]
    assert out["recommendation"]["key"] == "icc_incomplete.ICC(A,1)"
    assert out["recommendation"]["value"] == inc["ICC(A,1)"]["value"]
    assert out["monte_carlo"] == {"n_draws": 1000, "seed": 0, "method": "REML components, normal on log scale"}
    assert summary_of(TWO_OF_THREE, categories=range(1, 8)) == out  # seeded: the same numbers every run


def test_complete_design_recommends_the_complete_case_icc_and_agrees_with_it():
    # Shrout & Fleiss (1979) 6 targets x 4 judges: the ANOVA variance estimates are non-negative
    sf = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    out = summary_of(long_frame([(i, j, x) for i, row in enumerate(sf) for j, x in enumerate(row)]), level="interval")
    assert out["design"]["complete"] is True
    assert round(out["icc"]["ICC(2,1)"]["value"], 2) == 0.29 and round(out["icc"]["ICC(3,k)"]["value"], 2) == 0.91
    assert out["recommendation"]["key"] == "icc.ICC(2,1)"
    # Shrout & Fleiss forms equal the one-way / REML forms on a complete design
    assert out["icc_oneway"]["ICC(1)"]["value"] == pytest.approx(out["icc"]["ICC(1,1)"]["value"])
    assert out["icc_oneway"]["ICC(1)"]["ci95"] == pytest.approx(out["icc"]["ICC(1,1)"]["ci95"])
    assert out["icc_incomplete"]["ICC(A,1)"]["value"] == pytest.approx(out["icc"]["ICC(2,1)"]["value"], abs=1e-6)
    assert out["icc_incomplete"]["ICC(C,k)"]["value"] == pytest.approx(out["icc"]["ICC(3,k)"]["value"], abs=1e-6)


def test_cluster_nests_the_g_study_and_falls_back_when_films_hold_one_segment():
    frame = TWO_OF_THREE.assign(film=[f"F{(u - 1) // 2}" for u in TWO_OF_THREE["unit"]])
    out = summary_of(frame, categories=range(1, 8), cluster="film", d_raters=[1, 2], d_units=[1, 3])
    assert set(out["variance_components"]) == {"unit", "rater", "residual", "cluster"}
    assert out["d_study"]["raters"] == [1, 2] and out["d_study"]["units"] == [1, 3]
    assert len(out["d_study"]["phi"]) == 2 and len(out["d_study"]["phi"][0]) == 2
    assert out["design"]["cluster"] == "film" and out["design"]["n_clusters"] == 4
    assert "Phi" in out["recommendation"]["reason"]
    single = summary_of(TWO_OF_THREE.assign(film=TWO_OF_THREE["unit"]), categories=range(1, 8), cluster="film")
    assert "cluster" not in single["variance_components"] and single["d_study"]["units"] == [1]
    assert "films ignored" in single["design_notes"]["variance_components"]
    assert single["icc_incomplete"] == summary_of(TWO_OF_THREE, categories=range(1, 8))["icc_incomplete"]


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (TWO_OF_THREE.assign(film=["F1"] * 15 + [None]), "has a score but no cluster"),
        (TWO_OF_THREE.assign(film=["F1", "F2"] * 8), "clusters"),
    ],
)
def test_bad_cluster_columns_say_what_to_fix(frame, message):
    with pytest.raises(ReliabilityInputError, match=message):
        summary_of(frame, categories=range(1, 8), cluster="film")
    with pytest.raises(ReliabilityInputError, match="cluster column 'family' not found"):
        summary_of(frame, cluster="family")


def test_adversarial_ids_and_text_scores_keep_the_report_whole():
    ids = ['a,"b"\r\n', "tab\there", "\U0001f3a5 film", "x" * 10_000]
    frame = long_frame([(u, r, (u + k) % 4 + 1) for u in range(6) for k, r in enumerate(ids[u % 2 : u % 2 + 2])])
    out = summary_of(frame, categories=[1, 2, 3, 4])
    json.dumps(out, allow_nan=False)
    assert {r["rater"] for r in out["raters"]} == set(ids[:3])
    text = summary_of(long_frame([(1, "a", "yes"), (1, "b", "no"), (2, "a", "no"), (2, "c", "no")]))
    assert text["design"] is None and "text codes" in text["design_notes"]["design"]
    assert text["recommendation"]["key"] == "krippendorff_alpha.nominal"


def test_nominal_level_keeps_unweighted_pairwise_and_nulls_the_iccs():
    out = summary_of(TWO_OF_THREE, categories=range(1, 8), level="nominal")
    assert out["icc_oneway"] is None and out["icc_incomplete"] is None and out["d_study"] is None
    assert "interval" in out["design_notes"]["icc_oneway"]
    assert out["pairwise"]["cohen_kappa"]["unweighted"] is not None
    assert out["pairwise"]["cohen_kappa"]["quadratic"] is None and out["pairwise"]["agreement"]["within_1"] is None
    assert out["recommendation"]["key"] == "krippendorff_alpha.nominal"


def test_rows_and_text_say_why_a_statistic_is_missing():
    from annotate.reports.reliability import design_rows, reliability_rows, reliability_text

    table = reliability_from_frame(TWO_OF_THREE, categories=range(1, 8))
    rows = {r.statistic: r for r in reliability_rows(table)}
    assert rows["Cohen's kappa (unweighted)"].value is None
    assert "two raters" in rows["Cohen's kappa (unweighted)"].why_missing
    assert rows["Fleiss' kappa"].why_missing is None
    assert all(r.value is not None or r.why_missing for r in design_rows(table))
    text = reliability_text(table)
    assert "ICC(A,1), incomplete design" in text and "report: ICC(A,1)" in text and "rater severity" in text
    skipped = reliability_from_frame(TWO_OF_THREE, categories=range(1, 8), design=False)
    assert skipped.design is None and reliability_json(skipped)["design"] is None
