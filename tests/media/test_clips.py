"""Tests for annotate.media.clips: frame-exact smart cut, audio kept in sync, WebVTT."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from annotate.media.clips import (
    ClipRangeError,
    clip_frame_range,
    cut_clip,
    draw_caption,
    webvtt_timestamp,
    write_webvtt,
)
from annotate.media.errors import MediaError
from annotate.media.probe import probe
from annotate.media.proxy import make_proxy
from tests.support.synthetic import make_synthetic_film

FPS = 25
BEEP_EVERY_S = 1.0
BEEP_AT_S = 0.5  # beeps at 0.5, 1.5, 2.5, ...


def make_counter_film(
    path: Path, seconds: float = 6.0, fps: int = FPS, width: int = 160, height: int = 120, audio_rate: int = 44_100
) -> Path:
    """A film whose pictures show their own frame number as black/white tiles.

    Neighbouring frames differ in at least one 40x60 tile, so a clip that starts one
    frame off is easy to tell apart. The sound is a 1 kHz beep of 20 ms at 0.5 s,
    1.5 s, ... so audio sync can be measured.
    """
    n = int(round(seconds * fps))
    samples = np.zeros(int(seconds * audio_rate), np.float32)
    beep_len = int(0.02 * audio_rate)
    tone = 0.8 * np.sin(2 * np.pi * 1000 * np.arange(beep_len) / audio_rate).astype(np.float32)
    t = BEEP_AT_S
    while t + 0.02 < seconds:
        start = int(round(t * audio_rate))
        samples[start : start + beep_len] = tone
        t += BEEP_EVERY_S
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.options = {"crf": "18", "preset": "fast"}
        audio = container.add_stream("aac", rate=audio_rate, layout="mono")
        for k in range(n):
            picture = np.full((height, width, 3), 60, np.uint8)
            for bit in range(8):
                if k >> bit & 1:
                    row, col = divmod(bit, 4)
                    picture[row * 60 : (row + 1) * 60, col * 40 : (col + 1) * 40] = 230
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = k
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        for start in range(0, len(samples), 1024):
            chunk = samples[start : start + 1024]
            frame = av.AudioFrame.from_ndarray(chunk[None, :], format="flt", layout="mono")
            frame.sample_rate, frame.pts = audio_rate, start
            container.mux(audio.encode(frame))
        container.mux(audio.encode(None))
    return path


@pytest.fixture(scope="module")
def proxy(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("clips")
    original = make_counter_film(folder / "original.mp4")
    target = folder / "proxy.mp4"
    make_proxy(original, target)
    return target


def decode_rgb(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24").astype(np.int16) for f in container.decode(video=0)]


def decode_audio(path: Path) -> tuple[np.ndarray, int]:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        chunks = [f.to_ndarray().reshape(-1) for f in container.decode(stream)]
    return np.concatenate(chunks), rate


def beep_onsets(samples: np.ndarray, rate: int) -> list[float]:
    loud = np.flatnonzero(np.abs(samples) > 0.3)
    if loud.size == 0:
        return []
    starts = loud[np.concatenate([[True], np.diff(loud) > rate // 10])]
    return [s / rate for s in starts]


def mean_abs(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


@pytest.mark.parametrize(
    "in_s, out_s, method",
    [
        (1.32, 4.6, "smart"),  # in and out inside GOPs: head and tail re-encoded
        (1.0, 3.0, "smart"),  # on keyframes: everything copied
        (1.32, 6.0, "smart"),  # to the end of the film
        (2.1, 2.9, None),  # whole GOP inside only where x264 placed a scene cut
    ],
)
def test_clip_starts_on_in_frame_and_matches_source(proxy, tmp_path, in_s, out_s, method):
    result = cut_clip(proxy, tmp_path / "clip.mp4", in_s, out_s)
    first, end = round(in_s * FPS), round(out_s * FPS)
    assert result.n_frames == end - first
    assert result.method == (method or result.method)
    assert result.in_s == pytest.approx(first / FPS) and result.out_s == pytest.approx(end / FPS)
    source = decode_rgb(proxy)
    clip = decode_rgb(result.path)
    assert len(clip) == end - first
    # First frame equals the in frame: tiny encoder error, far below a one-frame slip.
    error = mean_abs(clip[0], source[first])
    assert error < 3.0
    assert error * 5 < min(mean_abs(clip[0], source[first - 1]), mean_abs(clip[0], source[first + 1]))
    # Every later frame is the matching source frame too (the joins are clean).
    worst = max(mean_abs(c, source[first + k]) for k, c in enumerate(clip))
    assert worst < 3.0
    info = probe(result.path)
    assert abs(info.duration_s - (end - first) / FPS) <= 1 / FPS
    assert (info.video_codec, info.pix_fmt, info.audio_codec, info.audio_sample_rate) == (
        "h264",
        "yuv420p",
        "aac",
        48_000,
    )


def test_clip_audio_is_trimmed_and_in_sync(proxy, tmp_path):
    result = cut_clip(proxy, tmp_path / "clip.mp4", 1.32, 4.6)
    samples, rate = decode_audio(result.path)
    assert result.has_audio
    assert abs(len(samples) / rate - result.duration_s) < 0.05
    onsets = beep_onsets(samples, rate)
    expected = [t - result.in_s for t in (1.5, 2.5, 3.5, 4.5)]
    assert len(onsets) == len(expected)
    assert np.max(np.abs(np.array(onsets) - expected)) < 0.012  # within a third of a frame


def test_mp4_is_fast_start(proxy, tmp_path):
    data = cut_clip(proxy, tmp_path / "clip.mp4", 0.5, 2.5).path.read_bytes()
    assert 0 <= data.find(b"moov") < data.find(b"mdat")


def test_burnt_caption_changes_bottom_only(proxy, tmp_path):
    plain = cut_clip(proxy, tmp_path / "plain.mp4", 1.0, 2.0)
    burnt = cut_clip(proxy, tmp_path / "burnt.mp4", 1.0, 2.0, caption="Look, I did it!", burn_caption=True)
    assert burnt.method == "reencode" and burnt.n_frames == plain.n_frames
    a, b = decode_rgb(plain.path)[0], decode_rgb(burnt.path)[0]
    assert mean_abs(a[:60], b[:60]) < 3.0
    assert mean_abs(a[-15:], b[-15:]) > 20.0


def test_direct_from_film_with_long_gop_and_32khz_audio(tmp_path):
    film = make_synthetic_film(tmp_path / "f.mp4", 3.0, 160, 120, fps=15, seed=4)
    result = cut_clip(film, tmp_path / "clip.mp4", 1.1, 2.5)
    assert (result.method, result.n_frames) == ("reencode", round(2.5 * 15) - round(1.1 * 15))
    samples, rate = decode_audio(result.path)
    assert rate == 48_000 and abs(len(samples) / rate - result.duration_s) < 0.05
    source = decode_rgb(film)
    clip = decode_rgb(result.path)
    assert mean_abs(clip[0], source[round(1.1 * 15)]) < 3.0


def test_film_without_audio(tmp_path):
    film = make_synthetic_film(tmp_path / "f.mp4", 2.0, 160, 120, fps=15, audio=False)
    result = cut_clip(film, tmp_path / "clip.mp4", 0.5, 1.5)
    assert not result.has_audio and not probe(result.path).has_audio


@pytest.mark.parametrize(
    "in_s, out_s, message",
    [
        (3.0, 2.0, "must come before the out point"),
        (2.0, 2.0, "must come before the out point"),
        (-1.0, 2.0, "negative"),
        (1.0, 9.0, "past the end"),
        (1.0, 1.01, "shorter than one frame"),
        (float("nan"), 2.0, "must be a number"),
    ],
)
def test_bad_spans_are_rejected_with_clear_errors(proxy, tmp_path, in_s, out_s, message):
    with pytest.raises(ClipRangeError, match=message):
        cut_clip(proxy, tmp_path / "clip.mp4", in_s, out_s)
    assert not (tmp_path / "clip.mp4").exists()
    assert list(tmp_path.iterdir()) == []


def test_errors_are_value_errors_and_media_errors(proxy, tmp_path):
    with pytest.raises(ValueError):
        cut_clip(proxy, tmp_path / "clip.mp4", 2.0, 1.0)
    with pytest.raises(MediaError, match="does not exist"):
        cut_clip(proxy, tmp_path / "missing" / "clip.mp4", 1.0, 2.0)
    with pytest.raises(ValueError, match="caption is empty"):
        cut_clip(proxy, tmp_path / "clip.mp4", 1.0, 2.0, burn_caption=True)


def test_progress_runs_from_zero_to_one(proxy, tmp_path):
    seen: list[float] = []
    cut_clip(proxy, tmp_path / "clip.mp4", 0.3, 5.0, progress=seen.append)
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)


def test_clip_frame_range_snaps_to_grid():
    assert clip_frame_range(0.019, 0.021, 25, 1.0) == (0, 1)
    assert clip_frame_range(1.0, 2.0, Fraction(30000, 1001), 10.0) == (30, 60)
    assert clip_frame_range(9.5, 10.0, 25, 10.0) == (238, 250)


def test_write_webvtt(tmp_path):
    path = write_webvtt(
        tmp_path / "c.vtt", [(0.0, 12.34, "Mummy, look!\n\nA ball <3"), (61.0, 3725.5, "Zweite Zeile -- é")]
    )
    text = path.read_text(encoding="utf-8")
    assert text.startswith("WEBVTT\n\n")
    assert "00:00:00.000 --> 00:00:12.340\nMummy, look!\nA ball &lt;3\n" in text
    assert "00:01:01.000 --> 01:02:05.500\nZweite Zeile -- é\n" in text
    with pytest.raises(ValueError, match="start < end"):
        write_webvtt(tmp_path / "bad.vtt", [(2.0, 1.0, "x")])
    assert webvtt_timestamp(0.0006) == "00:00:00.001"


def test_draw_caption_wraps_long_text():
    picture = np.full((120, 160, 3), 200, np.uint8)
    short = draw_caption(picture, "Hi")
    long = draw_caption(picture, "I like it when you show me the ball and tell me its name")
    dark = lambda img: int((img[:, :, 0] < 120).any(axis=1).sum())  # noqa: E731
    assert dark(long) > dark(short)
    assert (draw_caption(picture, "Café") != picture).any()
