import av
import cv2
import numpy as np
import pytest

from annotate.media.errors import UnreadableMediaError
from annotate.media.proxy import make_proxy
from annotate.media.thumbs import frame_at, make_thumbnails

from .conftest import HEIGHT, SECONDS, WIDTH


def test_thumbnail_count_size_and_order(films, tmp_path):
    paths = make_thumbnails(films["plain"], tmp_path / "thumbs", count=5, width=80)
    assert [p.name for p in paths] == [f"thumb_0{i}.jpg" for i in range(1, 6)]
    images = [cv2.imread(str(p)) for p in paths]
    assert all(img.shape == (60, 80, 3) for img in images)
    # evenly spaced times show different moments of the play
    assert len({img.tobytes() for img in images}) == 5


def test_thumbnails_of_rotated_film_are_upright(films, tmp_path):
    paths = make_thumbnails(films["rot90"], tmp_path, count=2, width=60)
    assert cv2.imread(str(paths[0])).shape == (80, 60, 3)


@pytest.mark.parametrize("count, width", [(0, 160), (2, 4), (1.5, 160)])
def test_thumbnail_arguments_are_validated(films, tmp_path, count, width):
    with pytest.raises(ValueError):
        make_thumbnails(films["plain"], tmp_path, count=count, width=width)


def test_frame_at_shape_and_rotation(films):
    assert frame_at(films["plain"], 0.0).shape == (HEIGHT, WIDTH, 3)
    rotated = frame_at(films["rot90"], 1.0)
    assert rotated.shape == (WIDTH, HEIGHT, 3) and rotated.dtype == np.uint8
    # the wall (light) is at the top and the rug (darker) at the bottom when upright
    assert rotated[:20].mean() > rotated[-20:].mean() + 20


def test_frame_at_returns_the_grid_frame_at_or_after_the_time(films, tmp_path):
    proxy = tmp_path / "p.mp4"
    result = make_proxy(films["vfr"], proxy)
    with av.open(str(proxy)) as container:
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    step = 1 / result.fps
    for index in (0, 1, 7, len(decoded) - 1):
        assert np.array_equal(frame_at(proxy, index * step), decoded[index])
    # between two grid times the later frame is returned
    assert np.array_equal(frame_at(proxy, 6.5 * step), decoded[7])
    # after the last frame but inside the film: the last frame
    assert np.array_equal(frame_at(proxy, result.duration_s), decoded[-1])


@pytest.mark.parametrize("t", [-0.1, SECONDS + 1])
def test_frame_at_rejects_times_outside_the_film(films, t):
    with pytest.raises(ValueError, match="outside the film"):
        frame_at(films["plain"], t)


def test_frame_at_unreadable(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(UnreadableMediaError, match="empty"):
        frame_at(empty, 0.0)


def test_frame_at_in_mpegts_with_one_keyframe(films, ffmpeg, tmp_path):
    ts = tmp_path / "film.ts"
    assert ffmpeg("-i", str(films["plain"]), "-c", "copy", str(ts)).returncode == 0
    from_ts = frame_at(ts, 1.5).astype(int)
    from_mp4 = frame_at(films["plain"], 1.5).astype(int)
    assert np.abs(from_ts - from_mp4).mean() < 1
