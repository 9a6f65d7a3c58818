"""Inspect a film and decide whether it can be used.

``probe`` reads the container header with PyAV (FFmpeg's libavformat), decodes a
few frames at the start and a few near the stated end. Decoding near the end is
what catches films cut short by an interrupted copy: an MP4 whose index ('moov'
box) is intact can still lack the media data it points to. The check seeks, so it
costs the same for a 20 MB and a 2 GB film.

Rotation follows FFmpeg's display matrix convention (libavutil/display.h):
``av_display_rotation_get`` returns the counter-clockwise angle the matrix
applies; the clockwise angle needed to show the picture upright is its negation
modulo 360, as in ``ffmpeg``'s autorotate (fftools ``get_rotation``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error
from av.container import InputContainer
from av.stream import Disposition
from av.video.stream import VideoStream

from annotate.media.errors import UnreadableMediaError

__all__ = ["ProbeResult", "clockwise_rotation", "open_input", "pick_video_stream", "probe"]

_START_FRAMES = 3  # frames decoded at the start to prove the video decodes
_START_PACKET_BUDGET = 300  # give up finding a first frame after this many packets
_END_FRAME_BUDGET = 600  # frames decoded after seeking near the end (one long GOP)
_END_PROBE_SECONDS = 1.0  # seek this far before the stated end
_ISO_BMFF_BOX_TYPES = {b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot"}


def time_base_of(stream: av.stream.Stream) -> Fraction:
    """The stream's time base; a stream without one cannot be timed (a broken or unusual file)."""
    if stream.time_base is None:
        raise UnreadableMediaError("A stream of this file has no time base, so its frames cannot be timed.")
    return stream.time_base


@dataclass(frozen=True)
class ProbeResult:
    """Facts about a film needed to accept it and to make a browser proxy.

    Attributes
    ----------
    duration_s : float
        Duration of the video stream in seconds (container duration if the stream
        does not state one).
    width, height : int
        Coded picture size in pixels.
    display_width, display_height : int
        Picture size as shown: after pixel aspect ratio and rotation.
    rotation : int
        0, 90, 180 or 270: clockwise degrees needed to display the picture upright.
    fps : float
        Average frame rate.
    video_codec : str
        FFmpeg decoder name, e.g. ``"h264"``, ``"hevc"``, ``"mpeg4"``.
    pix_fmt : str
        Pixel format of the decoded picture, e.g. ``"yuv420p"``.
    has_audio : bool
        Whether there is an audio stream.
    audio_codec : str or None
        Audio decoder name, e.g. ``"aac"``; None without audio.
    container : str
        FFmpeg format name, e.g. ``"mov,mp4,m4a,3gp,3g2,mj2"``.
    size_bytes : int
        File size in bytes.
    frame_rate : fractions.Fraction or None
        Exact average frame rate (e.g. 30000/1001) when known.
    audio_sample_rate : int or None
        Audio sample rate in Hz.
    audio_channels : int or None
        Number of audio channels.
    start_time_s : float
        Timestamp of the first decoded video frame in seconds.

    Examples
    --------
    >>> r = ProbeResult(duration_s=2.0, width=160, height=120, display_width=120,
    ...                 display_height=160, rotation=90, fps=15.0, video_codec="h264",
    ...                 pix_fmt="yuv420p", has_audio=False, audio_codec=None,
    ...                 container="mp4", size_bytes=1000)
    >>> r.display_width < r.display_height
    True
    """

    duration_s: float
    width: int
    height: int
    display_width: int
    display_height: int
    rotation: int
    fps: float
    video_codec: str
    pix_fmt: str
    has_audio: bool
    audio_codec: str | None
    container: str
    size_bytes: int
    frame_rate: Fraction | None = None
    audio_sample_rate: int | None = None
    audio_channels: int | None = None
    start_time_s: float = 0.0


