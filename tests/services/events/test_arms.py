"""Per-arm event summaries: rates, shares and bouts per arm and time point, masked before unblinding."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from annotate.cli.stats import stats
from annotate.db.models import Study
from annotate.services import events
from annotate.services.errors import PermissionDenied, ServiceError
from tests.services.events.conftest import code_study


def test_masked_before_unblinding_with_hand_worked_values(session, people, event_study) -> None:
    code_study(session, people)  # EV0 (P01, VIPP, baseline) and EV1 (P02, Control, baseline), same coding
    out = events.arm_event_summaries(session, people["res"], "EV")
    assert out.masked
    arms = {r.summary.arm for r in out.rows}
    assert arms <= {"Arm A", "Arm B"} and len(arms) == 2
    assert {r.timepoint for r in out.rows} == {"baseline"}
    now = [r.summary for r in out.rows if r.summary.code == "now_moment"]
    assert [s.rate_per_min for s in now] == [1.0, 1.0]  # one point per rater in 60 s
    gaze = [r.summary for r in out.rows if r.summary.code == "gaze_parent"]
    # r1 0-10 s, r2 0.2-10.4 s: shares 10/60 and 10.2/60, mean over raters
    assert gaze[0].share_of_time == pytest.approx((10 / 60 + 10.2 / 60) / 2)
    assert gaze[0].mean_bout_s == pytest.approx(10.1)
    with pytest.raises(ServiceError, match="unblind"):
        events.arm_event_summaries(session, people["res"], "EV", masked=False)
    with pytest.raises(PermissionDenied):
        events.arm_event_summaries(session, people["r1"], "EV")


def test_real_arm_names_after_unblinding_and_the_cli(env, session, people, event_study) -> None:
    code_study(session, people)
    session.scalar(select(Study).where(Study.key == "EV")).status = "unblinded"
    session.commit()
    result = CliRunner().invoke(stats, ["event-arms", "--study", "EV", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["masked"] is False and {r["arm"] for r in out["rows"]} == {"VIPP", "Control"}
    masked = json.loads(CliRunner().invoke(stats, ["event-arms", "--study", "EV", "--masked", "--json"]).output)
    assert {r["arm"] for r in masked["rows"]} <= {"Arm A", "Arm B"}
    text = CliRunner().invoke(stats, ["event-arms", "--study", "EV"])
    assert text.exit_code == 0 and "/min" in text.output
