"""Browser proxy: H.264 yuv420p + AAC in a fast-start MP4 with a constant frame rate.

Browsers play H.264/AAC MP4 everywhere; HEVC and MPEG-4 Part 2 silently play sound
only (see DESIGN.md, "Media path"), so every film is transcoded. Steps per frame:

* constant frame rate -- output slot ``s`` (time ``s / fps``) shows the latest
  source frame whose timestamp ``t`` (relative to the first frame) has
  ``ceil(t * fps - 1/4) <= s``: sample-and-hold on the output grid, tolerating a
  quarter frame of timestamp jitter. Frames are duplicated to fill gaps and
  dropped when several land on one slot (the latest wins), as FFmpeg's ``fps``
  filter does; variable-frame-rate phone films thereby get a fixed frame grid.
* rotation is applied to the pixels (FFmpeg ``transpose``/``hflip,vflip``) and no
  display matrix is written; scaling uses bicubic ``scale`` to at most
  ``max_height`` lines with even sizes, never upscaling.
* short GOP (``keyint = round(gop_seconds * fps)``) so seeking lands quickly.
* nothing from the source's metadata is copied (new streams, ``fflags=+bitexact``
  so not even an encoder tag), and ``movflags=+faststart`` puts the index first.

Audio is resampled to 48 kHz AAC (mono stays mono, anything else becomes stereo)
and aligned to the first video frame by padding with silence or trimming.
"""

from __future__ import annotations

import math
import numbers
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Generic, TypeVar

import av
import av.error
import numpy as np
from av.video.frame import PictureType

from annotate.background import read_ahead
from annotate.media.errors import MediaError, UnreadableMediaError
from annotate.media.probe import ProbeResult, open_input, pick_video_stream, probe

Item = TypeVar("Item")

__all__ = [
    "X264_PRESETS",
    "ProxySettings",
    "make_proxy",
    "output_frame_rate",
    "output_size",
    "place_on_grid",
]

X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
AUDIO_RATE = 48_000
_JITTER_FRAMES = 0.25  # timestamps up to a quarter frame late still count for a slot
_NTSC_RATES = [Fraction(n * 1000, 1001) for n in (24, 30, 48, 60, 120, 240)]
_COMMON_RATES = _NTSC_RATES + [Fraction(n) for n in range(1, 241)] + [Fraction(15, 2), Fraction(25, 2)]


@dataclass(frozen=True)
class ProxySettings:
    """How to encode the browser proxy.

    Attributes
    ----------
    max_height : int
        Maximum picture height after rotation (never upscaled).
    crf : int
        libx264 constant rate factor, 0..51 (lower is better quality, bigger file).
    preset : str
        libx264 speed preset, e.g. ``"veryfast"``.
    gop_seconds : float
        Seconds between keyframes (at most).
    audio_bitrate : int
        AAC bit rate in bits per second.
    fps : float or None
        Output frame rate; None uses the source's average rate, snapped to a
        common rate within 1 % (29.97 becomes 30000/1001), else to a whole number.
    threads : int
        Encoder and decoder threads; 0 lets FFmpeg choose (all cores). Several workers on one
        machine each take their share so they do not fight over the cores.

    Examples
    --------
    >>> ProxySettings(max_height=480).crf
    23
    >>> ProxySettings(crf=60)
    Traceback (most recent call last):
    ...
    ValueError: crf must be a whole number from 0 to 51 (23 is a good default), got 60.
    """

    max_height: int = 720
    crf: int = 23
    preset: str = "veryfast"
    gop_seconds: float = 1.0
    audio_bitrate: int = 128_000
    fps: float | None = None
    threads: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.max_height, int) or self.max_height < 16:
            raise ValueError(f"max_height must be a whole number >= 16, got {self.max_height!r}.")
        if not isinstance(self.crf, int) or not 0 <= self.crf <= 51:
            raise ValueError(f"crf must be a whole number from 0 to 51 (23 is a good default), got {self.crf!r}.")
        if self.preset not in X264_PRESETS:
            raise ValueError(f"preset must be one of {', '.join(X264_PRESETS)}; got {self.preset!r}.")
        if not isinstance(self.gop_seconds, numbers.Real) or not 0 < self.gop_seconds <= 60:
            raise ValueError(f"gop_seconds must be > 0 and <= 60, got {self.gop_seconds!r}.")
        if not isinstance(self.audio_bitrate, int) or not 16_000 <= self.audio_bitrate <= 512_000:
            raise ValueError(f"audio_bitrate must be 16000..512000 bits per second, got {self.audio_bitrate!r}.")
        if self.fps is not None and (not isinstance(self.fps, numbers.Real) or not 0 < self.fps <= 240):
            raise ValueError(f"fps must be None or between 0 and 240, got {self.fps!r}.")


