"""Tests for annotate.media.activity: motion and loudness curves, filmstrip."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from annotate.media.activity import (
    SILENCE_DB,
    ActivityCurve,
    activity_curve,
    filmstrip,
    stitch_filmstrip,
)
from annotate.media.proxy import make_proxy
from tests.support.synthetic import make_synthetic_film

FPS, SECONDS = 25, 6.0
BURST = (2.0, 3.0)  # a square darts across the picture
TONE = (4.0, 5.0)  # a loud 440 Hz tone; silence elsewhere


def make_burst_film(path: Path, audio_rate: int = 48_000) -> Path:
    """Still picture with one second of fast motion, and one second of sound."""
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = 160, 120, "yuv420p"
        video.codec_context.options = {"crf": "18", "preset": "fast"}
        audio = container.add_stream("aac", rate=audio_rate, layout="stereo")
        for k in range(int(SECONDS * FPS)):
            picture = np.full((120, 160, 3), 90, np.uint8)
            picture[10:40, 10:40] = (200, 60, 60)
            t = k / FPS
            x = int((t - BURST[0]) / (BURST[1] - BURST[0]) * 120) if BURST[0] <= t < BURST[1] else 0
            picture[60:100, x : x + 40] = 250
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = k
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        n = int(SECONDS * audio_rate)
        t = np.arange(n) / audio_rate
        tone = np.where((t >= TONE[0]) & (t < TONE[1]), 0.5 * np.sin(2 * np.pi * 440 * t), 0.0)
        samples = np.vstack([tone, tone]).astype(np.float32)
        for start in range(0, n, 1024):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(samples[:, start : start + 1024]), format="fltp", layout="stereo"
            )
            frame.sample_rate, frame.pts = audio_rate, start
            container.mux(audio.encode(frame))
        container.mux(audio.encode(None))
    return path


@pytest.fixture(scope="module")
def burst_proxy(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("activity")
    proxy = folder / "proxy.mp4"
    make_proxy(make_burst_film(folder / "original.mp4"), proxy)
    return proxy


def test_curve_shape_and_steps(burst_proxy):
    curve = activity_curve(burst_proxy, step_s=0.5)
    assert isinstance(curve, ActivityCurve)
    assert curve.fps == FPS and curve.step_s == 0.5
    assert curve.times.tolist() == [0.5 * i for i in range(12)]
    assert curve.motion.shape == curve.loudness.shape == (12,)
    assert (curve.motion >= 0).all() and (curve.loudness <= 0).all()


def test_motion_burst_shows_as_peak(burst_proxy):
    curve = activity_curve(burst_proxy, step_s=0.5, width=80)
    inside = (curve.times >= BURST[0]) & (curve.times < BURST[1])
    assert curve.motion[inside].min() > 1.0
    # Outside the burst only the frames at its edges change (the square jumps back).
    quiet = ~inside & ~np.isin(curve.times, [BURST[1]])
    assert curve.motion[quiet].max() < 0.2 * curve.motion[inside].min()


def test_loudness_follows_the_tone(burst_proxy):
    curve = activity_curve(burst_proxy, step_s=0.5)
    inside = (curve.times >= TONE[0]) & (curve.times < TONE[1])
    # 0.5 amplitude sine: 20*log10(0.5/sqrt(2)) = -9.03 dB
    assert np.allclose(curve.loudness[inside], -9.03, atol=0.5)
    edges = np.isin(curve.times, [TONE[0] - 0.5, TONE[1]])  # AAC smears a little over the edges
    assert curve.loudness[~inside & ~edges].max() < -50


def test_no_audio_gives_no_loudness(tmp_path):
    film = make_synthetic_film(tmp_path / "f.mp4", 1.0, 64, 48, fps=10, audio=False)
    curve = activity_curve(film, step_s=0.3)
    assert curve.loudness is None and len(curve.motion) == 4
    assert SILENCE_DB < -100


def test_bad_arguments(tmp_path):
    film = make_synthetic_film(tmp_path / "f.mp4", 1.0, 64, 48, fps=10)
    with pytest.raises(ValueError, match="step_s"):
        activity_curve(film, step_s=0)
    with pytest.raises(ValueError, match="width"):
        activity_curve(film, width=2)
    with pytest.raises(ValueError, match="count"):
        filmstrip(film, count=0)


def test_filmstrip(burst_proxy):
    strip = filmstrip(burst_proxy, count=6, height=30)
    assert [round(t, 3) for t, _ in strip] == [0.5, 1.5, 2.5, 3.5, 4.5, 5.5]
    assert all(p.shape == (30, 40, 3) and p.dtype == np.uint8 for _, p in strip)
    # The frame at 2.5 s shows the darting square in the middle, the others at the left.
    assert not np.array_equal(strip[2][1], strip[0][1])
    assert stitch_filmstrip(strip).shape == (30, 240, 3)
