"""Activity under the timeline: motion energy, loudness, and a filmstrip of thumbnails.

Motion energy per time step is the mean absolute difference between consecutive
frames, on grayscale pictures downscaled to ``width`` pixels (frame differencing,
e.g. Ramseyer & Tschacher's Motion Energy Analysis, and OpenCV's ``absdiff``),
averaged over the frame pairs whose later frame falls into the step, in grey
levels 0..255. Every frame is decoded (PyAV), but each is reduced to the small
grayscale picture by FFmpeg's swscale straight after decoding, and the loop
filter is skipped, which changes nothing the difference can see.

Loudness per step is the RMS level of the sound in dB relative to full scale,
``20 * log10(sqrt(mean(x**2)))`` over all samples and channels of the step with
samples in -1..1 (a full-scale sine reads -3.01 dB); digital silence is floored
at ``SILENCE_DB``. Times are seconds from the first video frame, the clock of the
proxy's frame grid; step ``i`` covers ``[i * step_s, (i + 1) * step_s)``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass

import av
import cv2
import numpy as np

from annotate.media.probe import open_input, pick_video_stream, probe
from annotate.media.thumbs import _decode_at

__all__ = ["SILENCE_DB", "ActivityCurve", "activity_curve", "filmstrip", "stitch_filmstrip"]

SILENCE_DB = -120.0


@dataclass(frozen=True)
class ActivityCurve:
    """Motion and loudness per time step.

    Attributes
    ----------
    times : numpy.ndarray
        Start of each step in seconds from the first frame.
    motion : numpy.ndarray
        Mean absolute grey-level difference between consecutive frames (0..255);
        0 in a step without a frame pair.
    loudness : numpy.ndarray or None
        RMS level in dB full scale (<= 0, floored at ``SILENCE_DB``); None
        without a sound track.
    fps : float
        Frame rate of the film.
    step_s : float
        Length of a step in seconds.

    Examples
    --------
    >>> c = ActivityCurve(np.array([0.0, 0.5]), np.array([1.0, 4.0]), None, 25.0, 0.5)
    >>> float(c.times[np.argmax(c.motion)])
    0.5
    """

    times: np.ndarray
    motion: np.ndarray
    loudness: np.ndarray | None
    fps: float
    step_s: float


def activity_curve(
    src: str | os.PathLike,
    *,
    step_s: float = 0.5,
    width: int = 160,
    progress: Callable[[float], None] | None = None,
) -> ActivityCurve:
    """Compute motion energy and loudness per time step of a film.

    Parameters
    ----------
    src : str or os.PathLike
        The film (normally the proxy).
    step_s : float
        Step length in seconds (> 0).
    width : int
        Width in pixels of the grayscale pictures that are compared (>= 8).
    progress : callable, optional
        Called with fractions from 0.0 to 1.0.

    Returns
    -------
    ActivityCurve

    Raises
    ------
    ValueError
        If ``step_s`` or ``width`` is out of range.
    UnreadableMediaError
        If the film cannot be read.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from tests.support.synthetic import make_synthetic_film
    >>> with tempfile.TemporaryDirectory() as d:
    ...     film = make_synthetic_film(pathlib.Path(d) / "f.mp4", 1.0, 64, 48, fps=10)
    ...     curve = activity_curve(film, step_s=0.25, width=32)
    >>> curve.times.tolist(), curve.motion.shape, curve.loudness.shape
    ([0.0, 0.25, 0.5, 0.75], (4,), (4,))
    """
    if not isinstance(step_s, (int, float)) or not 0 < step_s < math.inf:
        raise ValueError(f"step_s must be a positive number of seconds, got {step_s!r}.")
    if not isinstance(width, int) or width < 8:
        raise ValueError(f"width must be a whole number >= 8 pixels, got {width!r}.")
    info = probe(src)
    steps = max(1, math.ceil(info.duration_s / step_s - 1e-9))
    report = progress or (lambda _fraction: None)
    report(0.0)
    motion_sum = np.zeros(steps)
    motion_count = np.zeros(steps)
    height = max(2, 2 * round(width * info.height / info.width / 2))
    with open_input(src) as container:
        video = pick_video_stream(container)
        video.thread_type = "AUTO"
        video.codec_context.options = {"skip_loop_filter": "all"}
        previous = None
        for frame in container.decode(video):
            t = (frame.time if frame.time is not None else 0.0) - info.start_time_s
            small = frame.reformat(width=width, height=height, format="gray").to_ndarray()
            if previous is not None:
                step = min(steps - 1, max(0, int(t / step_s)))
                motion_sum[step] += cv2.absdiff(small, previous).mean()
                motion_count[step] += 1
            previous = small
            report(0.9 * t / max(info.duration_s, 1e-6))
    motion = np.divide(motion_sum, motion_count, out=np.zeros(steps), where=motion_count > 0)
    loudness = _loudness(src, info.start_time_s, step_s, steps) if info.has_audio else None
    report(1.0)
    return ActivityCurve(np.arange(steps) * step_s, motion, loudness, info.fps, float(step_s))


def _loudness(src, origin_s: float, step_s: float, steps: int) -> np.ndarray:
    energy = np.zeros(steps)
    count = np.zeros(steps)
    with open_input(src) as container:
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        as_float = av.AudioResampler(format="fltp", layout=stream.codec_context.layout, rate=rate)
        position = None
        for frame in container.decode(stream):
            if frame.time is not None:
                position = int(round((frame.time - origin_s) * rate))
            elif position is None:
                position = 0
            for converted in as_float.resample(frame):
                samples = converted.to_ndarray().astype(np.float64)
                index = position + np.arange(samples.shape[1])
                keep = index >= 0
                step = np.minimum(index[keep] // max(1, round(step_s * rate)), steps - 1)
                energy += np.bincount(step, (samples[:, keep] ** 2).sum(axis=0), steps)
                count += np.bincount(step, minlength=steps) * samples.shape[0]
                position += samples.shape[1]
    mean_square = np.divide(energy, count, out=np.zeros(steps), where=count > 0)
    with np.errstate(divide="ignore"):
        level = 10 * np.log10(mean_square)
    return np.maximum(level, SILENCE_DB)


def filmstrip(src: str | os.PathLike, *, count: int = 12, height: int = 72) -> list[tuple[float, np.ndarray]]:
    """Thumbnails at the centres of ``count`` equal slices of the film.

    Parameters
    ----------
    src : str or os.PathLike
        The film.
    count : int
        Number of thumbnails (>= 1).
    height : int
        Thumbnail height in pixels (>= 8); the width keeps the display aspect.

    Returns
    -------
    list of (float, numpy.ndarray)
        ``(t, picture)``: the time in seconds and an upright RGB uint8 picture.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from tests.support.synthetic import make_synthetic_film
    >>> with tempfile.TemporaryDirectory() as d:
    ...     film = make_synthetic_film(pathlib.Path(d) / "f.mp4", 1.0, 64, 48, fps=10)
    ...     strip = filmstrip(film, count=4, height=24)
    >>> [t for t, _ in strip], strip[0][1].shape
    ([0.125, 0.375, 0.625, 0.875], (24, 32, 3))
    """
    if not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a whole number >= 1, got {count!r}.")
    if not isinstance(height, int) or height < 8:
        raise ValueError(f"height must be a whole number >= 8 pixels, got {height!r}.")
    info = probe(src)
    times = [(i + 0.5) * info.duration_s / count for i in range(count)]
    with open_input(src) as container:
        pictures = _decode_at(container, info, times)
    strip = []
    for t, picture in zip(times, pictures, strict=False):
        width = max(1, round(picture.shape[1] * height / picture.shape[0]))
        strip.append((t, cv2.resize(picture, (width, height), interpolation=cv2.INTER_AREA)))
    return strip


def stitch_filmstrip(strip: list[tuple[float, np.ndarray]]) -> np.ndarray:
    """Join filmstrip thumbnails side by side into one RGB picture.

    Examples
    --------
    >>> tiles = [(0.0, np.zeros((8, 10, 3), np.uint8)), (1.0, np.ones((8, 12, 3), np.uint8))]
    >>> stitch_filmstrip(tiles).shape
    (8, 22, 3)
    """
    if not strip:
        raise ValueError("The filmstrip is empty; make it with count >= 1.")
    return np.hstack([picture for _t, picture in strip])