def output_size(display_width: int, display_height: int, max_height: int) -> tuple[int, int]:
    """Proxy picture size: at most ``max_height`` high, same aspect, even, never upscaled.

    Parameters
    ----------
    display_width, display_height : int
        Source picture size as displayed (after rotation).
    max_height : int
        Height limit.

    Returns
    -------
    tuple of int
        (width, height), both even.

    Examples
    --------
    >>> output_size(1920, 1080, 720)
    (1280, 720)
    >>> output_size(1080, 1920, 720)
    (404, 720)
    >>> output_size(321, 241, 720)
    (320, 240)
    """
    if display_width < 2 or display_height < 2:
        raise ValueError(f"Picture size {display_width}x{display_height} is too small.")
    if display_height <= max_height:
        return display_width - display_width % 2, display_height - display_height % 2
    height = max_height - max_height % 2
    width = max(2, 2 * round(display_width * height / display_height / 2))
    return width, height


def output_frame_rate(source_rate: float | Fraction | None, requested: float | None = None) -> Fraction:
    """Choose the proxy's constant frame rate.

    Parameters
    ----------
    source_rate : float or Fraction or None
        The source's average frame rate.
    requested : float or None
        ``ProxySettings.fps``; None means follow the source.

    Returns
    -------
    fractions.Fraction
        The rate snapped to the nearest common rate (whole numbers, 7.5, 12.5 and
        the NTSC rates n*1000/1001) when within 1 %, else rounded to a whole number.

    Examples
    --------
    >>> output_frame_rate(29.97), output_frame_rate(25.02), output_frame_rate(13.72)
    (Fraction(30000, 1001), Fraction(25, 1), Fraction(14, 1))
    >>> output_frame_rate(29.97, requested=15)
    Fraction(15, 1)
    """
    rate = requested if requested is not None else source_rate
    if rate is None or not rate > 0:
        raise ValueError(f"Cannot choose a frame rate from {source_rate!r}; set ProxySettings.fps.")
    value = float(rate)
    nearest = min(_COMMON_RATES, key=lambda c: abs(float(c) - value))
    if abs(float(nearest) - value) <= 0.01 * value:
        return nearest
    # Averages of variable-frame-rate films (e.g. 13.7) are not worth an odd time base.
    return Fraction(max(1, round(value)))


def place_on_grid(times_s: list[float], fps: float | Fraction, end_s: float) -> list[int]:
    """Which source frame fills each constant-rate output slot (sample and hold).

    Parameters
    ----------
    times_s : list of float
        Source frame timestamps in seconds from the first frame, in display order.
    fps : float or Fraction
        Output frame rate.
    end_s : float
        End of the video (last frame's time plus its duration).

    Returns
    -------
    list of int
        For each output slot, the index into ``times_s`` of the frame shown.

    Examples
    --------
    >>> place_on_grid([0.0, 0.1, 0.35, 0.4], 10, 0.5)  # gap duplicated, crowded slot dropped
    [0, 1, 1, 1, 3]
    """
    grid: _GridPlacer[int] = _GridPlacer(fps)
    shown: list[int] = []
    for index, t in enumerate(times_s):
        for placed, slots in grid.add(index, t):
            shown.extend([placed] * len(slots))
    for placed, slots in grid.finish(end_s):
        shown.extend([placed] * len(slots))
    return shown


