"""`annotate stats arms --study ...`: the same JSON from the database as from the CSV of its scores."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from annotate.cli.stats import stats
from annotate.services.outcomes.summaries import recording_scores
from tests.services.outcomes.test_summaries import build_vipp, unblind


def invoke(*args):
    return CliRunner().invoke(stats, ["arms", *args])


@pytest.fixture
def vipp(env, session, settings, people):
    build_vipp(session, settings, people)
    return "VPMH"


def test_study_gives_the_same_json_as_the_csv_of_its_scores(vipp, session, people, tmp_path):
    unblind(session, people["res"], vipp)
    session.commit()  # the command runs in its own transaction; audit appends are serialised
    for options, service_options in [
        (["--threshold", "5", "--covariate", "age"], {}),
        (
            ["--set", "per-protocol", "--rule", "primary_only", "--threshold", "5"],
            {"analysis_set": "per-protocol", "rule": "primary_only"},
        ),
    ]:
        result = invoke("--study", vipp, "--dimension", "sensitivity", *options, "--json")
        assert result.exit_code == 0, result.output
        out = json.loads(result.output)
        path = tmp_path / "scores.csv"
        recording_scores(session, people["res"], vipp, dimension="sensitivity", **service_options).to_csv(
            path, index=False
        )
        session.commit()  # that read was audited (allocation.view): end its transaction
        csv_options = [o for o in options if o not in ("--set", "per-protocol", "--rule", "primary_only")]
        from_csv = invoke(str(path), *csv_options, "--json")
        assert from_csv.exit_code == 0, from_csv.output
        assert json.loads(from_csv.output) == out
    rr = json.loads(invoke("--study", vipp, "--threshold", "5", "--json").output)["comparisons"][0]["threshold"]
    assert round(rr["risk_ratio"]["value"], 2) == 1.94  # the only dimension is picked without --dimension
    text = invoke("--study", vipp, "--scheme", "ainsworth_sensitivity", "--threshold", "5")
    assert text.exit_code == 0 and "risk ratio (Katz)" in text.output and "VIPP-PMH" in text.output
    assert "consensus score where raters differed" in text.output  # the rule is printed with the table


def test_before_unblinding_refused_unless_masked(vipp):
    refused = invoke("--study", vipp, "--dimension", "sensitivity", "--json")
    assert refused.exit_code == 2, refused.output
    assert "only after unblinding" in refused.output and "--masked" in refused.output
    assert "VIPP" not in refused.output.replace(vipp, "")
    masked = invoke("--study", vipp, "--dimension", "sensitivity", "--masked", "--threshold", "5", "--json")
    assert masked.exit_code == 0, masked.output
    out = json.loads(masked.output)
    assert {d["arm"] for d in out["descriptives"]} == {"Arm A", "Arm B"}
    (c,) = out["comparisons"]
    assert (c["treatment"], c["control"]) == ("Arm A", "Arm B")
    assert sorted((c["n_treatment"], c["n_control"])) == [11, 17]


def test_study_errors_exit_2_with_a_message(vipp, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("participant,arm,timepoint,score\na,T,pre,1\n")
    for args, message in [
        (["--study", "NOPE", "--dimension", "sensitivity", "--masked"], "No study 'NOPE'"),
        (["--study", vipp, "--dimension", "warmth", "--masked"], "no dimension or composite 'warmth'"),
        (["--study", vipp, "--masked", "--covariate", "income"], "Unknown covariate"),
        ([str(path), "--study", vipp], "not both"),
        (["--study", vipp, "--score", "sens"], "do not go with --study"),
        ([str(path), "--dimension", "sensitivity"], "go with --study"),
        ([str(path), "--masked"], "go with --study"),
        (["--json"], "Give the CSV FILE"),
    ]:
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output
