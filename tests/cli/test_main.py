"""The `annotate` command: every subcommand has --help; the researcher flow works end to end."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from annotate.cli.main import main
from tests.support.synthetic import make_broken_files, make_synthetic_film

COMMANDS = [
    [],
    ["init"],
    ["demo"],
    ["serve"],
    ["users"],
    ["users", "add"],
    ["users", "list"],
    ["users", "passwd"],
    ["users", "reset"],
    ["users", "set-role"],
    ["users", "deactivate"],
    ["users", "activate"],
    ["users", "unlock"],
    ["audit", "verify"],
    ["audit", "export"],
    ["study"],
    ["study", "create"],
    ["participants"],
    ["participants", "import"],
    ["ingest"],
    ["recordings"],
    ["assign"],
    ["export"],
    ["stats"],
    ["stats", "reliability"],
    ["stats", "arms"],
    ["study", "lock"],
    ["study", "unblind"],
    ["study", "reopen"],
    ["study", "settings"],
    ["correct"],
]


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: " ".join(c) or "annotate")
def test_help(cmd):
    result = CliRunner().invoke(main, [*cmd, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("ANNOTATE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ANNOTATE_DATABASE_URL", raising=False)
    monkeypatch.setenv("ANNOTATE_SECRET_KEY", "cli-secret")
    return tmp_path


def run(*args, input=None, env=None):
    result = CliRunner().invoke(main, list(args), input=input, env=env, catch_exceptions=False)
    return result


def test_researcher_flow(cli_env):
    tmp = cli_env
    assert run("init").exit_code == 0
    r = run("users", "add", "ann", "--role", "rater", env={"ANNOTATE_NEW_PASSWORD": "rater-pass-1"})
    assert r.exit_code == 0 and "Added ann (rater)" in r.output
    assert "ann" in run("users", "list").output
    r = run(
        "study",
        "create",
        "S1",
        "--arms",
        "VIPP,Control",
        "--timepoints",
        "t0,t1",
        "--scheme",
        "ainsworth_sensitivity",
        "--segment-seconds",
        "2",
    )
    assert r.exit_code == 0, r.output
    (tmp / "p.csv").write_text("participant,arm\nP1,VIPP\nP2,Control\n")
    assert "2 added" in run("participants", "import", "--study", "S1", str(tmp / "p.csv")).output
    films = tmp / "films"
    films.mkdir()
    make_synthetic_film(films / "P1_t0.mp4", 3, 160, 120, 15, seed=1)
    make_synthetic_film(films / "P2_t1.mp4", 3, 160, 120, 15, seed=2)
    r = run("ingest", str(films), "--study", "S1", "--pattern", r"(?P<participant>P\d)_(?P<timepoint>t\d)", "--here")
    assert r.exit_code == 0, r.output
    assert r.output.count("ready") == 2
    broken = make_broken_files(tmp)
    r = run("ingest", str(broken["text_as_mp4"]), "--study", "S1", "--participant", "P1", "--timepoint", "t1", "--here")
    assert r.exit_code == 1 and "failed" in r.output
    recs = json.loads(run("recordings", "--study", "S1", "--json").output)
    assert len(recs) == 3
    refused = next(x for x in recs if x["status"] == "failed")
    assert refused["reason"] and refused["proxy_file"] is None
    ok = next(x for x in recs if x["status"] == "ready")
    assert {"original_name", "status", "reason", "proxy_file", "duration_s", "width", "height", "has_audio"} <= set(ok)
    assert ok["has_audio"] is True and (ok["width"], ok["height"]) == (160, 120)
    r = run("users", "add", "bob", "--role", "rater", env={"ANNOTATE_NEW_PASSWORD": "rater-pass-2"})
    r = run("assign", "--study", "S1", "--rater", "ann", "--rater", "bob", "--seed", "5", "--share", "0.5")
    assert r.exit_code == 0 and "seed 5" in r.output and "double-coded" in r.output, r.output
    out = run("export", "--study", "S1").output
    assert out.splitlines()[0].startswith("study,participant,arm,timepoint")
    assert "VIPP" not in out  # masked before unblinding
    r = CliRunner().invoke(main, ["export", "--study", "S1", "--mode", "full"])
    assert r.exit_code == 1 and "after unblinding" in r.output
    assert "participant" not in run("export", "--study", "S1", "--mode", "blinded").output.splitlines()[0]
    assert "is now locked" in run("study", "lock", "S1").output
    assert "is now unblinded" in run("study", "unblind", "S1", "--reason", "primary analysis").output
    assert "double_code_share: 0.2" in run("study", "settings", "S1").output


def test_errors_are_messages_not_tracebacks(cli_env):
    r = CliRunner().invoke(main, ["study", "create", "S1", "--arms", "A", "--timepoints", "t", "--scheme", "nope"])
    assert r.exit_code == 1 and "No rating scheme 'nope'" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(main, ["recordings", "--study", "NOPE"])
    assert r.exit_code == 1 and "No study 'NOPE'" in r.output
    r = CliRunner().invoke(main, ["ingest", ".", "--study", "X"])
    assert r.exit_code == 2 and "Say whose films" in r.output