class _GridPlacer(Generic[Item]):
    """Streaming form of ``place_on_grid``: holds one frame until the next arrives."""

    def __init__(self, fps: float | Fraction) -> None:
        self.fps = float(fps)
        self.pending: Item | None = None
        self.pending_slot = 0

    def slot_of(self, t: float) -> int:
        return max(0, math.ceil(t * self.fps - _JITTER_FRAMES))

    def add(self, item: Item, t: float) -> list[tuple[Item, range]]:
        slot = self.slot_of(t)
        if self.pending is None:
            self.pending, self.pending_slot = item, 0  # the first frame starts the grid
            return []
        if slot <= self.pending_slot:
            self.pending = item  # several frames in one slot: the latest wins
            return []
        emitted = [(self.pending, range(self.pending_slot, slot))]
        self.pending, self.pending_slot = item, slot
        return emitted

    def finish(self, end_s: float) -> list[tuple[Item, range]]:
        if self.pending is None:
            return []
        end_slot = round(end_s * self.fps)
        if self.pending_slot >= end_slot and self.pending_slot > 0:
            emitted = []  # the last frame's slot lies at or past the end of the video
        else:
            emitted = [(self.pending, range(self.pending_slot, max(end_slot, self.pending_slot + 1)))]
        self.pending = None
        return emitted


def make_proxy(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    settings: ProxySettings = ProxySettings(),
    progress: Callable[[float], None] | None = None,
) -> ProbeResult:
    """Transcode a film into a browser proxy (see module docstring for what it does).

    Writes to a hidden temporary file next to ``dst`` and renames it at the end,
    so ``dst`` never holds a half-written proxy.

    Parameters
    ----------
    src : str or os.PathLike
        Original film.
    dst : str or os.PathLike
        Proxy file to write (MP4); its folder must exist. Replaced if present.
    settings : ProxySettings
        Encoding settings.
    progress : callable, optional
        Called with fractions from 0.0 to 1.0 while working.

    Returns
    -------
    ProbeResult
        ``probe`` of the written proxy.

    Raises
    ------
    UnreadableMediaError
        If the source cannot be used as a film.
    MediaError
        If the proxy cannot be written (e.g. the folder does not exist).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from tests.support.synthetic import make_synthetic_film
    >>> with tempfile.TemporaryDirectory() as d:
    ...     src = make_synthetic_film(pathlib.Path(d) / "in.mp4", 1.0, 64, 48, fps=10,
    ...                               codec="mpeg4", rotation=90)
    ...     r = make_proxy(src, pathlib.Path(d) / "proxy.mp4")
    >>> (r.video_codec, r.pix_fmt, r.display_width, r.display_height, r.rotation)
    ('h264', 'yuv420p', 48, 64, 0)
    """
    source_path, target = Path(src), Path(dst)
    source = probe(source_path)
    if not target.parent.is_dir():
        raise MediaError(f"Cannot write the proxy: folder '{target.parent}' does not exist.")
    if target.exists() and target.resolve() == source_path.resolve():
        raise MediaError("The proxy must be written to a different file than the original.")
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
    report = _Progress(progress)
    report(0.0)
    try:
        _transcode(source_path, partial, source, settings, report)
        os.replace(partial, target)
    except av.error.FFmpegError as exc:
        raise UnreadableMediaError(
            f"Making the browser copy of '{source_path.name}' failed while reading or "
            f"encoding ({exc}). The film may be damaged; try the original file again."
        ) from exc
    finally:
        partial.unlink(missing_ok=True)
    result = probe(target)
    report(1.0)
    return result


class _Progress:
    def __init__(self, callback: Callable[[float], None] | None) -> None:
        self.callback = callback
        self.last = -1.0

    def __call__(self, fraction: float) -> None:
        fraction = min(1.0, max(0.0, fraction))
        if self.callback is not None and (fraction - self.last >= 0.01 or fraction == 1.0):
            self.last = fraction
            self.callback(fraction)


