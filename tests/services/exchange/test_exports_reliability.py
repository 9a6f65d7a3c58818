"""The reliability zip on the engine's design: the long tables, annotate's numbers, and an R script
(reproduce.R, base R + lme4) that recomputes them; run with Rscript when R is installed."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import zipfile

import pandas as pd
import pytest

from annotate.services import exchange
from tests.services.reliability.test_study import SENS
from tests.services.reliability.test_study_design import engine_design, pool  # noqa: F401 (fixtures)


def unpack(session, people, tmp_path) -> dict[str, bytes]:
    f = exchange.export_file(session, people["res"], "T1", "reliability")
    with zipfile.ZipFile(io.BytesIO(f.data)) as zf:
        zf.extractall(tmp_path)
        return {n: zf.read(n) for n in zf.namelist()}


def test_zip_has_long_tables_numbers_and_r_code(session, pool, engine_design, tmp_path):  # noqa: F811
    files = unpack(session, pool, tmp_path)
    long = pd.read_csv(io.BytesIO(files[f"{SENS}_long.csv"]))
    assert list(long.columns) == ["unit", "film", "rater", "score"] and len(long) == 16
    assert set(long["rater"]) == {"r1", "r2", "r3", "r4", "r5"}
    numbers = json.loads(files[f"{SENS}_annotate.json"])
    assert numbers["icc_incomplete"]["ICC(A,1)"]["value"] is not None and numbers["monte_carlo"]["seed"] == 0
    readme = files["README.txt"].decode()
    for needle in ("lme4::lmer", "psych::ICC", "irr::kripp.alpha", "irr::kappa2", "ten Hove", "Brennan", SENS):
        assert needle in readme, needle
    for secret in (b"P01", b"VIPP", b"Control", b"baseline", b"month5", b"IMG_2024"):
        # the data files (the R script's "lmerControl" is not an arm)
        assert all(secret not in blob for name, blob in files.items() if name.endswith((".csv", ".json"))), secret


def _value(numbers: dict, key: str) -> float:
    """'icc_oneway.ICC(1).value' -> numbers['icc_oneway']['ICC(1)']['value']; raters and Phi by name."""
    if key.startswith("raters."):
        _, rater, field = key.split(".")
        return next(r[field] for r in numbers["raters"] if r["rater"] == rater)
    if key.startswith("d_study.phi."):
        raters = int(key.split("raters=")[1].split(".")[0])
        return numbers["d_study"]["phi"][numbers["d_study"]["raters"].index(raters)][0]
    node = numbers
    for part in key.split("."):
        node = node[part]
    return node


@pytest.mark.skipif(
    shutil.which("Rscript") is None, reason="R is not installed (apt-get install r-base-core r-cran-lme4)"
)
def test_reproduce_r_gives_annotates_numbers(session, pool, engine_design, tmp_path):  # noqa: F811
    files = unpack(session, pool, tmp_path)
    check = subprocess.run(
        ["Rscript", "-e", "quit(status = !requireNamespace('lme4', quietly = TRUE))"], capture_output=True
    )
    if check.returncode:
        pytest.skip("R has no lme4 (apt-get install r-cran-lme4)")
    run = subprocess.run(
        ["Rscript", "reproduce.R"], cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
    )
    assert run.returncode == 0, run.stderr
    numbers = json.loads(files[f"{SENS}_annotate.json"])
    lines = [line.split("\t") for line in run.stdout.splitlines() if line.startswith(f"{SENS}\t")]
    assert len(lines) >= 15
    for _, key, value in lines:
        assert float(value) == pytest.approx(_value(numbers, key), abs=1e-4), key
