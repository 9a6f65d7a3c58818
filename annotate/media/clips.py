"""Frame-exact clips for video-feedback sessions, and WebVTT captions.

A clip spans source frames ``round(in_s * fps)`` (first frame shown) to
``round(out_s * fps)`` (exclusive), on the constant frame grid of the proxy.

Smart cut (method ``"smart"``): a stream copy can only start on a keyframe, so the
frames from the in-point to the next keyframe (the "head") and from the last
keyframe before the out-point to the out-point (the "tail") are decoded and
re-encoded with libx264, and the whole GOPs in between are copied packet for
packet. This is the usual smart-rendering scheme of editors (e.g. LosslessCut,
Avidemux). The join is decodable only when the new pieces share the source's
sequence and picture parameter sets (H.264, ITU-T Rec. H.264 7.3.2.1-7.3.2.2):
one MP4 track has one ``avcC`` record (ISO/IEC 14496-15 5.3.3). So the encoder
is set up like ``make_proxy`` and its SPS/PPS are compared byte for byte with
the source's; GOPs must be closed (no frame of a GOP shown before its keyframe).
If any check fails, or a caption is burnt in, the clip span is re-encoded
instead (method ``"reencode"``), after seeking to the keyframe before the
in-point, so the film is never decoded from its start.

Audio is decoded for exactly the clip's time span, resampled to 48 kHz and
encoded as AAC, so it starts with the first picture (same clock as the proxy).
WebVTT follows the W3C WebVTT specification (``HH:MM:SS.mmm --> HH:MM:SS.mmm``).
"""

from __future__ import annotations

import os
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error
import cv2
import numpy as np

from annotate.media._smartcut import (
    CRF,
    PRESET,
    JoinError,
    Span,
    check_decodes,
    for_encoder,
    frame_index,
    matching_encoder,
    read_gops,
    smart_plan,
    write_smart,
)
from annotate.media.clip_audio import AUDIO_RATE, _write_audio
from annotate.media.errors import MediaError
from annotate.media.probe import open_input, pick_video_stream, probe, time_base_of

__all__ = [
    "ClipRangeError",
    "ClipResult",
    "clip_frame_range",
    "cut_clip",
    "draw_caption",
    "webvtt_timestamp",
    "write_webvtt",
]

_AUDIO_BITRATE = 128_000
_END_TOLERANCE_FRAMES = 0.5  # out_s may exceed the end by half a frame (rounding)


class ClipRangeError(MediaError, ValueError):
    """The in/out points do not describe a clip inside the film.

    Examples
    --------
    >>> issubclass(ClipRangeError, ValueError) and issubclass(ClipRangeError, MediaError)
    True
    """


@dataclass(frozen=True)
class ClipResult:
    """What ``cut_clip`` wrote.

    Attributes
    ----------
    path : pathlib.Path
        The MP4 file.
    in_s, out_s : float
        In and out point snapped to the source's frame grid (frame index / fps).
    n_frames : int
        Number of pictures in the clip.
    duration_s : float
        ``n_frames / fps``.
    has_audio : bool
        Whether the clip has a sound track.
    method : str
        ``"smart"`` (keyframe-to-keyframe stream copy, ends re-encoded) or
        ``"reencode"`` (the clip span re-encoded).

    Examples
    --------
    >>> r = ClipResult(Path("c.mp4"), 1.0, 2.0, 25, 1.0, True, "smart")
    >>> r.n_frames
    25
    """

    path: Path
    in_s: float
    out_s: float
    n_frames: int
    duration_s: float
    has_audio: bool
    method: str


