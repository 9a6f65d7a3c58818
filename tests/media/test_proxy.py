import importlib
import itertools
import struct
from fractions import Fraction

import av
import numpy as np
import pytest

from annotate.media.errors import MediaError, UnreadableMediaError
from annotate.media.proxy import (
    ProxySettings,
    make_proxy,
    output_frame_rate,
    output_size,
    place_on_grid,
)
from annotate.media.thumbs import frame_at
from tests.support.synthetic import make_synthetic_film

from .conftest import HEIGHT, SECONDS, WIDTH

proxy_module = importlib.import_module("annotate.media.proxy")
NEUTRAL_CONTAINER_KEYS = {"major_brand", "minor_version", "compatible_brands"}
NEUTRAL_STREAM_VALUES = {
    "language": {"und"},
    "handler_name": {"VideoHandler", "SoundHandler"},
    "vendor_id": {"[0][0][0][0]"},
}


def video_frames(path):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [(f.pts, f.key_frame, f.rotation) for f in container.decode(stream)]
        return frames, stream.time_base


def top_level_boxes(path):
    boxes, data = [], path.read_bytes()
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        boxes.append(kind.decode("latin-1"))
        if size < 8:
            break
        offset += size
    return boxes


@pytest.fixture(scope="module")
def proxies(films, tmp_path_factory):
    folder = tmp_path_factory.mktemp("proxies")
    return {name: (make_proxy(src, folder / f"{name}.mp4"), folder / f"{name}.mp4") for name, src in films.items()}


@pytest.mark.parametrize("name", ["plain", "hevc", "mpeg4", "rot90", "vfr", "no_audio"])
def test_proxy_is_h264_yuv420p_and_decodes_every_frame(proxies, name):
    result, path = proxies[name]
    assert (result.video_codec, result.pix_fmt, result.rotation) == ("h264", "yuv420p", 0)
    frames, _ = video_frames(path)
    assert len(frames) == pytest.approx(result.duration_s * result.fps, abs=1)
    assert len(frames) >= 0.9 * SECONDS * result.fps


def test_rotated_source_gives_upright_proxy_without_rotation(proxies):
    result, path = proxies["rot90"]
    assert (result.display_width, result.display_height) == (HEIGHT, WIDTH)
    assert (result.width, result.height) == (HEIGHT, WIDTH)
    frames, _ = video_frames(path)
    assert all(rotation == 0 for _, _, rotation in frames)


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotation_is_applied_the_right_way(tmp_path, rotation):
    # The same scene filmed upright must look the same as the rotated film's proxy.
    coded = (WIDTH, HEIGHT) if rotation != 180 else (HEIGHT, WIDTH)
    upright = (HEIGHT, WIDTH)
    src = make_synthetic_film(tmp_path / "rot.mp4", 1.0, *coded, fps=10, seed=5, audio=False, rotation=rotation, crf=18)
    ref = make_synthetic_film(tmp_path / "ref.mp4", 1.0, *upright, fps=10, seed=5, audio=False, crf=18)
    make_proxy(src, tmp_path / "proxy.mp4", ProxySettings(crf=18))
    got = frame_at(tmp_path / "proxy.mp4", 0.5).astype(float)
    want = frame_at(ref, 0.5).astype(float)
    assert got.shape == want.shape == (WIDTH, HEIGHT, 3)
    assert np.abs(got - want).mean() < 6
    assert np.abs(got - np.rot90(want, 2)).mean() > 15


def test_vfr_source_becomes_constant_frame_rate(films, proxies):
    source_frames, _ = video_frames(films["vfr"])
    source_steps = {b[0] - a[0] for a, b in itertools.pairwise(source_frames)}
    assert len(source_steps) > 3  # the source really is irregular
    result, path = proxies["vfr"]
    frames, time_base = video_frames(path)
    steps = {b[0] - a[0] for a, b in itertools.pairwise(frames)}
    assert len(steps) == 1
    assert float(steps.pop() * time_base) == pytest.approx(1 / result.fps)


@pytest.mark.parametrize("gop_seconds", [0.5, 1.0])
def test_keyframe_interval_is_at_most_gop(films, tmp_path, gop_seconds):
    path = tmp_path / "gop.mp4"
    result = make_proxy(films["plain"], path, ProxySettings(gop_seconds=gop_seconds))
    frames, _ = video_frames(path)
    keys = [i for i, (_, key, _) in enumerate(frames) if key]
    assert keys[0] == 0
    gaps = np.diff(keys + [len(frames)])
    assert gaps.max() <= round(gop_seconds * result.fps)


