import csv
import importlib
from pathlib import Path

import pytest

from annotate.media.errors import UnreadableMediaError
from annotate.media.probe import clockwise_rotation, probe
from tests.support.synthetic import make_broken_files, make_synthetic_film

from .conftest import FPS, HEIGHT, SECONDS, WIDTH

# annotate.media re-exports the probe() function under the module's name.
probe_module = importlib.import_module("annotate.media.probe")

SAMPLE_MEDIA = Path(__file__).resolve().parents[2] / "sample_media"


def test_probe_plain_film(films):
    r = probe(films["plain"])
    assert (r.width, r.height, r.display_width, r.display_height) == (WIDTH, HEIGHT, WIDTH, HEIGHT)
    assert r.rotation == 0
    assert r.video_codec == "h264" and r.pix_fmt == "yuv420p"
    assert r.fps == pytest.approx(FPS)
    assert r.duration_s == pytest.approx(SECONDS, abs=0.01)
    assert r.has_audio and r.audio_codec == "aac" and r.audio_channels == 1
    assert "mp4" in r.container
    assert r.size_bytes == films["plain"].stat().st_size


@pytest.mark.parametrize("name, codec", [("hevc", "hevc"), ("mpeg4", "mpeg4")])
def test_probe_reports_codec(films, name, codec):
    assert probe(films[name]).video_codec == codec


def test_probe_no_audio(films):
    r = probe(films["no_audio"])
    assert not r.has_audio and r.audio_codec is None


def test_probe_rotated_film_swaps_display_size(films):
    r = probe(films["rot90"])
    assert r.rotation == 90
    assert (r.width, r.height) == (WIDTH, HEIGHT)
    assert (r.display_width, r.display_height) == (HEIGHT, WIDTH)


def test_rotation_convention_matches_ffmpeg_cli(films, ffmpeg, tmp_path):
    # A phone held upright needs a 90° clockwise turn; ffmpeg prints that as -90.
    info = ffmpeg("-i", str(films["rot90"])).stderr
    assert "rotation of -90.00 degrees" in info
    # ffmpeg's -display_rotation takes counter-clockwise degrees.
    out = tmp_path / "ccw90.mp4"
    done = ffmpeg("-display_rotation", "90", "-i", str(films["plain"]), "-c", "copy", str(out))
    assert done.returncode == 0, done.stderr
    assert probe(out).rotation == 270


def test_clockwise_rotation_rounds_to_quarter_turns():
    assert [clockwise_rotation(a) for a in (0, -90, 90, 180, -180, -89.6, 44)] == [0, 90, 270, 180, 180, 90, 0]


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    return make_broken_files(tmp_path_factory.mktemp("broken"))


@pytest.mark.parametrize(
    "kind, reason",
    [
        ("zero_bytes", r"empty \(0 bytes\)"),
        ("truncated", r"incomplete or damaged: its index \(the 'moov' box\) is missing"),
        ("truncated_faststart", r"truncated or corrupt"),
        ("text_as_mp4", r"contains text, not video"),
        ("audio_only", r"contains only audio \(aac\), no video stream"),
    ],
)
def test_broken_files_are_rejected_with_reason(broken, kind, reason):
    with pytest.raises(UnreadableMediaError, match=reason):
        probe(broken[kind])


def test_missing_file(tmp_path):
    with pytest.raises(UnreadableMediaError, match="does not exist"):
        probe(tmp_path / "nope.mp4")


def test_folder_is_not_a_film(tmp_path):
    with pytest.raises(UnreadableMediaError, match="folder"):
        probe(tmp_path)


def test_random_bytes_are_not_a_film(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(UnreadableMediaError, match="not a video format that can be read"):
        probe(junk)


@pytest.mark.parametrize("keep", [0.5, 0.8])
def test_cut_faststart_film_is_caught_by_seeking_near_the_end(tmp_path, monkeypatch, keep):
    # Without the index-vs-size check, decoding near the stated end must still notice.
    monkeypatch.setattr(probe_module, "_check_index_within_file", lambda film, container: None)
    film = make_synthetic_film(tmp_path / "f.mp4", 6.0, 96, 64, fps=10, seed=2, audio=False, faststart=True)
    assert probe(film).duration_s == pytest.approx(6.0)
    data = film.read_bytes()
    film.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(UnreadableMediaError, match="truncated or corrupt"):
        probe(film)


def test_committed_sample_films_probe():
    manifest = SAMPLE_MEDIA / "manifest.csv"
    rows = list(csv.DictReader(manifest.open(encoding="utf-8")))
    assert len(rows) == 14
    for row in rows:
        r = probe(SAMPLE_MEDIA / row["file"])
        assert (r.width, r.height, r.video_codec, r.has_audio) == (320, 240, "h264", True)
        assert 20 <= r.duration_s <= 40.1


def test_mpegts_with_one_keyframe_is_not_mistaken_for_truncated(films, ffmpeg, tmp_path):
    # No index and a single keyframe: seeking near the end lands between keyframes.
    ts = tmp_path / "film.ts"
    done = ffmpeg("-i", str(films["plain"]), "-c", "copy", str(ts))
    assert done.returncode == 0, done.stderr
    r = probe(ts)
    assert r.container == "mpegts" and r.start_time_s > 0
    assert r.duration_s == pytest.approx(SECONDS, abs=0.1)
