"""`annotate export --format events|boris-events|elan-events` and `annotate import events`: the command line."""

from __future__ import annotations

import csv
import io
import zipfile

from click.testing import CliRunner
from sqlalchemy import delete, func, select

from annotate.cli.main import main
from annotate.db.models_events import Event
from tests.services.events.conftest import code_study, event_study  # noqa: F401  (fixture)


def test_export_then_import_events_round_trip(env, session, people, event_study, tmp_path) -> None:  # noqa: F811
    code_study(session, people)
    runner = CliRunner()
    shown = runner.invoke(main, ["export", "--study", "EV", "--format", "events"])
    assert shown.exit_code == 0, shown.output
    rows = list(csv.reader(io.StringIO(shown.output)))
    assert rows[0][:3] == ["study", "film", "rater"] and len(rows) == 23
    out = tmp_path / "events.csv"
    assert runner.invoke(main, ["export", "--study", "EV", "--format", "events", "--out", str(out)]).exit_code == 0
    boris = tmp_path / "boris.csv"
    assert (
        runner.invoke(main, ["export", "--study", "EV", "--format", "boris-events", "--out", str(boris)]).exit_code == 0
    )
    elan = tmp_path / "elan.zip"
    done = runner.invoke(main, ["export", "--study", "EV", "--format", "elan-events", "--out", str(elan)])
    assert done.exit_code == 0 and zipfile.ZipFile(elan).namelist() == ["EV0.eaf", "EV1.eaf"]
    no_out = runner.invoke(main, ["export", "--study", "EV", "--format", "elan-events"])
    assert no_out.exit_code != 0 and "give --out" in no_out.output
    session.execute(delete(Event))
    session.commit()
    imported = runner.invoke(main, ["import", "events", str(out), "--study", "EV"])
    assert imported.exit_code == 0, imported.output
    assert "22 event(s) added, 0 already present" in imported.output
    again = runner.invoke(main, ["import", "events", str(boris), "--study", "EV", "--format", "boris"])
    assert again.exit_code == 0 and "0 event(s) added, 22 already present" in again.output
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Event)) == 22


def test_a_bad_import_names_the_row_and_imports_nothing(env, session, people, event_study, tmp_path) -> None:  # noqa: F811
    path = tmp_path / "bad.csv"
    path.write_text("film,rater,code,onset,offset\nEV0,r1,now_moment,2,\nEV0,r1,now_moment,two,\n")
    result = CliRunner().invoke(main, ["import", "events", str(path), "--study", "EV"])
    assert result.exit_code == 1
    assert "row 3: onset 'two' is not a number" in result.output and "nothing was imported" in result.output
    assert "Traceback" not in result.output
    assert session.scalar(select(func.count()).select_from(Event)) == 0


def test_event_arms_export_is_masked_until_unblinding_and_matches_the_stats_json(
    env,
    session,
    people,
    event_study,  # noqa: F811
) -> None:
    import json

    from annotate.db.models import Study

    code_study(session, people)
    runner = CliRunner()
    shown = runner.invoke(main, ["export", "--study", "EV", "--format", "event-arms"])
    assert shown.exit_code == 0, shown.output
    rows = list(csv.DictReader(io.StringIO(shown.output)))
    assert {r["arm"] for r in rows} == {"Arm A", "Arm B"}
    stats = json.loads(runner.invoke(main, ["stats", "event-arms", "--study", "EV", "--json"]).output)
    assert [r["code"] for r in rows] == [r["code"] for r in stats["rows"]]
    assert [float(r["rate_per_min"]) for r in rows] == [r["rate_per_min"] for r in stats["rows"]]
    refused = runner.invoke(main, ["export", "--study", "EV", "--format", "event-arms", "--mode", "full"])
    assert refused.exit_code != 0 and "unblinding" in refused.output and "Traceback" not in refused.output
    session.scalar(select(Study).where(Study.key == "EV")).status = "unblinded"
    session.commit()
    full = runner.invoke(main, ["export", "--study", "EV", "--format", "event-arms", "--mode", "full"])
    assert full.exit_code == 0 and {r["arm"] for r in csv.DictReader(io.StringIO(full.output))} == {"VIPP", "Control"}
