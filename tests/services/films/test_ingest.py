"""Ingest with real films through PyAV: good films become ready with proxies and segments; broken
ones are kept as refused recordings with the reason; nothing of the source name reaches the store."""

from __future__ import annotations

import pytest

from annotate.media import probe
from annotate.services import films, studies
from annotate.services.errors import ImportRejected, PermissionDenied
from tests.support.synthetic import make_broken_files, make_synthetic_film


@pytest.fixture
def small_study(session, settings, people):
    studies.create_study(
        session,
        people["res"],
        settings,
        "M",
        arms="A,B",
        timepoints="t0,t1",
        scheme_key="ainsworth_sensitivity",
        segment_seconds=2,
    )
    studies.import_participants(session, people["res"], "M", "participant,arm\nP1,A\nP2,B\n")
    session.commit()
    return "M"


def test_ingest_good_broken_hevc_and_rotated(session, settings, people, small_study, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    good = make_synthetic_film(src / "IMG_20240301_P1.mp4", 5, 160, 120, 15, seed=1)
    hevc = make_synthetic_film(src / "hevc.mp4", 3, 160, 120, 15, seed=2, codec="libx265")
    rot = make_synthetic_film(src / "rot.mp4", 3, 160, 120, 15, seed=3, rotation=90)
    broken = make_broken_files(src)
    items = [films.IngestItem(good, "P1", "t0"), films.IngestItem(hevc, "P1", "t1"), films.IngestItem(rot, "P2", "t0")]
    items += [films.IngestItem(broken[k], "P2", "t1") for k in ("zero_bytes", "truncated", "text_as_mp4", "audio_only")]
    seen = []
    outcomes = films.ingest(session, people["res"], settings, small_study, items, lambda f, m: seen.append(f))
    status = {o.original_name: o for o in outcomes}
    assert [status[p.name].status for p in (good, hevc, rot)] == ["ready"] * 3
    assert seen[-1] == 1.0 and seen == sorted(seen)
    reasons = {k: status[broken[k].name].reason for k in ("zero_bytes", "truncated", "text_as_mp4", "audio_only")}
    assert all(r and status[broken[k].name].status == "failed" for k, r in reasons.items())
    assert "empty" in reasons["zero_bytes"] and "audio" in reasons["audio_only"]

    recs = {r.original_name: r for r in films.list_recordings(session, people["res"], small_study)}
    g = recs[good.name]
    assert (
        g.n_segments == 3 and g.has_audio
    )  # 2 + 2 + a 1 s tail (half a segment is kept) and abs(g.duration_s - 5) < 0.2
    assert g.proxy_file.endswith(".mp4") and "IMG" not in g.proxy_file and "P1" not in g.proxy_file
    assert recs[hevc.name].source_codec == "hevc"
    assert (recs[rot.name].width, recs[rot.name].height) == (120, 160)  # displayed upright
    assert recs[broken["zero_bytes"].name].reason == reasons["zero_bytes"]
    stored = list((settings.media_dir / "proxies").iterdir())
    assert len(stored) == 3
    info = probe(stored[0])
    assert info.video_codec == "h264" and info.pix_fmt == "yuv420p" and info.rotation == 0
    # The same film again is recognised, not ingested twice.
    again = films.ingest(session, people["res"], settings, small_study, [films.IngestItem(good, "P1", "t0")])
    assert again[0].status == "duplicate"


def test_manifest_and_unknown_participant_rejected_whole(session, settings, people, small_study, tmp_path):
    film = make_synthetic_film(tmp_path / "a.mp4", 2, 160, 120, 15, seed=1)
    bad = "file,participant,timepoint\na.mp4,P1,t0\nmissing.mp4,P1,t0\na.mp4,P9,t0\na.mp4,P1,t9\n"
    with pytest.raises(ImportRejected) as err:
        films.ingest(
            session,
            people["res"],
            settings,
            small_study,
            films.items_from_manifest(bad.replace("missing.mp4,P1,t0\n", ""), tmp_path),
        )
    text = str(err.value)
    assert "P9" in text and "t9" in text
    with pytest.raises(ImportRejected, match="not found"):
        films.items_from_manifest(bad, tmp_path)
    assert film.exists()


def test_rater_cannot_ingest(session, settings, people, small_study, tmp_path):
    with pytest.raises(PermissionDenied):
        films.ingest(session, people["r1"], settings, small_study, [])


def test_pattern_needs_participant_group():
    from annotate.services.errors import ServiceError

    with pytest.raises(ServiceError, match="participant"):
        films.items_from_pattern([], r"(?P<who>\w+)")