@pytest.mark.parametrize("name", ["plain", "no_audio"])
def test_faststart_puts_moov_before_mdat(proxies, name):
    boxes = top_level_boxes(proxies[name][1])
    assert boxes[0] == "ftyp"
    assert boxes.index("moov") < boxes.index("mdat")


def test_source_without_faststart_has_moov_last(films):
    boxes = top_level_boxes(films["plain"])  # guards the box reader above
    assert boxes.index("moov") > boxes.index("mdat")


@pytest.fixture(scope="module")
def tagged_source(films, ffmpeg, tmp_path_factory):
    """A stereo 44.1 kHz film carrying identifying metadata, like a phone recording."""
    out = tmp_path_factory.mktemp("tagged") / "tagged.mov"
    done = ffmpeg(
        "-i",
        str(films["plain"]),
        "-map_metadata",
        "-1",
        "-c:v",
        "copy",
        "-c:a",
        "aac",
        "-ac",
        "2",
        "-ar",
        "44100",
        "-metadata",
        "title=SECRETTITLE Family F03 baseline",
        "-metadata",
        "location=+52.0907+005.1214/",
        "-metadata",
        "creation_time=2024-05-06T07:08:09Z",
        "-metadata",
        "comment=SECRETCOMMENT",
        "-metadata:s:v",
        "handler_name=SECRETHANDLER Core Media Video",
        "-metadata:s:a",
        "handler_name=SECRETAUDIO Core Media Audio",
        "-metadata:s:v",
        "encoder=SECRETENCODER iPhone",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    info = ffmpeg("-i", str(out)).stderr
    assert "SECRETTITLE" in info and "creation_time" in info  # the planting worked
    return out


def test_metadata_is_stripped(tagged_source, ffmpeg, tmp_path):
    path = tmp_path / "clean.mp4"
    make_proxy(tagged_source, path)
    with av.open(str(path)) as container:
        assert set(container.metadata) <= NEUTRAL_CONTAINER_KEYS
        for stream in container.streams:
            for key, value in stream.metadata.items():
                assert value in NEUTRAL_STREAM_VALUES.get(key, set()), (key, value)
    info = ffmpeg("-i", str(path)).stderr
    for planted in ("SECRET", "creation_time", "location", "52.09", "encoder", "Lavf", "rotation", "Display Matrix"):
        assert planted not in info
    raw = path.read_bytes()
    assert b"SECRET" not in raw and b"2024-05-06" not in raw and b"+52.0907" not in raw


def test_audio_is_resampled_to_48k_and_keeps_channels(tagged_source, proxies, tmp_path):
    stereo = make_proxy(tagged_source, tmp_path / "stereo.mp4")
    assert (stereo.audio_codec, stereo.audio_sample_rate, stereo.audio_channels) == ("aac", 48000, 2)
    mono, path = proxies["plain"]
    assert (mono.audio_codec, mono.audio_sample_rate, mono.audio_channels) == ("aac", 48000, 1)
    with av.open(str(path)) as container:
        audio = container.streams.audio[0]
        samples = sum(f.samples for f in container.decode(audio))
    assert samples / 48000 == pytest.approx(SECONDS, abs=0.05)


def test_source_without_audio_gives_proxy_without_audio(proxies):
    result, path = proxies["no_audio"]
    assert not result.has_audio
    with av.open(str(path)) as container:
        assert len(container.streams.audio) == 0


def test_tall_source_is_scaled_down_and_small_source_is_not_upscaled(films, tmp_path):
    tall = make_synthetic_film(tmp_path / "tall.mp4", 0.4, 96, 800, fps=5, audio=False)
    result = make_proxy(tall, tmp_path / "tall_proxy.mp4")
    assert (result.width, result.height) == (86, 720)
    small = make_proxy(films["plain"], tmp_path / "small.mp4", ProxySettings(max_height=720))
    assert (small.width, small.height) == (WIDTH, HEIGHT)


def test_progress_runs_from_zero_to_one(films, tmp_path):
    seen = []
    make_proxy(films["plain"], tmp_path / "p.mp4", progress=seen.append)
    assert seen[0] == 0.0 and seen[-1] == 1.0
    assert seen == sorted(seen) and len(seen) > 5


def test_failure_leaves_no_file_behind(films, tmp_path, monkeypatch):
    def explode(self):
        raise RuntimeError("disk gone")

    monkeypatch.setattr(proxy_module._VideoWriter, "finish", explode)
    with pytest.raises(RuntimeError, match="disk gone"):
        make_proxy(films["plain"], tmp_path / "p.mp4")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("side", ["decoder", "encoder"])
def test_a_failure_on_either_side_of_the_pipeline_stops_both(films, tmp_path, monkeypatch, side):
    """Decoding runs in a thread beside the encoder: an error on either side reaches the caller,
    the other side stops, and no thread or file is left behind."""
    import threading

    def explode(self, *args):
        raise RuntimeError(f"{side} broke")

    target = "place" if side == "decoder" else "encode"
    monkeypatch.setattr(proxy_module._VideoWriter, target, explode)
    with pytest.raises(RuntimeError, match=f"{side} broke"):
        make_proxy(films["plain"], tmp_path / "p.mp4")
    assert list(tmp_path.iterdir()) == []
    assert not [t for t in threading.enumerate() if t.name == "proxy-decode"]


def test_encoder_uses_frame_threads(films, tmp_path, monkeypatch):
    """libx264 under PyAV's default SLICE thread type uses sliced threads (slower on few cores)."""
    seen = []
    real = proxy_module._VideoWriter.__init__

    def spy(self, out, stream, *args):
        real(self, out, stream, *args)
        seen.append(stream.codec_context.thread_type)

    monkeypatch.setattr(proxy_module._VideoWriter, "__init__", spy)
    make_proxy(films["plain"], tmp_path / "p.mp4")
    assert [t.name for t in seen] == ["AUTO"] or [int(t) for t in seen] == [3]


def test_success_leaves_only_the_proxy(films, tmp_path):
    make_proxy(films["plain"], tmp_path / "p.mp4")
    assert [p.name for p in tmp_path.iterdir()] == ["p.mp4"]


def test_unreadable_source_and_missing_folder(films, tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("not a film")
    with pytest.raises(UnreadableMediaError, match="contains text"):
        make_proxy(text, tmp_path / "p.mp4")
    with pytest.raises(MediaError, match="does not exist"):
        make_proxy(films["plain"], tmp_path / "missing" / "p.mp4")


def test_requested_fps_is_used(films, tmp_path):
    result = make_proxy(films["plain"], tmp_path / "p.mp4", ProxySettings(fps=10))
    assert result.fps == 10
    assert result.duration_s == pytest.approx(SECONDS, abs=0.1)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"max_height": 8}, "max_height"),
        ({"crf": -1}, "crf"),
        ({"preset": "quick"}, "preset"),
        ({"gop_seconds": 0}, "gop_seconds"),
        ({"audio_bitrate": 100}, "audio_bitrate"),
        ({"fps": 0}, "fps"),
    ],
)
def test_settings_are_validated(kwargs, field):
    with pytest.raises(ValueError, match=field):
        ProxySettings(**kwargs)


