"""`annotate stats timing FILE.csv`: the JSON contract, options, and clean errors naming row or column."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from annotate.cli.main import main
from annotate.cli.stats import stats

REPO = Path(__file__).resolve().parents[2]

# The example of annotate.stats.timing.timing_agreement: one gaze pair within 1 s, one 1.5 s apart.
CSV = (
    "session,rater,code,onset,offset,session_length\n"
    "s1,ann,gaze,1.0,4.0,30\n"
    "s1,ann,gaze,6.0,9.0,30\n"
    "s1,ben,gaze,1.2,4.1,30\n"
    "s1,ben,gaze,7.5,9.0,30\n"
)


def run(tmp_path: Path, *args: str, text: str = CSV, newline: str = "\n"):
    path = tmp_path / "events.csv"
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return CliRunner().invoke(stats, ["timing", str(path), *args])


def test_json_has_the_contract_shape_and_the_hand_worked_values(tmp_path: Path) -> None:
    result = run(tmp_path, "--tolerance", "1", "--unit", "0.5", "--curve", "1,2", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert set(out) == {"tolerance", "unit", "n_sessions", "groups"}
    assert (out["tolerance"], out["unit"], out["n_sessions"]) == (1.0, 0.5, 1)
    g = out["groups"]["gaze"]
    assert set(g) == {"codes", "event", "time_unit", "curve"}  # no boris_grid unless asked
    assert g["codes"] == ["gaze"]
    ev = g["event"]
    assert ev["table"] == {"labels": ["gaze", "none"], "counts": [[1, 1], [1, 12]]}
    assert (ev["n_matched"], ev["n_unmatched"]) == (1, [1, 1])
    assert ev["ci95"] is None and ev["f1"] == {"gaze": 0.5} and ev["f1_all"] == 0.5
    assert ev["onset_diff"]["median"] == pytest.approx(0.2)
    assert [(p["tolerance"], round(p["kappa"], 3)) for p in g["curve"]] == [(1.0, 0.423), (2.0, 1.0)]
    assert round(g["time_unit"]["kappa"], 4) == 0.8276 and g["time_unit"]["n_units"] == 60


def test_default_unit_is_a_tenth_of_a_second_and_default_curve_has_six_points(tmp_path: Path) -> None:
    out = json.loads(run(tmp_path, "--tolerance", "1", "--json").output)
    assert out["unit"] == 0.1 and out["groups"]["gaze"]["time_unit"]["n_units"] == 300
    assert [p["tolerance"] for p in out["groups"]["gaze"]["curve"]] == [0.25, 0.5, 1.0, 2.0, 3.0, 5.0]


def test_boris_interval_and_seeded_bootstrap(tmp_path: Path) -> None:
    two_sessions = CSV + CSV.split("\n", 1)[1].replace("s1,", "s2,")
    args = ("--tolerance", "1", "--boris-interval", "1", "--bootstrap", "200", "--seed", "4", "--json")
    first = run(tmp_path, *args, text=two_sessions)
    again = run(tmp_path, *args, text=two_sessions)
    assert first.exit_code == 0, first.output
    assert first.output == again.output
    g = json.loads(first.output)["groups"]["gaze"]
    assert g["boris_grid"]["interval"] == 1.0 and g["boris_grid"]["kappa"] is not None
    assert len(g["event"]["ci95"]) == 2 and len(g["time_unit"]["ci95"]) == 2


def test_undefined_kappa_is_null_with_a_note(tmp_path: Path) -> None:
    text = "session,rater,code,onset,offset\ns1,a,x,1,\ns1,b,x,1.3,\n"
    out = json.loads(run(tmp_path, "--tolerance", "0.5", "--curve", "", "--json", text=text).output)
    ev = out["groups"]["x"]["event"]
    assert ev["kappa"] is None and "chance agreement" in ev["note"]
    assert out["groups"]["x"]["curve"] == []


def test_crlf_quotes_emoji_and_long_identifiers_survive(tmp_path: Path) -> None:
    code = '"look, 😀 ""away"""'
    rater = "r" * 10_000
    text = (
        "session,rater,group,code,onset,offset\n"
        f"s 1,{rater},gaze,{code},1,2\n"
        f"s 1,b,gaze,{code},1.1,2\n"
        "s 1,b,gaze,other\tcode,5,6\n"
    )
    result = run(tmp_path, "--tolerance", "0.5", "--json", text=text, newline="\r\n")
    assert result.exit_code == 0, result.output
    g = json.loads(result.output)["groups"]["gaze"]
    assert g["codes"] == ['look, 😀 "away"', "other\tcode"]
    assert g["event"]["n_matched"] == 1


def test_text_report(tmp_path: Path) -> None:
    result = run(tmp_path, "--tolerance", "1", "--boris-interval", "1")
    assert result.exit_code == 0, result.output
    assert "[gaze]" in result.output and "event kappa" in result.output and "BORIS grid kappa" in result.output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("session,rater,code,onset\ns1,a,x,1\ns1,b,x,1\n", "missing column offset"),
        ("session,rater,code,onset,offset\ns1,a,x,1,\ns1,b,x,soon,\n", "row 3: onset 'soon' is not a number"),
        ("session,rater,code,onset,offset\ns1,a,x,-1,\ns1,b,x,1,\n", "row 2: onset -1 is negative"),
        ("session,rater,code,onset,offset\ns1,a,x,4,3\ns1,b,x,1,2\n", "row 2: offset 3 is before onset 4"),
        ("session,rater,code,onset,offset\ns1,a,x,1,\ns2,b,x,1,\n", "no session is coded by two or more raters"),
        ("", "cannot read the events CSV"),
    ],
)
def test_bad_input_exits_non_zero_naming_row_or_column(tmp_path: Path, text: str, expected: str) -> None:
    result = run(tmp_path, "--tolerance", "1", "--json", text=text)
    assert result.exit_code == 2
    assert expected in result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--tolerance", "0"), "tolerance must be a positive number"),
        (("--tolerance", "1", "--unit", "-1"), "unit must be a positive number"),
        (("--tolerance", "1", "--curve", "1,x"), "'x' (item 2) is not a number"),
        (("--tolerance", "1", "--bootstrap", "-3"), "bootstrap must be a whole number"),
        (("--tolerance", "1", "--scheme", "s"), "--scheme goes with --study"),
    ],
)
def test_bad_options_are_usage_errors(tmp_path: Path, args: tuple[str, ...], expected: str) -> None:
    result = run(tmp_path, *args)
    assert result.exit_code == 2 and expected in result.output, result.output


def test_missing_file_and_no_file(tmp_path: Path) -> None:
    missing = CliRunner().invoke(stats, ["timing", str(tmp_path / "nope.csv"), "--tolerance", "1"])
    assert missing.exit_code == 2 and "events file not found" in missing.output
    none = CliRunner().invoke(stats, ["timing", "--tolerance", "1"])
    assert none.exit_code == 2 and "Give a CSV FILE" in none.output


def test_reached_through_the_annotate_command(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text(CSV)
    result = CliRunner().invoke(main, ["stats", "timing", str(path), "--tolerance", "2", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["groups"]["gaze"]["event"]["n_matched"] == 2


def test_real_process_prints_a_message_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("session,rater,code,onset,offset\ns1,a,x,1,\ns1,b,x,one,\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "annotate", "stats", "timing", str(path), "--tolerance", "1", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert "row 3: onset 'one' is not a number" in done.stderr and "Traceback" not in done.stderr
