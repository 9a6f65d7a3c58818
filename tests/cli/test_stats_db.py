"""`annotate stats reliability --study ...`: the same JSON from the database as from a CSV."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from annotate.cli.stats import stats
from annotate.reports.reliability import reliability_from_frame, reliability_json
from annotate.services import assignments
from annotate.services.reliability.study import reliability_ratings
from tests.services.reliability.test_study import SCORES, SENS, assessment_segments, expected_frame, rate


def summary_of(frame, **options):
    """The JSON of the reliability table of a long frame (what `annotate stats reliability --json` prints);
    the study variant uses the film as the cluster."""
    return reliability_json(reliability_from_frame(frame, cluster="film", **options))


@pytest.fixture
def double_coded(env, session, people, study):
    assignments.assign_segments(session, people["res"], study, ["r1", "r2"], mode="all", seed=1)
    session.commit()
    segs = assessment_segments(session)
    for name in ("r1", "r2"):
        rate(session, people[name], SCORES[name], segs)
    return segs


def invoke(*args):
    return CliRunner().invoke(stats, ["reliability", *args])


def test_study_gives_the_same_json_as_the_csv_of_its_ratings(double_coded, session, people, tmp_path):
    result = invoke("--study", "T1", "--dimension", SENS, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out == summary_of(expected_frame(SENS), categories=[1, 2, 3, 4], level="interval")
    assert out["n_units"] == 8 and out["categories"] == [1, 2, 3, 4]
    csv = tmp_path / "ratings.csv"
    reliability_ratings(session, people["res"], "T1", dimension=SENS)[["unit", "rater", "score", "film"]].to_csv(
        csv, index=False
    )
    from_csv = invoke(str(csv), "--categories", "1,2,3,4", "--level", "interval", "--cluster", "film", "--json")
    assert from_csv.exit_code == 0, from_csv.output
    assert json.loads(from_csv.output) == out


def test_study_with_scheme_bootstrap_and_text_report(double_coded):
    result = invoke(
        "--study",
        "T1",
        "--scheme",
        "nichd_sensitivity_intrusiveness",
        "--dimension",
        "intrusiveness",
        "--bootstrap",
        "1000",
        "--seed",
        "3",
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["bootstrap"]["seed"] == 3
    text = invoke("--study", "T1", "--dimension", SENS)
    assert text.exit_code == 0 and "ICC(A,1)" in text.output


def test_study_errors_exit_2_with_a_message(double_coded, tmp_path):
    csv = tmp_path / "x.csv"
    csv.write_text("unit,rater,score\n1,a,1\n1,b,1\n")
    for args, message in [
        (["--study", "T1", "--json"], "Choose a dimension"),
        (["--study", "T9", "--dimension", SENS, "--json"], "No study 'T9'"),
        (["--study", "T1", "--dimension", "warmth", "--json"], "no dimension 'warmth'"),
        (["--study", "T1", "--dimension", SENS, "--categories", "1,2", "--json"], "scale comes from"),
        (["--study", "T1", "--scheme", "other", "--dimension", SENS, "--json"], "no ratings on scheme"),
        ([str(csv), "--study", "T1", "--dimension", SENS], "not both"),
        (["--json"], "Give a CSV FILE"),
        ([str(csv), "--dimension", SENS], "go with --study"),
    ]:
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output