def probe(path: str | os.PathLike) -> ProbeResult:
    """Check that a file is a usable film and describe it.

    Decodes a few frames at the start and seeks to decode frames near the stated
    end, so truncated files are rejected without decoding the whole film.

    Parameters
    ----------
    path : str or os.PathLike
        The film file.

    Returns
    -------
    ProbeResult

    Raises
    ------
    UnreadableMediaError
        If the file is missing, empty, not a media file, has no video stream, or
        is truncated or corrupt. The message names the reason and what to do.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from tests.support.synthetic import make_synthetic_film
    >>> with tempfile.TemporaryDirectory() as d:
    ...     film = make_synthetic_film(pathlib.Path(d) / "f.mp4", 1.0, 64, 48, fps=10)
    ...     r = probe(film)
    >>> (r.video_codec, r.width, r.height, r.rotation, r.has_audio, round(r.duration_s, 1))
    ('h264', 64, 48, 0, True, 1.0)
    """
    film = Path(path)
    size = _check_file(film)
    container = open_input(film)
    try:
        return _probe_open(film, container, size)
    finally:
        container.close()


def open_input(path: str | os.PathLike) -> InputContainer:
    """Open a film for reading, turning FFmpeg errors into a clear reason.

    Parameters
    ----------
    path : str or os.PathLike
        The film file.

    Returns
    -------
    av.container.InputContainer
        The caller must close it.

    Raises
    ------
    UnreadableMediaError
        If the file is missing, empty or not a readable media file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     notes = pathlib.Path(d) / "notes.mp4"
    ...     _ = notes.write_text("hello")
    ...     open_input(notes)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    annotate.media.errors.UnreadableMediaError: The file 'notes.mp4' contains text, not video...
    """
    film = Path(path)
    _check_file(film)
    try:
        return av.open(str(film), mode="r", metadata_errors="replace")
    except av.error.FFmpegError as exc:
        raise UnreadableMediaError(_explain_open_failure(film, exc)) from exc


def pick_video_stream(container: InputContainer) -> VideoStream:
    """Return the main video stream, skipping embedded cover pictures.

    Parameters
    ----------
    container : av.container.InputContainer
        An open film.

    Returns
    -------
    av.video.stream.VideoStream

    Raises
    ------
    UnreadableMediaError
        If there is no video stream (e.g. an audio-only file).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from tests.support.synthetic import make_synthetic_film
    >>> with tempfile.TemporaryDirectory() as d:
    ...     film = make_synthetic_film(pathlib.Path(d) / "f.mp4", 0.5, 64, 48, fps=10)
    ...     with open_input(film) as c:
    ...         pick_video_stream(c).codec_context.name
    'h264'
    """
    videos = [s for s in container.streams.video if not (s.disposition & Disposition.attached_pic)]
    if videos:
        return videos[0]
    name = Path(container.name).name
    if container.streams.audio:
        codec = container.streams.audio[0].codec_context
        codec_name = codec.name if codec is not None else "unknown codec"
        raise UnreadableMediaError(
            f"The file '{name}' contains only audio ({codec_name}), no video stream. "
            "Choose the film file that contains the picture."
        )
    raise UnreadableMediaError(f"The file '{name}' has no video stream. Choose the original film file.")


def clockwise_rotation(counter_clockwise_degrees: float) -> int:
    """Convert a display-matrix angle to the clockwise turn that shows a film upright.

    Parameters
    ----------
    counter_clockwise_degrees : float
        Angle as returned by FFmpeg's ``av_display_rotation_get`` (PyAV's
        ``VideoFrame.rotation``).

    Returns
    -------
    int
        0, 90, 180 or 270 (rounded to the nearest quarter turn).

    Examples
    --------
    >>> clockwise_rotation(-90), clockwise_rotation(90), clockwise_rotation(180)
    (90, 270, 180)
    """
    quarter_turns = round(-float(counter_clockwise_degrees) / 90.0) % 4
    return int(quarter_turns * 90)


def _check_file(film: Path) -> int:
    if not film.exists():
        raise UnreadableMediaError(f"The file '{film}' does not exist. Check the path or upload the film again.")
    if not film.is_file():
        raise UnreadableMediaError(f"'{film}' is a folder, not a film file. Choose a file.")
    size = film.stat().st_size
    if size == 0:
        raise UnreadableMediaError(
            f"The file '{film.name}' is empty (0 bytes): the recording, copy or upload "
            "did not finish. Copy the original film again."
        )
    return size


