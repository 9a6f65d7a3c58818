"""Still frames from a film: single frames by time, and evenly spaced thumbnails.

Frames are found by seeking to the keyframe at or before the wanted time and
decoding forward (PyAV), then turned upright using the film's display rotation
(see ``annotate.media.probe``). Times are seconds from the first video frame, the
same clock the proxy's constant frame grid uses. Thumbnails sit at the centres of
``count`` equal slices of the film, ``t_i = (i + 1/2) * duration / count``, so none
falls on the black first or last frame. Resizing uses OpenCV's area interpolation
and JPEG encoding OpenCV's ``imwrite``.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from annotate.media.errors import MediaError
from annotate.media.probe import ProbeResult, open_input, pick_video_stream, probe, time_base_of

__all__ = ["frame_at", "make_thumbnails"]

_TIME_TOLERANCE_S = 1e-4  # a frame stamped 0.1 ms before the wanted time still counts
_JPEG_QUALITY = 85


def frame_at(src: str | os.PathLike, t_s: float) -> np.ndarray:
    """Return the first frame shown at or after ``t_s``, upright, as RGB.

    Parameters
    ----------
    src : str or os.PathLike
        The film.
    t_s : float
        Seconds from the first video frame, 0 <= t_s <= duration. Past the last
        frame, the last frame is returned.

    Returns
    -------
    numpy.ndarray
        uint8 array of shape (height, width, 3), RGB, rotated to display upright.

    Raises
    ------
    ValueError
        If ``t_s`` is outside the film.
    UnreadableMediaError
        If the film cannot be read.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from tests.support.synthetic import make_synthetic_film
    >>> with tempfile.TemporaryDirectory() as d:
    ...     film = make_synthetic_film(pathlib.Path(d) / "f.mp4", 1.0, 64, 48, fps=10,
    ...                                rotation=90)
    ...     frame = frame_at(film, 0.5)
    >>> frame.shape, frame.dtype.name
    ((64, 48, 3), 'uint8')
    """
    info = probe(src)
    _check_time(t_s, info)
    with open_input(src) as container:
        return _decode_at(container, info, [float(t_s)])[0]


def make_thumbnails(src: str | os.PathLike, out_dir: str | os.PathLike, count: int = 8, width: int = 160) -> list[Path]:
    """Write ``count`` JPEG thumbnails at evenly spaced times.

    Parameters
    ----------
    src : str or os.PathLike
        The film.
    out_dir : str or os.PathLike
        Folder for ``thumb_01.jpg``, ``thumb_02.jpg``, ...; created if missing.
    count : int
        Number of thumbnails (>= 1).
    width : int
        Thumbnail width in pixels (>= 8); height keeps the aspect ratio.

    Returns
    -------
    list of pathlib.Path
        The JPEG files in time order.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from tests.support.synthetic import make_synthetic_film
    >>> with tempfile.TemporaryDirectory() as d:
    ...     film = make_synthetic_film(pathlib.Path(d) / "f.mp4", 1.0, 64, 48, fps=10)
    ...     thumbs = make_thumbnails(film, pathlib.Path(d) / "thumbs", count=3, width=32)
    ...     [p.name for p in thumbs]
    ['thumb_01.jpg', 'thumb_02.jpg', 'thumb_03.jpg']
    """
    if not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a whole number >= 1, got {count!r}.")
    if not isinstance(width, int) or width < 8:
        raise ValueError(f"width must be a whole number >= 8 pixels, got {width!r}.")
    info = probe(src)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    times = [(i + 0.5) * info.duration_s / count for i in range(count)]
    with open_input(src) as container:
        frames = _decode_at(container, info, times)
    paths = []
    for number, frame in enumerate(frames, start=1):
        height = max(1, round(frame.shape[0] * width / frame.shape[1]))
        small = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
        path = folder / f"thumb_{number:02d}.jpg"
        ok = cv2.imwrite(str(path), cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY])
        if not ok:
            raise MediaError(f"Could not write thumbnail '{path}'. Check that the folder is writable.")
        paths.append(path)
    return paths


def _check_time(t_s: float, info: ProbeResult) -> None:
    if not 0 <= t_s <= info.duration_s + _TIME_TOLERANCE_S:
        raise ValueError(
            f"Time {t_s!r} s is outside the film, which lasts {info.duration_s:.3f} s; choose a time from 0 to the end."
        )


def _decode_at(container, info: ProbeResult, times: list[float]) -> list[np.ndarray]:
    """Decode the frame at or after each time (seconds from the first frame)."""
    stream = pick_video_stream(container)
    stream.thread_type = "AUTO"
    turns = -(info.rotation // 90)  # np.rot90 turns counter-clockwise for positive k
    pictures = []
    for t in times:
        wanted = info.start_time_s + t - _TIME_TOLERANCE_S
        chosen = _decode_from(container, stream, wanted, max(0, int(wanted / time_base_of(stream))))
        if chosen is None:
            # Formats without an index (e.g. MPEG-TS) may seek past the last keyframe
            # before ``wanted``; decoding then yields nothing, so read from the start.
            chosen = _decode_from(container, stream, wanted, 0)
        if chosen is None:
            raise MediaError(f"No picture could be decoded at {t:.3f} s in '{container.name}'.")
        picture = chosen.to_ndarray(format="rgb24")
        pictures.append(np.ascontiguousarray(np.rot90(picture, k=turns)) if turns else picture)
    return pictures


def _decode_from(container, stream, wanted: float, seek_pts: int):
    """Seek to ``seek_pts`` and decode up to the first frame at or after ``wanted``."""
    container.seek(seek_pts, stream=stream, backward=True)
    chosen = None
    for frame in container.decode(stream):
        chosen = frame
        if frame.time is not None and frame.time >= wanted:
            break
    return chosen
