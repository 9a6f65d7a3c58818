"""`annotate stats timing --study KEY --scheme S --json`: the same JSON as the CSV of the study's events."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from annotate.cli.stats import stats
from annotate.services import events
from tests.services.events.conftest import SCHEME, code_study, event_study  # noqa: F401  (fixture)


@pytest.fixture
def coded(env, session, people, event_study):  # noqa: F811
    code_study(session, people)
    return event_study


def invoke(*args: str):
    return CliRunner().invoke(stats, ["timing", *args])


def test_study_json_equals_the_json_of_its_events_csv(coded, session, people, tmp_path) -> None:
    result = invoke(
        "--study", "EV", "--scheme", SCHEME, "--tolerance", "1", "--bootstrap", "100", "--seed", "2", "--json"
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["unit"] == pytest.approx(1 / 25) and out["n_sessions"] == 2
    assert set(out["groups"]) == {"infant_gaze", "maternal_touch", "vocalisation", "now_moment"}
    gaze = out["groups"]["infant_gaze"]["event"]
    assert gaze["n_matched"] == 4 and gaze["kappa"] is not None
    assert out["groups"]["now_moment"]["event"]["n_unmatched"] == [2, 2]  # 4 s apart: outside 1 s
    csv = tmp_path / "events.csv"
    events.timing_frame(events.study_events(session, people["res"], "EV").rows).to_csv(csv, index=False)
    from_csv = invoke(
        str(csv), "--tolerance", "1", "--unit", str(1 / 25), "--bootstrap", "100", "--seed", "2", "--json"
    )
    assert from_csv.exit_code == 0, from_csv.output
    assert json.loads(from_csv.output) == out


def test_default_scheme_is_the_studys_and_unit_can_be_given(coded) -> None:
    result = invoke("--study", "EV", "--tolerance", "5", "--unit", "0.5", "--curve", "", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["unit"] == 0.5 and out["groups"]["now_moment"]["event"]["n_matched"] == 2


def test_study_errors_are_messages(env, session, people, event_study, tmp_path) -> None:  # noqa: F811
    none_yet = invoke("--study", "EV", "--tolerance", "1")
    assert none_yet.exit_code == 2 and "no done event coding" in none_yet.output
    missing = invoke("--study", "NOPE", "--tolerance", "1")
    assert missing.exit_code == 2 and "NOPE" in missing.output and "Traceback" not in missing.output
    path = tmp_path / "e.csv"
    path.write_text("session,rater,code,onset,offset\n")
    both = invoke(str(path), "--study", "EV", "--tolerance", "1")
    assert both.exit_code == 2 and "not both" in both.output