def test_output_size_rules():
    assert output_size(1920, 1080, 720) == (1280, 720)
    assert output_size(1080, 1920, 720) == (404, 720)
    assert output_size(640, 480, 720) == (640, 480)
    assert output_size(641, 481, 720) == (640, 480)
    assert output_size(3840, 2160, 721) == (1280, 720)


def test_output_frame_rate_snaps_to_common_rates():
    assert output_frame_rate(Fraction(30000, 1001)) == Fraction(30000, 1001)
    assert output_frame_rate(29.97) == Fraction(30000, 1001)
    assert output_frame_rate(59.94) == Fraction(60000, 1001)
    assert output_frame_rate(30.1) == Fraction(30)
    assert output_frame_rate(12.5) == Fraction(25, 2)
    assert output_frame_rate(27.3) == Fraction(27)
    assert output_frame_rate(25, requested=Fraction(15)) == Fraction(15)
    with pytest.raises(ValueError):
        output_frame_rate(None)


def test_place_on_grid_duplicates_gaps_and_drops_crowded_slots():
    fps = 10
    # regular: one frame per slot
    assert place_on_grid([0.0, 0.1, 0.2], fps, 0.3) == [0, 1, 2]
    # a dropped source frame is filled by holding the previous one
    assert place_on_grid([0.0, 0.1, 0.3], fps, 0.4) == [0, 1, 1, 2]
    # twice as many frames: the latest in each slot wins
    assert place_on_grid([0.0, 0.05, 0.1, 0.15, 0.2, 0.25], fps, 0.3) == [0, 2, 4]
    # jitter of under a quarter frame does not move a frame to the next slot
    assert place_on_grid([0.0, 0.112, 0.19, 0.322], fps, 0.4) == [0, 1, 2, 3]
    # the last frame is held until the end of the video
    assert place_on_grid([0.0, 0.1], fps, 0.5) == [0, 1, 1, 1, 1]
    assert place_on_grid([], fps, 1.0) == []
