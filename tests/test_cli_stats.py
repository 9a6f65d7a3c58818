"""`annotate stats reliability` command line: JSON on stdout, clean errors with exit code 2."""

from __future__ import annotations

import json

from click.testing import CliRunner

from annotate.cli_stats import stats

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