def clip_frame_range(in_s: float, out_s: float, fps: float | Fraction, duration_s: float) -> tuple[int, int]:
    """Snap in and out times to frame indices and check them against the film.

    Parameters
    ----------
    in_s, out_s : float
        Wanted in point (first frame shown) and out point (end, exclusive), seconds.
    fps : float or Fraction
        Constant frame rate of the film.
    duration_s : float
        Film duration in seconds.

    Returns
    -------
    tuple of int
        ``(first_frame, end_frame)`` with ``end_frame`` exclusive.

    Raises
    ------
    ClipRangeError
        If a time is negative or not a number, in >= out, out lies past the end,
        or the clip is shorter than one frame.

    Examples
    --------
    >>> clip_frame_range(1.01, 2.0, 25, 10.0)
    (25, 50)
    >>> clip_frame_range(2.0, 1.0, 25, 10.0)
    Traceback (most recent call last):
    ...
    annotate.media.clips.ClipRangeError: The in point (2.000 s) must come before the out point (1.000 s); swap or move them.
    """
    for name, value in (("in point", in_s), ("out point", out_s)):
        if not isinstance(value, (int, float, Fraction)) or not np.isfinite(float(value)):
            raise ClipRangeError(f"The {name} must be a number of seconds, got {value!r}.")
        if value < 0:
            raise ClipRangeError(f"The {name} ({value:.3f} s) is negative; times start at 0.")
    if in_s >= out_s:
        raise ClipRangeError(
            f"The in point ({in_s:.3f} s) must come before the out point ({out_s:.3f} s); swap or move them."
        )
    rate = float(fps)
    total = int(round(duration_s * rate))
    if out_s * rate > total + _END_TOLERANCE_FRAMES:
        raise ClipRangeError(
            f"The out point ({out_s:.3f} s) lies past the end of the film ({duration_s:.3f} s); "
            "move it to the end or earlier."
        )
    first, end = int(round(in_s * rate)), min(total, int(round(out_s * rate)))
    if end - first < 1:
        raise ClipRangeError(
            f"The clip from {in_s:.3f} s to {out_s:.3f} s is shorter than one frame "
            f"(1/{rate:g} s); move the out point later."
        )
    return first, end


def cut_clip(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    in_s: float,
    out_s: float,
    *,
    caption: str | None = None,
    burn_caption: bool = False,
    smart: bool = True,
    progress: Callable[[float], None] | None = None,
) -> ClipResult:
    """Write the span ``[in_s, out_s)`` of a film as an H.264/AAC MP4 with fast start.

    Parameters
    ----------
    src : str or os.PathLike
        The film (normally the browser proxy: H.264, constant frame rate).
    dst : str or os.PathLike
        Output MP4; its folder must exist. Replaced if present.
    in_s, out_s : float
        In point and out point in seconds from the first frame, snapped to the
        frame grid (see ``clip_frame_range``).
    caption : str, optional
        Text to burn in at the bottom of the picture when ``burn_caption`` is set.
    burn_caption : bool
        Draw ``caption`` into every picture (forces re-encoding of the span).
    smart : bool
        Copy whole GOPs where possible (default); False always re-encodes the span.
    progress : callable, optional
        Called with fractions from 0.0 to 1.0.

    Returns
    -------
    ClipResult

    Raises
    ------
    ClipRangeError
        If the in/out points do not lie inside the film.
    UnreadableMediaError
        If the film cannot be read.
    MediaError
        If the output cannot be written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from tests.support.synthetic import make_synthetic_film
    >>> with tempfile.TemporaryDirectory() as d:
    ...     film = make_synthetic_film(pathlib.Path(d) / "f.mp4", 1.0, 64, 48, fps=10)
    ...     r = cut_clip(film, pathlib.Path(d) / "c.mp4", 0.23, 0.8)
    >>> (r.in_s, r.out_s, r.n_frames, r.has_audio)
    (0.2, 0.8, 6, True)
    """
    source_path, target = Path(src), Path(dst)
    info = probe(source_path)
    fps = Fraction(info.frame_rate or Fraction(info.fps).limit_denominator(1001))
    first, end = clip_frame_range(in_s, out_s, fps, info.duration_s)
    if burn_caption and not (caption and caption.strip()):
        raise ValueError("burn_caption is set but the caption is empty; write a caption or switch burning off.")
    if not target.parent.is_dir():
        raise MediaError(f"Cannot write the clip: folder '{target.parent}' does not exist.")
    if target.exists() and target.resolve() == source_path.resolve():
        raise MediaError("The clip must be written to a different file than the film.")
    report = progress or (lambda _fraction: None)
    report(0.0)
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
    span = Span(info, fps, first, end)
    text = caption.strip() if burn_caption and caption else None
    try:
        try:
            method = _write_clip(source_path, partial, span, text, report, smart=smart and text is None)
        except JoinError:
            method = _write_clip(source_path, partial, span, text, report, smart=False)
        os.replace(partial, target)
    except av.error.FFmpegError as exc:
        raise MediaError(
            f"Cutting the clip from '{source_path.name}' failed ({exc}). The film may be "
            "damaged; make the browser copy again."
        ) from exc
    finally:
        partial.unlink(missing_ok=True)
    report(1.0)
    return ClipResult(
        target, first / float(fps), end / float(fps), end - first, (end - first) / float(fps), info.has_audio, method
    )


