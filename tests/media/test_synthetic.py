import csv
from pathlib import Path

import av
import numpy as np
import pytest

from annotate.media.probe import probe
from annotate.media.thumbs import frame_at
from tests.support.synthetic import generate_sample_media, make_broken_files, make_synthetic_film

SAMPLE_MEDIA = Path(__file__).resolve().parents[2] / "sample_media"
COLUMNS = ["file", "participant", "arm", "timepoint", "purpose", "session"]


def test_seed_changes_the_picture_and_is_reproducible(tmp_path):
    a = make_synthetic_film(tmp_path / "a.mp4", 1.0, 64, 48, fps=5, seed=1)
    b = make_synthetic_film(tmp_path / "b.mp4", 1.0, 64, 48, fps=5, seed=2)
    a2 = make_synthetic_film(tmp_path / "a2.mp4", 1.0, 64, 48, fps=5, seed=1)
    assert a.read_bytes() == a2.read_bytes()
    assert not np.array_equal(frame_at(a, 0.5), frame_at(b, 0.5))


def test_films_move_and_make_sound(tmp_path):
    film = make_synthetic_film(tmp_path / "f.mp4", 3.0, 96, 64, fps=10, seed=4)
    first, later = frame_at(film, 0.0).astype(int), frame_at(film, 2.5).astype(int)
    assert np.abs(first - later).mean() > 0.5
    with av.open(str(film)) as container:
        sound = np.concatenate([f.to_ndarray().ravel() for f in container.decode(audio=0)])
    assert np.abs(sound).max() > 0.02


def test_vfr_film_has_irregular_timestamps(tmp_path):
    film = make_synthetic_film(tmp_path / "v.mp4", 2.0, 64, 48, fps=15, vfr=True, audio=False)
    with av.open(str(film)) as container:
        pts = [f.pts for f in container.decode(video=0)]
    assert len(set(np.diff(pts))) > 3


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"seconds": 0}, "seconds"),
        ({"width": 15}, "width"),
        ({"height": 33}, "height"),
        ({"fps": 0}, "fps"),
        ({"codec": "vp9"}, "codec"),
        ({"rotation": 45}, "rotation"),
    ],
)
def test_arguments_are_validated(tmp_path, kwargs, message):
    args = {"seconds": 1.0, "width": 64, "height": 48, "fps": 5} | kwargs
    with pytest.raises(ValueError, match=message):
        make_synthetic_film(tmp_path / "x.mp4", **args)


def test_broken_files_are_what_they_claim(tmp_path):
    files = make_broken_files(tmp_path)
    assert files["zero_bytes"].stat().st_size == 0
    assert files["text_as_mp4"].suffix == ".mp4"
    assert "Session notes" in files["text_as_mp4"].read_text(encoding="utf-8")
    with av.open(str(files["audio_only"])) as container:
        assert len(container.streams.video) == 0 and len(container.streams.audio) == 1
    assert files["truncated"].read_bytes()[4:8] == b"ftyp"


def test_generate_sample_media_small_and_deterministic(tmp_path):
    kwargs = dict(families_per_arm=2, seconds=(0.4, 0.8), width=64, height=48, fps=5, seed=7)
    manifest = generate_sample_media(tmp_path / "a", **kwargs)
    again = generate_sample_media(tmp_path / "b", **kwargs)
    rows = list(csv.DictReader(manifest.open(encoding="utf-8")))
    assert manifest.read_text() == again.read_text()
    assert list(rows[0]) == COLUMNS
    assert len(rows) == 2 * 2 * 2 + 2
    assert {r["participant"] for r in rows} == {"F01", "F02", "F03", "F04"}
    for row in rows:
        assert (tmp_path / "a" / row["file"]).read_bytes() == (tmp_path / "b" / row["file"]).read_bytes()


def test_committed_sample_media_is_a_blinded_demo_trial():
    rows = list(csv.DictReader((SAMPLE_MEDIA / "manifest.csv").open(encoding="utf-8")))
    assert list(rows[0]) == COLUMNS
    assessments = [r for r in rows if r["purpose"] == "assessment"]
    interventions = [r for r in rows if r["purpose"] == "intervention"]
    assert len(assessments) == 12 and len(interventions) == 2
    arms = {}
    for r in assessments:
        arms.setdefault(r["arm"], set()).add(r["participant"])
    assert {a: len(p) for a, p in arms.items()} == {"VIPP": 3, "Usual care": 3}
    for family in {r["participant"] for r in assessments}:
        assert sorted(r["timepoint"] for r in assessments if r["participant"] == family) == ["baseline", "month5"]
    assert all(r["arm"] == "VIPP" and r["timepoint"] == "" and r["session"] == "1" for r in interventions)
    names = [r["file"] for r in rows]
    assert sorted(names) == [f"film_{i:02d}.mp4" for i in range(1, 15)]
    for r in rows:  # names must not reveal arm or time point
        assert not any(word in r["file"].lower() for word in ("vipp", "usual", "base", "month"))
        assert probe(SAMPLE_MEDIA / r["file"]).container.startswith("mov,mp4")
    total = sum(p.stat().st_size for p in SAMPLE_MEDIA.iterdir())
    assert total < 5_000_000
