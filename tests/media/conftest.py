"""Tiny synthetic films shared by the media tests (2–3 s, 160x120, made once per session)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.synthetic import make_synthetic_film

SECONDS = 2.0
WIDTH, HEIGHT, FPS = 160, 120, 15


@pytest.fixture(scope="session")
def films(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("films")
    specs = {
        "plain": dict(),
        "hevc": dict(codec="libx265"),
        "mpeg4": dict(codec="mpeg4"),
        "rot90": dict(rotation=90),
        "vfr": dict(vfr=True),
        "no_audio": dict(audio=False),
    }
    return {
        name: make_synthetic_film(folder / f"{name}.mp4", SECONDS, WIDTH, HEIGHT, FPS, seed=11, **kwargs)
        for name, kwargs in specs.items()
    }


@pytest.fixture(scope="session")
def ffmpeg():
    """Run the ffmpeg CLI from imageio-ffmpeg; returns the CompletedProcess (text)."""
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    exe = imageio_ffmpeg.get_ffmpeg_exe()

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([exe, "-hide_banner", "-nostdin", *args], capture_output=True, text=True, check=False)

    return run