def _write_clip(
    src: Path, partial: Path, span: Span, caption: str | None, report: Callable[[float], None], *, smart: bool
) -> str:
    options = {"movflags": "+faststart", "fflags": "+bitexact"}
    with open_input(src) as inp, av.open(str(partial), "w", format="mp4", options=options) as out:
        video_in = pick_video_stream(inp)
        gops = read_gops(inp, video_in, span)
        plan = smart_plan(gops, span, span.info) if smart else None
        setup = matching_encoder(video_in, span, plan.gop_sizes) if plan else None
        if plan is not None and setup is not None:
            video_out = out.add_stream_from_template(video_in)
            video_out.time_base = video_in.time_base
        else:
            plan = None
            video_out = _add_video_encoder(out, span, round(float(span.fps)))
        audio_in = inp.streams.audio[0] if span.info.has_audio and inp.streams.audio else None
        if audio_in is not None and audio_in.codec_context is not None:
            layout = "mono" if (span.info.audio_channels or 2) == 1 else "stereo"
            audio_out = out.add_stream("aac", rate=AUDIO_RATE, layout=layout)
            audio_out.codec_context.bit_rate = _AUDIO_BITRATE
            _write_audio(inp, audio_in, out, audio_out, layout, span)
        report(0.05)
        decoder = video_in.codec_context
        decoder.thread_type = "AUTO"
        time_base = time_base_of(video_in)
        if plan is None or setup is None:
            _write_reencoded(gops, decoder, time_base, out, video_out, span, caption, report)
            return "reencode"
        write_smart(gops, plan, setup, decoder, time_base, out, video_out, span, report)
    check_decodes(partial, span, plan)
    return "smart"


# -- re-encode ---------------------------------------------------------------------------


def _add_video_encoder(out, span: Span, gop: int):
    width, height = span.info.display_width, span.info.display_height
    stream = out.add_stream("libx264", rate=span.fps)
    stream.width, stream.height, stream.pix_fmt = width - width % 2, height - height % 2, "yuv420p"
    stream.codec_context.time_base = 1 / span.fps
    stream.codec_context.gop_size = gop
    stream.codec_context.options = {"crf": str(CRF), "preset": PRESET}
    return stream


