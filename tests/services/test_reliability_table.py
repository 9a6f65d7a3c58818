"""The long table -> reliability dict use case (CSV parsing, levels, nulls, bootstrap)."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from annotate.services.reliability_table import (
    ReliabilityTableError,
    parse_categories,
    reliability_from_csv,
    reliability_summary,
)
from annotate.stats.reliability import ReliabilityInputError

KEYS = {
    "n_units", "n_raters", "n_ratings", "icc", "cohen_kappa", "fleiss_kappa",
    "krippendorff_alpha", "gwet_ac1", "gwet_ac2", "percent_agreement",
}


def long_frame(rows):
    return pd.DataFrame(rows, columns=["unit", "rater", "score"])


THREE_RATERS = long_frame(
    [(u, r, s) for u, scores in enumerate([[1, 2, 2], [3, 3, 3], [5, 4, 5], [2, 2, 1], [4, 4, 4]])
     for r, s in zip("abc", scores)]
)


def test_three_raters_numeric_has_every_key_and_cohen_is_null():
    out = reliability_summary(THREE_RATERS, categories=[1, 2, 3, 4, 5])
    assert KEYS <= out.keys()
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
    frame = long_frame([(1, "a", "yes"), (1, "b", "yes"), (2, "a", "no"), (2, "b", "yes"),
                        (3, "a", "no"), (3, "b", "no")])
    out = reliability_summary(frame)
    assert out["icc"]["ICC(1,1)"] is None
    assert out["krippendorff_alpha"]["interval"] is None and out["krippendorff_alpha"]["nominal"] is not None
    assert out["cohen_kappa"]["unweighted"] == pytest.approx(0.4)
    assert out["cohen_kappa"]["linear"] is None
    assert out["gwet_ac2"] == {"linear": None, "quadratic": None}
    assert out["percent_agreement"]["within_1"] is None


def test_level_nominal_nulls_higher_level_statistics_and_interval_rejects_text():
    out = reliability_summary(THREE_RATERS, level="nominal")
    assert out["krippendorff_alpha"]["ordinal"] is None and out["icc"]["ICC(3,1)"] is None
    text = long_frame([(1, "a", "x"), (1, "b", "y")])
    with pytest.raises(ReliabilityTableError, match="needs numeric"):
        reliability_summary(text, level="interval")


def test_csv_with_empty_scores_custom_columns_and_declared_scale(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text("film,coder,sens\nf1,ann,3\nf1,bob,4\nf2,ann,\nf2,bob,5\nf3,ann,7\nf3,bob,7\n")
    out = reliability_from_csv(path, unit="film", rater="coder", score="sens",
                               categories=parse_categories("1,2,3,4,5,6,7,8,9"))
    assert (out["n_units"], out["n_ratings"]) == (3, 5)
    assert out["categories"] == list(range(1, 10))
    assert out["icc"]["ICC(2,1)"]["n_units"] == 2
    assert out["bland_altman"]["rater_a"] == "ann"


def test_bootstrap_block(tmp_path):
    out = reliability_summary(THREE_RATERS, bootstrap=1000, seed=5)
    boot = out["bootstrap"]
    assert (boot["n_resamples"], boot["seed"]) == (1000, 5)
    assert set(boot["krippendorff_alpha"]) == {"nominal", "ordinal", "interval", "ratio"}
    low, high = boot["icc"]["ICC(2,1)"]
    assert low <= high and all(math.isfinite(x) for x in (low, high))
    assert reliability_summary(THREE_RATERS, bootstrap=1000, seed=5) == out


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
        reliability_summary(frame, **options)


def test_parse_categories_rejects_empty_entries():
    with pytest.raises(ReliabilityTableError, match="empty entry"):
        parse_categories("1,,3")
