"""`annotate stats arms` command line: JSON shape, published figures, clean errors (exit code 2)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from annotate.cli.stats import stats


def vipp_csv() -> str:
    """VIPP-PMH month 5: 9/17 vs 3/11 rated >= 5; three per arm missing at month 5 (blank)."""
    lines = ["family,group,visit,sensitivity,age"]
    for arm, prefix, high, low, missing in (("VIPP-PMH", "v", 9, 8, 3), ("usual care", "u", 3, 8, 3)):
        month5 = ["6"] * high + ["3"] * low + [""] * missing
        for i, score in enumerate(month5):
            lines.append(f"{prefix}{i},{arm},Baseline,{3 + i % 4},{10 + i}")
            lines.append(f"{prefix}{i},{arm},month 5,{score},")
    return "\n".join(lines) + "\n"


COLUMNS = ["--participant", "family", "--arm", "group", "--timepoint", "visit", "--score", "sensitivity"]


def run(tmp_path, *args, text=None):
    path = tmp_path / "arms.csv"
    path.write_text(vipp_csv() if text is None else text, encoding="utf-8")
    return CliRunner().invoke(stats, ["arms", str(path), *args])


def test_json_shape_and_vipp_pmh_risk_ratio(tmp_path):
    result = run(tmp_path, *COLUMNS, "--threshold", "5", "--covariate", "age", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert list(out) == ["descriptives", "comparisons", "within_arm"]
    assert [(d["arm"], d["timepoint"], d["n"]) for d in out["descriptives"]] == [
        ("VIPP-PMH", "Baseline", 20),
        ("VIPP-PMH", "month 5", 17),
        ("usual care", "Baseline", 14),
        ("usual care", "month 5", 11),
    ]
    (c,) = out["comparisons"]
    assert (c["timepoint"], c["treatment"], c["control"], c["n_treatment"], c["n_control"]) == (
        "month 5",
        "VIPP-PMH",
        "usual care",
        17,
        11,
    )
    assert len(c["mean_difference"]["ci95"]) == 2 and len(c["hedges_g"]["ci95"]) == 2
    assert c["ancova"]["n"] == 28 and c["ancova"]["p"] is not None
    rr = c["threshold"]["risk_ratio"]
    assert round(rr["value"], 2) == 1.94 and [round(v, 2) for v in rr["ci95"]] == [0.67, 5.63]
    assert c["threshold"]["control_events"] == 3 and c["threshold"]["value"] == 5.0
    assert [(w["arm"], w["from"], w["to"], w["n_pairs"]) for w in out["within_arm"]] == [
        ("VIPP-PMH", "Baseline", "month 5", 17),
        ("usual care", "Baseline", "month 5", 11),
    ]


def test_defaults_without_baseline_or_threshold(tmp_path):
    text = "participant,arm,timepoint,score\na,T,m5,5\nb,T,m5,6\nc,C,m5,4\nd,C,m5,3\na,T,m8,6\nc,C,m8,4\n"
    result = run(tmp_path, "--json", text=text)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert [c["timepoint"] for c in out["comparisons"]] == ["m5", "m8"]
    assert out["comparisons"][0]["ancova"] is None and out["comparisons"][0]["threshold"] is None
    assert out["comparisons"][0]["mean_difference"]["value"] == 2.0
    assert out["comparisons"][1]["mean_difference"]["ci95"] == [None, None]  # one score per arm
    assert out["within_arm"] == []


def test_treatment_and_control_can_be_swapped(tmp_path):
    result = run(tmp_path, *COLUMNS, "--treatment", "usual care", "--json")
    assert result.exit_code == 0, result.output
    c = json.loads(result.output)["comparisons"][0]
    assert (c["treatment"], c["control"]) == ("usual care", "VIPP-PMH")
    assert c["mean_difference"]["value"] < 0


def test_comma_separated_or_repeated_covariates(tmp_path):
    text = vipp_csv().replace(",age\n", ",age,site\n", 1)
    text = "\n".join(
        line + ("," + ("north" if i % 3 else "south") if i and line else "") for i, line in enumerate(text.split("\n"))
    )
    comma = run(tmp_path, *COLUMNS, "--covariate", "age,site", "--json", text=text)
    repeated = run(tmp_path, *COLUMNS, "--covariate", "age", "--covariate", "site", "--json", text=text)
    age_only = run(tmp_path, *COLUMNS, "--covariate", "age", "--json", text=text)
    assert comma.exit_code == repeated.exit_code == age_only.exit_code == 0, comma.output
    ancova = json.loads(comma.output)["comparisons"][0]["ancova"]
    assert ancova == json.loads(repeated.output)["comparisons"][0]["ancova"]
    assert ancova["n"] == 28
    assert ancova["value"] != json.loads(age_only.output)["comparisons"][0]["ancova"]["value"]


def test_text_report(tmp_path):
    result = run(tmp_path, *COLUMNS, "--threshold", "5")
    assert result.exit_code == 0, result.output
    assert (
        "risk ratio (Katz)" in result.output
        and "1.941 [0.670, 5.625]" in result.output
        and "score >= 5: 9/17 vs 3/11" in result.output
    )
    assert "within arm (paired)" in result.output


@pytest.mark.parametrize(
    ("args", "text", "message"),
    [
        (["--treatment", "VIPP-SD"], None, "unknown treatment arm 'VIPP-SD'"),
        (["--score", "score"], None, "no column 'score' for the score column"),
        (["--baseline", "month 2"], None, "baseline time point 'month 2' is not in the table"),
        ([], "participant,arm,timepoint,score\na,T,pre,4\na,C,post,5\nb,C,pre,3\n", "more than one arm"),
        ([], "participant,arm,timepoint,score\na,T,pre,four\n", "row 2 has 'four'"),
        (["--control", "T"], "participant,arm,timepoint,score\na,T,pre,4\nb,T,pre,5\n", "only one arm"),
    ],
)
def test_errors_exit_2_with_message_on_stderr_and_no_traceback(tmp_path, args, text, message):
    base = [] if text is not None else COLUMNS
    result = run(tmp_path, *base, *args, "--json", text=text)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output and result.stdout == ""


def test_missing_file_exits_2(tmp_path):
    result = CliRunner().invoke(stats, ["arms", str(tmp_path / "nope.csv"), "--json"])
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_without_a_file_exits_2():
    result = CliRunner().invoke(stats, ["arms", "--json"])
    assert result.exit_code == 2 and "FILE" in result.stderr and "Traceback" not in result.output


def test_reliability_command_is_still_there():
    assert {"reliability", "arms"} <= set(stats.commands)