def _write_reencoded(
    gops, decoder, time_base: Fraction, out, video_out, span: Span, caption: str | None, report: Callable[[float], None]
) -> None:
    n = span.end - span.first
    turns = -(span.info.rotation // 90)
    next_slot, held = 0, None

    def emit(frame, slots: range) -> None:
        picture = frame
        if turns or caption:
            rgb = frame.to_ndarray(format="rgb24")
            if turns:
                rgb = np.ascontiguousarray(np.rot90(rgb, k=turns))
            if caption:
                rgb = draw_caption(rgb, caption)
            picture = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        for slot in slots:
            for_encoder(picture, slot, span.fps)
            out.mux(video_out.encode(picture))

    packets = [p for g in gops for p in g.packets]
    for frame in (f for p in packets + [None] for f in decoder.decode(p)):
        index = frame_index(frame.pts, time_base, span)
        if index is None or index < span.first:
            held = frame  # sample and hold on the frame grid, as the proxy does
            continue
        slot = min(index - span.first, n)
        if slot > next_slot and held is not None:
            emit(held, range(next_slot, slot))
            next_slot = slot
        if slot >= n:
            break
        held = frame
        if slot >= next_slot:
            emit(frame, range(next_slot, slot + 1))
            next_slot = slot + 1
        report(0.05 + 0.9 * next_slot / n)
    if held is not None and next_slot < n:
        emit(held, range(next_slot, n))
    out.mux(video_out.encode(None))


# -- captions ----------------------------------------------------------------------------


def draw_caption(rgb: np.ndarray, text: str) -> np.ndarray:
    """Draw a caption at the bottom of a picture on a dark translucent band.

    OpenCV's Hershey fonts cover ASCII only, so accents are dropped
    (``"é"`` becomes ``"e"``) and other characters become ``"?"``. Long text is
    wrapped to the picture width.

    Parameters
    ----------
    rgb : numpy.ndarray
        uint8 picture of shape (height, width, 3).
    text : str
        The caption.

    Returns
    -------
    numpy.ndarray
        A new picture with the caption.

    Examples
    --------
    >>> picture = np.full((120, 160, 3), 200, np.uint8)
    >>> out = draw_caption(picture, "Look, I found the ball!")
    >>> bool(out[-5:].mean() < picture[-5:].mean()), bool((out[:20] == picture[:20]).all())
    (True, True)
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"Expected an RGB picture of shape (h, w, 3), got shape {rgb.shape}.")
    height, width = rgb.shape[:2]
    font = cv2.FONT_HERSHEY_SIMPLEX
    scale = max(0.3, height / 720 * 1.1)
    thickness = max(1, round(scale * 2))
    lines = _wrap(_ascii(text), font, scale, thickness, int(width * 0.92))
    (_, line_h), baseline = cv2.getTextSize("Hg", font, scale, thickness)
    step = line_h + baseline + max(2, line_h // 3)
    band_h = step * len(lines) + step // 2
    out = rgb.copy()
    top = max(0, height - band_h)
    out[top:] = (out[top:].astype(np.float32) * 0.4).astype(np.uint8)
    y = top + step // 4 + line_h + max(1, step // 6)
    for line in lines:
        (line_w, _), _ = cv2.getTextSize(line, font, scale, thickness)
        cv2.putText(out, line, ((width - line_w) // 2, y), font, scale, (255, 255, 255), thickness, cv2.LINE_AA)
        y += step
    return out


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", " ".join(text.split()))
    return "".join(c if ord(c) < 128 else "?" for c in plain if not unicodedata.combining(c))


def _wrap(text: str, font: int, scale: float, thickness: int, max_width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split(" "):
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and cv2.getTextSize(candidate, font, scale, thickness)[0][0] <= max_width:
            lines[-1] = candidate
        else:
            lines.append(word)
    return lines or [""]


def webvtt_timestamp(t_s: float) -> str:
    """Format seconds as a WebVTT timestamp ``HH:MM:SS.mmm``.

    Examples
    --------
    >>> webvtt_timestamp(3725.5)
    '01:02:05.500'
    """
    if not t_s >= 0:
        raise ValueError(f"A WebVTT time must be >= 0 seconds, got {t_s!r}.")
    millis = int(round(t_s * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def write_webvtt(path: str | os.PathLike, cues: list[tuple[float, float, str]]) -> Path:
    """Write captions as a WebVTT file (UTF-8).

    Parameters
    ----------
    path : str or os.PathLike
        Output ``.vtt`` file.
    cues : list of (start_s, end_s, text)
        Cues with start < end; blank lines inside a text are collapsed, since a
        blank line ends a cue, and ``-->`` is escaped.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     vtt = write_webvtt(pathlib.Path(d) / "c.vtt", [(0, 2.5, "Look at me!")])
    ...     print(vtt.read_text())
    WEBVTT
    <BLANKLINE>
    1
    00:00:00.000 --> 00:00:02.500
    Look at me!
    <BLANKLINE>
    """
    blocks = ["WEBVTT", ""]
    for number, (start, end, text) in enumerate(cues, start=1):
        if not 0 <= start < end:
            raise ValueError(f"Cue {number} must have 0 <= start < end, got {start!r}..{end!r}.")
        lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
        body = "\n".join(lines).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        blocks += [str(number), f"{webvtt_timestamp(start)} --> {webvtt_timestamp(end)}", body, ""]
    target = Path(path)
    target.write_text("\n".join(blocks), encoding="utf-8")
    return target
