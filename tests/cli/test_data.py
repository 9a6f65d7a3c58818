"""`annotate export --format ...`, `import`, `elan`, `backup` and `restore` from the command line."""

from __future__ import annotations

import io
import zipfile

import pytest
from click.testing import CliRunner

from annotate.cli.main import main

NEW_COMMANDS = [
    ["import"],
    ["import", "ratings"],
    ["import", "segments"],
    ["import", "study"],
    ["elan"],
    ["elan", "export"],
    ["elan", "import"],
    ["backup"],
    ["restore"],
]


@pytest.mark.parametrize("cmd", NEW_COMMANDS, ids=" ".join)
def test_help(cmd):
    result = CliRunner().invoke(main, [*cmd, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def run(*args, env=None, ok=True):
    result = CliRunner().invoke(main, [str(a) for a in args], env=env)
    if ok:
        assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def cli_study(tmp_path, monkeypatch):
    """A CLI-made study with one participant and a film row made by the ratings-free path: a study
    package import (films need no media for exports)."""
    monkeypatch.setenv("ANNOTATE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ANNOTATE_DATABASE_URL", raising=False)
    monkeypatch.setenv("ANNOTATE_SECRET_KEY", "cli-secret")
    src = tmp_path / "src"
    src.mkdir()
    pkg = {
        "study.json": '{"arms": ["VIPP", "Control"], "format": "annotate-study-package", "key": "S1", "scheme": '
        '{"key": "ainsworth_sensitivity", "sha256": "SHA", "version": "1.0"}, "segment_seconds": 60.0, '
        '"settings": {}, "status": "rating", "timepoints": ["t0", "t1"], "title": "S1", "version": 1}\n',
        "users.csv": "username,display_name,role\nr1,Rater One,rater\n",
        "participants.csv": "participant,arm,per_protocol,clinician\nP1,VIPP,yes,\nP2,Control,,\n",
        "films.csv": "film,participant,timepoint,purpose,session,original_name,original_sha256,duration_s,fps,width,"
        "height,has_audio,status\nAAAAAA,P1,t0,assessment,,p1.mp4,,120.0,25.0,320,240,yes,ready\n"
        "BBBBBB,P2,t1,assessment,,p2.mp4,,120.0,25.0,320,240,yes,ready\n",
        "segments.csv": "film,segment,start,end,task\nAAAAAA,1,0.0,60.0,\nAAAAAA,2,60.0,120.0,\nBBBBBB,1,0.0,120.0,\n",
        "ratings.csv": "film,segment,rater,purpose,dimension,value,note\n",
    }
    from annotate.config import REPO_ROOT
    from annotate.schemes import scheme_sha256

    yaml_text = (REPO_ROOT / "rating_schemes" / "ainsworth_sensitivity.yaml").read_text()
    pkg["study.json"] = pkg["study.json"].replace("SHA", scheme_sha256(yaml_text))
    pkg["scheme.yaml"] = yaml_text
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in pkg.items():
            zf.writestr(name, text)
    (src / "S1.zip").write_bytes(buf.getvalue())
    out = run("import", "study", src / "S1.zip").output
    assert "Study S1: 2 participants, 2 films, 3 segments, 0 scores." in out and "r1" in out
    return tmp_path


def test_import_export_round(cli_study):
    tmp = cli_study
    (tmp / "r.csv").write_text(
        "film,segment,rater,dimension,value,note\nAAAAAA,1,r1,sensitivity,7,=cmd|calc\n"
        "AAAAAA,2,r1,sensitivity,9,\nBBBBBB,1,r1,sensitivity,3,\n"
    )
    assert "3 score(s) added" in run("import", "ratings", "--study", "S1", tmp / "r.csv").output
    assert "0 score(s) added, 3 already present" in run("import", "ratings", "--study", "S1", tmp / "r.csv").output
    (tmp / "bad.csv").write_text(
        "film,segment,rater,dimension,value\nAAAAAA,1,r1,sensitivity,12\nZZZ,1,r1,sensitivity,1\n"
    )
    bad = run("import", "ratings", "--study", "S1", tmp / "bad.csv", ok=False)
    assert (
        bad.exit_code == 1
        and "row 2: sensitivity must be between 1 and 9" in bad.output
        and "row 3: film 'ZZZ'" in bad.output
    )
    csv_out = run("export", "--study", "S1", "--mode", "blinded").output
    assert csv_out.splitlines()[0].startswith("study,recording,segment") and "'=cmd|calc" in csv_out
    for fmt, suffix in (
        ("xlsx", "xlsx"),
        ("sav", "sav"),
        ("dta", "dta"),
        ("parquet", "parquet"),
        ("reliability", "zip"),
        ("history", "csv"),
        ("codebook", "md"),
        ("study", "zip"),
    ):
        path = tmp / f"out.{fmt}.{suffix}"
        extra = ["--table", "segments"] if fmt in ("sav", "dta") else []
        run("export", "--study", "S1", "--format", fmt, "--mode", "masked", *extra, "--out", path)
        assert path.stat().st_size > 100, fmt
    assert (tmp / "out.codebook.md").read_text().startswith("# Codebook: S1")
    need_out = run("export", "--study", "S1", "--format", "xlsx", ok=False)
    assert need_out.exit_code == 2 and "--out" in need_out.output
    full = run("export", "--study", "S1", "--mode", "full", ok=False)
    assert full.exit_code == 1 and "after unblinding" in full.output
    run("elan", "export", "--study", "S1", "--film", "AAAAAA", "--out", tmp / "a.eaf")
    assert b'RELATIVE_MEDIA_URL="./AAAAAA.mp4"' in (tmp / "a.eaf").read_bytes()
    run("elan", "export", "--study", "S1", "--out", tmp / "all.zip")
    (tmp / "s.csv").write_text("film,start,end,task\nBBBBBB,0,1:00,play\n")
    refused = run("import", "segments", "--study", "S1", tmp / "s.csv", ok=False)
    assert "already has 1 assignment" in refused.output


def test_backup_and_restore(cli_study, tmp_path):
    (tmp_path / "r.csv").write_text("film,segment,rater,dimension,value\nAAAAAA,1,r1,sensitivity,7\n")
    run("import", "ratings", "--study", "S1", tmp_path / "r.csv")
    out = run("backup", tmp_path / "bk").output
    assert "manifest of 0 media file(s)" in out
    again = run("backup", tmp_path / "bk", ok=False)
    assert again.exit_code == 1 and "not empty" in again.output
    refused = run("restore", tmp_path / "bk", ok=False)
    assert refused.exit_code == 1 and "--force" in refused.output
    env = {"ANNOTATE_DATA_DIR": str(tmp_path / "elsewhere")}
    assert "Restored" in run("restore", tmp_path / "bk", env=env).output
    assert "AAAAAA" in run("export", "--study", "S1", "--mode", "blinded", env=env).output