def _transcode(src: Path, partial: Path, source: ProbeResult, settings: ProxySettings, report: _Progress) -> None:
    rate = output_frame_rate(source.frame_rate or source.fps, settings.fps)
    width, height = output_size(source.display_width, source.display_height, settings.max_height)
    options = {"movflags": "+faststart", "fflags": "+bitexact"}
    with open_input(src) as inp, av.open(str(partial), "w", format="mp4", options=options) as out:
        video_in = pick_video_stream(inp)
        video_in.thread_type = "AUTO"
        if settings.threads:
            video_in.codec_context.thread_count = settings.threads
        video_out = out.add_stream("libx264", rate=rate)
        video_out.width, video_out.height, video_out.pix_fmt = width, height, "yuv420p"
        video_out.codec_context.time_base = 1 / rate
        video_out.codec_context.gop_size = max(1, round(settings.gop_seconds * float(rate)))
        x264 = {"crf": str(settings.crf), "preset": settings.preset}
        if settings.threads:
            x264["threads"] = str(settings.threads)
        video_out.codec_context.options = x264
        # PyAV's default thread type (SLICE) makes libx264 use sliced threads; frame threads, as the
        # ffmpeg CLI gets them, encode about 1.3x faster on two cores (bench/bench_proxy.py).
        video_out.codec_context.thread_type = "AUTO"
        video = _VideoWriter(out, video_out, rate, width, height, source)

        audio_in = inp.streams.audio[0] if inp.streams.audio else None
        audio = None
        if audio_in is not None and audio_in.codec_context is not None:
            layout = "mono" if (source.audio_channels or 2) == 1 else "stereo"
            audio_out = out.add_stream("aac", rate=AUDIO_RATE, layout=layout)
            audio_out.codec_context.bit_rate = settings.audio_bitrate
            audio = _AudioWriter(out, audio_out, layout, source.start_time_s)

        streams = [video_in] + ([audio_in] if audio is not None else [])

        def decoded() -> Iterator[_Item]:
            for packet in inp.demux(*streams):
                if packet.stream is video_in:
                    for frame in packet.decode():
                        for picture, slots in video.place(frame):
                            yield _Item(picture, slots, video.seconds_done)
                elif audio is not None:
                    for frame in packet.decode():
                        yield _Item(frame, None, 0.0)
            for picture, slots in video.flush():
                yield _Item(picture, slots, video.seconds_done)

        # Decoding and scaling run in a second thread while this one encodes (PyAV releases the
        # GIL inside FFmpeg), as the ffmpeg CLI overlaps its stages; the order of frames, and so
        # the proxy's bytes, are the same as one loop would give.
        with closing(read_ahead(decoded(), depth=8, name="proxy-decode")) as items:
            for item in items:
                if item.slots is None:
                    if audio is not None:
                        audio.add(item.frame)
                    continue
                video.encode(item.frame, item.slots)
                report(item.seconds_done / max(source.duration_s, 1e-6) * 0.98)
        video.finish()
        if audio is not None:
            audio.finish()


@dataclass(frozen=True)
class _Item:
    frame: Any  # a scaled picture (slots given) or a decoded audio frame (slots None)
    slots: range | None
    seconds_done: float


