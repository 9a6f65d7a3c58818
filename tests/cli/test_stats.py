"""`annotate stats reliability` command line: JSON on stdout, clean errors with exit code 2."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from annotate.cli.stats import stats

CSV = "unit,rater,score\n1,a,3\n1,b,3\n2,a,1\n2,b,2\n3,a,5\n3,b,\n4,a,4\n4,b,4\n5,b,2\n5,a,2\n"


def run(tmp_path, *args, text=CSV):
    path = tmp_path / "r.csv"
    path.write_text(text)
    return CliRunner().invoke(stats, ["reliability", str(path), *args])


def test_json_output_has_the_documented_keys(tmp_path):
    result = run(tmp_path, "--categories", "1,2,3,4,5", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert (out["n_units"], out["n_raters"], out["n_ratings"]) == (5, 2, 9)
    assert out["cohen_kappa"]["unweighted"] is not None
    assert out["icc"]["ICC(2,1)"]["n_units"] == 4
    assert out["percent_agreement"]["exact"] == 0.75
    assert out["bootstrap"] is None


def test_bootstrap_and_seed_are_reported(tmp_path):
    result = run(tmp_path, "--bootstrap", "1000", "--seed", "7", "--json")
    assert result.exit_code == 0, result.output
    boot = json.loads(result.output)["bootstrap"]
    assert boot["seed"] == 7 and boot["n_resamples"] == 1000
    assert "ICC(2,1)" in boot["icc"] and "interval" in boot["krippendorff_alpha"]


def test_text_report_without_json(tmp_path):
    result = run(tmp_path)
    assert result.exit_code == 0
    assert "ICC(A,1)" in result.output and "Krippendorff's alpha (ordinal)" in result.output


def test_errors_exit_2_with_a_message_and_no_traceback(tmp_path):
    for args, text, message in [
        (["--categories", "1,2,3", "--json"], CSV, "not on the declared scale"),
        (["--rater", "coder", "--json"], CSV, "not found"),
        (["--json"], "unit,rater,score\n1,a,3\n", "only one rater"),
        (["--json", "--bootstrap", "5"], CSV, "at least 1000"),
        (["--json", "--level", "interval"], "unit,rater,score\n1,a,x\n1,b,y\n", "numeric"),
    ]:
        result = run(tmp_path, *args, text=text)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_missing_file_exits_2(tmp_path):
    result = CliRunner().invoke(stats, ["reliability", str(tmp_path / "nope.csv"), "--json"])
    assert result.exit_code == 2


TWO_OF_THREE_CSV = (
    "unit,rater,score,film\n"
    "1,A,4,F0\n1,B,5,F0\n2,A,2,F0\n2,C,2,F0\n3,B,6,F1\n3,C,7,F1\n4,A,3,F1\n4,B,4,F1\n"
    "5,B,5,F2\n5,C,5,F2\n6,A,1,F2\n6,C,2,F2\n7,A,6,F3\n7,B,6,F3\n8,B,3,F3\n8,C,2,F3\n"
)


def test_two_of_three_raters_give_non_null_design_iccs(tmp_path):
    result = run(tmp_path, "--categories", "1,2,3,4,5,6,7", "--json", text=TWO_OF_THREE_CSV)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["icc"]["ICC(1,1)"] is None  # complete-case: no unit has all three raters
    assert out["icc_oneway"]["ICC(1)"]["value"] == pytest.approx(0.9136, abs=1e-4)
    assert out["icc_oneway"]["ICC(1)"]["df1"] == 7 and out["icc_oneway"]["ICC(1,k)"]["value"] is not None
    assert all(out["icc_incomplete"][f]["value"] is not None for f in ("ICC(A,1)", "ICC(C,1)", "ICC(A,k)", "ICC(C,k)"))
    assert out["icc_incomplete"]["ICC(C,k)"]["k"] == 2.0
    assert out["pairwise"]["cohen_kappa"]["quadratic"] is not None and out["pairwise"]["n_pairs"] == 8
    assert set(out["variance_components"]) == {"unit", "rater", "residual"}
    assert out["d_study"] == {**out["d_study"], "raters": [1, 2, 3, 4], "units": [1]}
    assert [r["rater"] for r in out["raters"]] == ["A", "B", "C"]


def test_cluster_and_d_study_options(tmp_path):
    result = run(
        tmp_path,
        "--cluster",
        "film",
        "--d-raters",
        "1,2,3",
        "--d-units",
        "1,2,5,10",
        "--draws",
        "500",
        "--seed",
        "4",
        "--json",
        text=TWO_OF_THREE_CSV,
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert set(out["variance_components"]) == {"unit", "rater", "residual", "cluster"}
    assert out["d_study"]["raters"] == [1, 2, 3] and out["d_study"]["units"] == [1, 2, 5, 10]
    assert len(out["d_study"]["phi"]) == 3 and all(len(row) == 4 for row in out["d_study"]["g_relative"])
    assert out["monte_carlo"]["n_draws"] == 500 and out["monte_carlo"]["seed"] == 4
    text = run(tmp_path, "--cluster", "film", text=TWO_OF_THREE_CSV)
    assert text.exit_code == 0 and "D-study Phi" in text.output and "report: ICC(A,1)" in text.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cluster", "family"], "cluster column 'family' not found"),
        (["--d-raters", "0,2"], "at least 1"),
        (["--d-units", "a,b"], "whole numbers"),
        (["--draws", "5"], "5 is not in the range"),
    ],
)
def test_design_option_errors_exit_2(tmp_path, args, message):
    result = run(tmp_path, *args, "--json", text=TWO_OF_THREE_CSV)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def plan(*args):
    return CliRunner().invoke(stats, ["plan-reliability", *args])


def test_plan_reliability_bonett_example_and_share():
    result = plan("--icc", "0.85", "--raters", "4", "--ci-width", "0.2", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert (out["n_units"], out["method"]) == (20, "bonett2002")  # Bonett (2002)'s example
    assert out["precision"]["n_units"] == 20 and out["kappa"] is None and out["lower_bound"] is None
    both = json.loads(
        plan(
            "--icc", "0.7", "--ci-width", "0.2", "--lower-bound", "0.5", "--kappa", "0.7", "--prevalence", "0.5",
            "--segments", "400", "--json",
        ).output
    )  # fmt: skip
    assert both["precision"]["n_units"] == 101 and both["kappa"]["method"] == "donner_eliasziw1992"
    assert both["n_units"] == max(
        both["precision"]["n_units"], both["lower_bound"]["n_units"], both["kappa"]["n_units"]
    )
    assert both["double_code_share"] == 0.3 and both["segments"] == 400
    kappa = json.loads(plan("--kappa", "0.7", "--kappa-null", "0.4", "--prevalence", "0.5", "--json").output)
    assert kappa["n_units"] == 74 and kappa["method"] == "donner_eliasziw1992"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "Give --icc"),
        (["--icc", "0.8"], "--ci-width"),
        (["--kappa", "0.6"], "--prevalence"),
        (["--icc", "1.2", "--ci-width", "0.2"], "between -1 and 1"),
        (["--icc", "0.8", "--ci-width", "0.2", "--raters", "1"], "ratings per unit k"),
    ],
)
def test_plan_reliability_errors_exit_2(args, message):
    result = plan(*args)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
