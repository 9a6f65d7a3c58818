"""`annotate queue --study S --rater USER --json` and `--as USER` on the commands that read study data."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from annotate.cli.main import main
from annotate.services import accounts, assignments, rating


def run(*args, ok=True):
    result = CliRunner().invoke(main, [str(a) for a in args])
    if ok:
        assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def planned(env, session, people, study):
    accounts.create_user(session, None, "ana", "ana-password", "analyst")
    assignments.assign_segments(session, people["res"], study, ["r1", "r2"], mode="split", seed=9)
    session.commit()
    first = rating.rater_queue(session, people["r1"]).items[0]
    rating.save_rating(session, people["r1"], first.assignment_id, "sensitivity_nondistress", 3, expected_version=0)
    session.commit()
    return study


def test_queue_json_is_the_raters_order(planned, session, people):
    out = json.loads(run("queue", "--study", "T1", "--rater", "r1", "--json").output)
    seen = rating.rater_queue(session, people["r1"]).items
    assert [o["position"] for o in out] == list(range(1, len(seen) + 1))
    assert [(o["film_code"], o["segment_index"]) for o in out] == [(i.blind_code, i.segment_index) for i in seen]
    assert set(out[0]) >= {"position", "status", "film_code", "segment_index", "arm", "timepoint"}
    assert {o["status"] for o in out} <= {"open", "done"} and {o["segment_index"] for o in out} <= {1, 2}
    assert {o["arm"] for o in out} <= {"VIPP", "Control"} and {o["timepoint"] for o in out} <= {"baseline", "month5"}
    text = run("queue", "--study", "T1", "--rater", "r1").output
    assert text.count("\n") == len(out)


def test_queue_is_for_researchers_only(planned):
    for who in ("r1", "ana", "clin"):
        result = run("queue", "--study", "T1", "--rater", "r1", "--json", "--as", who, ok=False)
        assert result.exit_code != 0 and "needs the researcher role" in result.output
    assert run("queue", "--study", "T1", "--rater", "r1", "--as", "res").output
    bad = run("queue", "--study", "T1", "--rater", "clin", ok=False)
    assert bad.exit_code != 0 and "not a rater" in bad.output


def test_as_applies_the_users_rights(planned, tmp_path):
    refused = run("export", "--study", "T1", "--mode", "full", "--as", "ana", ok=False)
    assert refused.exit_code != 0 and "unblinding" in refused.output
    out = tmp_path / "masked.csv"
    run("export", "--study", "T1", "--mode", "masked", "--as", "ana", "--out", out)
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert rows and {r["participant"][:2] for r in rows} == {"S-"}  # the column keeps its name
    assert run("recordings", "--study", "T1", "--as", "ana", ok=False).exit_code != 0
    assert "P01" in run("recordings", "--study", "T1", "--as", "res").output
    assert "P01" in run("recordings", "--study", "T1").output  # the owner stays the default
    denied = run("stats", "reliability", "--study", "T1", "--as", "r1", ok=False)
    assert denied.exit_code != 0 and "needs the researcher or analyst role" in denied.output