def _explain_open_failure(film: Path, exc: av.error.FFmpegError) -> str:
    with film.open("rb") as handle:
        head = handle.read(4096)
    detail = str(exc)
    if "moov atom not found" in detail or head[4:8] in _ISO_BMFF_BOX_TYPES:
        return (
            f"The file '{film.name}' looks like an MP4/MOV film but is incomplete or "
            "damaged: its index (the 'moov' box) is missing or unreadable. This "
            "usually means the recording or the copy was interrupted. Copy the "
            "original film from the camera or phone again."
        )
    if _looks_like_text(head):
        return (
            f"The file '{film.name}' contains text, not video, although its name "
            "looks like a film. Choose the original film file."
        )
    return (
        f"The file '{film.name}' is not a video format that can be read "
        f"(FFmpeg says: {detail}). Choose the original film, or convert it to MP4."
    )


def _looks_like_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return printable >= 0.95 * len(text)


def _probe_open(film: Path, container: InputContainer, size: int) -> ProbeResult:
    video = pick_video_stream(container)
    codec = video.codec_context
    if codec is None:
        raise UnreadableMediaError(
            f"The video in '{film.name}' uses a codec that cannot be decoded here. "
            "Convert the film to H.264 MP4 and upload it again."
        )
    first_frames = _decode_start(film, container, video)
    first = first_frames[0]
    start_time_s = float(first.time) if first.time is not None else 0.0
    duration_s = _stated_duration(film, container, video, start_time_s)
    frame_rate = _average_rate(video, first_frames)
    _check_end_decodes(film, container, video, start_time_s, duration_s, frame_rate)

    rotation = clockwise_rotation(first.rotation)
    width, height = first.width, first.height
    sar = video.sample_aspect_ratio
    shown_width = round(width * sar) if sar and sar > 0 else width
    if rotation in (90, 270):
        display_width, display_height = height, shown_width
    else:
        display_width, display_height = shown_width, height

    audio = container.streams.audio[0] if container.streams.audio else None
    audio_ctx = audio.codec_context if audio is not None else None
    return ProbeResult(
        duration_s=duration_s,
        width=width,
        height=height,
        display_width=int(display_width),
        display_height=int(display_height),
        rotation=rotation,
        fps=float(frame_rate),
        video_codec=codec.name,
        pix_fmt=first.format.name,
        has_audio=audio is not None,
        audio_codec=(audio_ctx.name if audio_ctx is not None else "unknown") if audio else None,
        container=container.format.name,
        size_bytes=size,
        frame_rate=frame_rate,
        audio_sample_rate=(audio_ctx.sample_rate or None) if audio_ctx is not None else None,
        audio_channels=(audio_ctx.channels or None) if audio_ctx is not None else None,
        start_time_s=start_time_s,
    )


def _truncated(film: Path, what: str) -> UnreadableMediaError:
    return UnreadableMediaError(
        f"The film '{film.name}' is truncated or corrupt: {what}. This usually means "
        "the recording or the copy was interrupted. Copy the original film again."
    )


def _decode_start(film: Path, container: InputContainer, video: VideoStream) -> list:
    frames = []
    packets = 0
    try:
        for packet in container.demux(video):
            packets += 1
            for frame in packet.decode():
                frames.append(frame)
            if len(frames) >= _START_FRAMES or packets >= _START_PACKET_BUDGET:
                break
        if not frames:
            frames.extend(video.codec_context.decode(None))  # flush delayed frames
    except av.error.FFmpegError as exc:
        if not frames:
            raise _truncated(film, f"the first pictures cannot be decoded ({exc})") from exc
    if not frames:
        raise _truncated(film, "no picture could be decoded at the start of the video")
    return frames