class _VideoWriter:
    def __init__(self, out, stream, rate: Fraction, width: int, height: int, source: ProbeResult) -> None:
        self.out, self.stream, self.rate = out, stream, rate
        self.width, self.height, self.rotation = width, height, source.rotation
        self.origin = source.start_time_s
        self.frame_s = 1.0 / (source.fps or float(rate))
        self.grid: _GridPlacer[av.VideoFrame] = _GridPlacer(rate)
        self.graph: av.filter.Graph | None = None
        self.graph_key: tuple[int, int, str] | None = None
        self.end_s = 0.0
        self.seconds_done = 0.0

    def place(self, frame) -> list[tuple[Any, range]]:
        """Decoder side: put ``frame`` on the output grid; the scaled pictures now due, with their slots."""
        t = (frame.time - self.origin) if frame.time is not None else self.end_s
        duration = float(frame.duration * frame.time_base) if frame.duration and frame.time_base else 0.0
        self.end_s = max(self.end_s, t + (duration or self.frame_s))
        self.seconds_done = t
        return [(self._filter(held), slots) for held, slots in self.grid.add(frame, t)]

    def flush(self) -> list[tuple[Any, range]]:
        """Decoder side, at the end: the pictures still held by the grid."""
        return [(self._filter(held), slots) for held, slots in self.grid.finish(self.end_s)]

    def finish(self) -> None:
        self.out.mux(self.stream.encode(None))

    def encode(self, picture, slots: range) -> None:
        """Encoder side: one scaled picture into every output slot it fills."""
        picture.pict_type = PictureType.NONE  # let x264 choose; don't copy source keyframes
        picture.time_base = 1 / self.rate
        for slot in slots:
            picture.pts = slot
            self.out.mux(self.stream.encode(picture))

    def _filter(self, frame):
        key = (frame.width, frame.height, frame.format.name)
        if key != self.graph_key:
            self.graph = _build_graph(frame, self.rotation, self.width, self.height)
            self.graph_key = key
        graph = self.graph
        if graph is None:  # cannot happen: built above on the first frame
            raise MediaError("The video filter graph was not built.")
        graph.vpush(frame)
        return graph.vpull()


def _build_graph(frame, rotation: int, width: int, height: int) -> av.filter.Graph:
    graph = av.filter.Graph()
    nodes = [
        graph.add_buffer(
            width=frame.width, height=frame.height, format=frame.format, time_base=frame.time_base or Fraction(1, 1000)
        )
    ]
    if rotation == 90:
        nodes.append(graph.add("transpose", "clock"))
    elif rotation == 270:
        nodes.append(graph.add("transpose", "cclock"))
    elif rotation == 180:
        nodes += [graph.add("hflip"), graph.add("vflip")]
    nodes.append(graph.add("scale", f"{width}:{height}:flags=bicubic"))
    nodes.append(graph.add("format", "yuv420p"))
    nodes.append(graph.add("setsar", "1"))
    nodes.append(graph.add("buffersink"))
    graph.link_nodes(*nodes)
    graph.configure()
    return graph


class _AudioWriter:
    """Resamples to 48 kHz fltp and aligns the first sample with the first video frame."""

    def __init__(self, out, stream, layout: str, origin_s: float) -> None:
        self.out, self.stream, self.layout, self.origin = out, stream, layout, origin_s
        self.resampler = av.AudioResampler(format="fltp", layout=layout, rate=AUDIO_RATE)
        self.written = 0
        self.to_drop = 0
        self.started = False

    def add(self, frame) -> None:
        if not self.started:
            self.started = True
            offset = int(round(((frame.time or 0.0) - self.origin) * AUDIO_RATE))
            if offset > 0:
                self._encode_samples(np.zeros((self._channels(), offset), np.float32))
            else:
                self.to_drop = -offset
        for resampled in self.resampler.resample(frame):
            self._encode_frame(resampled)

    def finish(self) -> None:
        for resampled in self.resampler.resample(None):
            self._encode_frame(resampled)
        self.out.mux(self.stream.encode(None))

    def _channels(self) -> int:
        return 1 if self.layout == "mono" else 2

    def _encode_frame(self, frame) -> None:
        if self.to_drop:
            samples = frame.to_ndarray()
            dropped = min(self.to_drop, samples.shape[1])
            self.to_drop -= dropped
            if dropped == samples.shape[1]:
                return
            self._encode_samples(samples[:, dropped:])
            return
        frame.pts = self.written
        frame.time_base = Fraction(1, AUDIO_RATE)
        self.written += frame.samples
        self.out.mux(self.stream.encode(frame))

    def _encode_samples(self, samples: np.ndarray) -> None:
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples, np.float32), format="fltp", layout=self.layout)
        frame.sample_rate = AUDIO_RATE
        frame.pts = self.written
        frame.time_base = Fraction(1, AUDIO_RATE)
        self.written += samples.shape[1]
        self.out.mux(self.stream.encode(frame))