def _stated_duration(film: Path, container: InputContainer, video: VideoStream, start_time_s: float) -> float:
    if video.duration and video.time_base:
        return float(video.duration * video.time_base)
    if container.duration:
        container_start = (container.start_time or 0) / av.time_base
        return float(container.duration / av.time_base - max(0.0, start_time_s - container_start))
    # No stated duration (e.g. some live-recorded WebM): scan packet timestamps.
    last_end = None
    container.seek(0)
    for packet in container.demux(video):
        if packet.pts is not None:
            end = float((packet.pts + (packet.duration or 0)) * time_base_of(video))
            last_end = end if last_end is None else max(last_end, end)
    if last_end is None or last_end <= start_time_s:
        raise _truncated(film, "its duration cannot be determined")
    return last_end - start_time_s


def _average_rate(video: VideoStream, first_frames: list) -> Fraction:
    for rate in (video.average_rate, video.guessed_rate, video.base_rate):
        if rate is not None and rate > 0:
            return Fraction(rate)
    times = [f.time for f in first_frames if f.time is not None]
    if len(times) >= 2 and times[-1] > times[0]:
        return Fraction((len(times) - 1) / (times[-1] - times[0])).limit_denominator(1001)
    return Fraction(25)


def _check_end_decodes(
    film: Path,
    container: InputContainer,
    video: VideoStream,
    start_time_s: float,
    duration_s: float,
    frame_rate: Fraction,
) -> None:
    _check_index_within_file(film, container)
    if duration_s <= 0:
        raise _truncated(film, "its stated duration is zero")
    frame_s = 1.0 / float(frame_rate)
    last_frame_time = start_time_s + max(0.0, duration_s - frame_s)
    target = max(start_time_s, last_frame_time - _END_PROBE_SECONDS)
    # Tolerate a missing final second: timestamps of phone films are ragged at the end.
    needed = max(start_time_s, last_frame_time - max(1.0, 0.02 * duration_s))
    # Data near the end must exist. Packets prove it even when they cannot be decoded
    # without an earlier keyframe (e.g. MPEG-TS with one keyframe, where seeking
    # lands between keyframes); decoded pictures prove it for everything else.
    latest_frame = latest_packet = None
    decoded = packets = 0
    try:
        container.seek(int(target / time_base_of(video)), stream=video, backward=True)
        for packet in container.demux(video):
            if packet.size == 0:
                continue  # end-of-stream flush marker
            packets += 1
            if packet.pts is not None:
                packet_end = float((packet.pts + (packet.duration or 0)) * time_base_of(video))
                latest_packet = packet_end if latest_packet is None else max(latest_packet, packet_end)
            for frame in packet.decode():
                decoded += 1
                if frame.time is not None:
                    latest_frame = frame.time if latest_frame is None else max(latest_frame, frame.time)
            if (
                decoded >= _END_FRAME_BUDGET
                or packets >= 4 * _END_FRAME_BUDGET
                or (latest_frame is not None and latest_frame >= needed)
            ):
                break
    except av.error.FFmpegError as exc:
        if latest_frame is None and latest_packet is None:
            raise _truncated(film, f"the end of the video cannot be read ({exc})") from exc
    reached = max(t for t in (latest_frame, latest_packet, start_time_s) if t is not None)
    if reached >= needed or decoded >= _END_FRAME_BUDGET or packets >= 4 * _END_FRAME_BUDGET:
        return
    if latest_frame is None and latest_packet is None:
        raise _truncated(film, f"no video data can be read near the stated end ({duration_s:.1f} s)")
    raise _truncated(
        film,
        f"the video stops at {reached - start_time_s:.1f} s although the file says it lasts {duration_s:.1f} s",
    )


def _check_index_within_file(film: Path, container: InputContainer) -> None:
    """Reject files whose sample index points past the end of the file (cut MP4s)."""
    size = film.stat().st_size
    for stream in container.streams:
        try:
            entries = stream.index_entries
        except (AttributeError, av.error.FFmpegError):
            continue
        count = len(entries)
        # Entries are in time order and data is written in time order, so the tail
        # holds the furthest offsets; checking it keeps this O(1) for huge films.
        for i in range(max(0, count - 32), count):
            entry = entries[i]
            if entry.pos + entry.size > size:
                raise _truncated(
                    film,
                    f"its index points to data at byte {entry.pos + entry.size:,} but the file has only {size:,} bytes",
                )
