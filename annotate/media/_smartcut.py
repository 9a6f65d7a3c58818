"""Smart cut of H.264 films: copy whole GOPs, re-encode only the ends (used by ``clips``).

The copied packets keep the source's ``avcC`` record (ISO/IEC 14496-15 5.3.3.1),
so re-encoded pieces must produce byte-identical SPS and PPS (ITU-T Rec. H.264
7.3.2.1-7.3.2.2): the libx264 encoder is set up like ``make_proxy``'s and its
parameter sets are compared with the source's before anything is written.
libx264 emits Annex B start codes (H.264 Annex B); MP4 samples need 4-byte
length prefixes, so encoded packets are rewritten. GOPs must be closed (no
picture of a GOP shown before its keyframe) for a copy to start on them.
Anything unexpected raises ``JoinError`` and the caller re-encodes the span.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from av.video.frame import PictureType

from annotate.media.probe import ProbeResult

CRF, PRESET = 23, "veryfast"  # the defaults of ProxySettings


@dataclass(frozen=True)
class Span:
    info: ProbeResult
    fps: Fraction
    first: int
    end: int


@dataclass
class Gop:
    start: int  # frame index of the keyframe
    packets: list  # in decode order
    closed: bool = True  # no picture shown before the keyframe


def frame_index(pts: int | None, time_base: Fraction, span: Span) -> int | None:
    if pts is None:
        return None
    return int(round((float(pts * time_base) - span.info.start_time_s) * float(span.fps)))


def read_gops(container, video, span: Span) -> list[Gop]:
    """Demux (without decoding) the GOPs that hold frames ``first .. end - 1``.

    Seeks to the keyframe at or before the in point, so only the clip's own GOPs
    are read. A trailing GOP without packets marks where the last one ends.
    """
    tb = video.time_base
    seek_s = span.info.start_time_s + span.first / float(span.fps)
    container.seek(max(0, int(seek_s / tb)), stream=video, backward=True)
    gops: list[Gop] = []
    for packet in container.demux(video):
        index = frame_index(packet.pts, tb, span)
        if packet.size == 0 or index is None:
            continue
        if packet.is_keyframe or not gops:
            if packet.is_keyframe and index >= span.end and gops:
                gops.append(Gop(index, []))
                break
            gops.append(Gop(index, []))
        gop = gops[-1]
        gop.packets.append(packet)
        gop.closed = gop.closed and index >= gop.start
    return gops


@dataclass(frozen=True)
class SmartPlan:
    copy_from: int  # first copied frame (a keyframe)
    copy_to: int  # end of the copied frames (a keyframe or the film's end)
    gop_sizes: tuple[int, ...]  # keyframe intervals to try for matching SPS/PPS


def smart_plan(gops: list[Gop], span: Span, info: ProbeResult) -> SmartPlan | None:
    """Which whole, closed GOPs inside the clip can be copied; None if none can."""
    if info.video_codec != "h264" or info.pix_fmt != "yuv420p" or info.rotation:
        return None
    starts = [g.start for g in gops]
    inner = [s for s in starts if span.first <= s <= span.end]
    total = int(round(info.duration_s * float(span.fps)))
    if not inner:
        return None
    copy_from = inner[0]
    # The last stored GOP ends at the next keyframe or, at the end of the film, at its end.
    bounds = [s for s in inner if s > copy_from] + ([total] if span.end == total else [])
    copy_to = max(bounds, default=copy_from)
    if copy_to <= copy_from or copy_to > span.end:
        return None
    if not all(g.closed for g in gops if copy_from <= g.start < copy_to):
        return None
    spacing = [b - a for a, b in itertools.pairwise(starts)]
    gop_sizes = list(dict.fromkeys([round(float(span.fps))] + ([max(spacing)] if spacing else [])))
    return SmartPlan(copy_from, copy_to, tuple(gop_sizes))


class JoinError(Exception):
    """The smart cut cannot join cleanly here; re-encode the span instead."""


_VUI_FIELDS = ("sample_aspect_ratio", "color_range", "colorspace", "color_primaries", "color_trc")


@dataclass(frozen=True)
class EncoderSetup:
    gop: int
    vui: tuple[tuple[str, object], ...]  # the source's aspect and colour fields (H.264 Annex E)


def _new_encoder(span: Span, setup: EncoderSetup):
    """A libx264 encoder set up like ``make_proxy``'s, with the source's VUI fields."""
    encoder = av.CodecContext.create("libx264", "w")
    for name, value in setup.vui:
        setattr(encoder, name, value)
    encoder.width, encoder.height = span.info.width, span.info.height
    encoder.pix_fmt = "yuv420p"
    encoder.time_base = 1 / span.fps
    encoder.framerate = span.fps
    encoder.gop_size = setup.gop
    encoder.options = {"crf": str(CRF), "preset": PRESET}
    # Parameter sets go to extradata (compared with the source's), not into every keyframe.
    encoder.flags |= av.codec.context.Flags.global_header
    return encoder


def matching_encoder(video_in, span: Span, gop_sizes: tuple[int, ...]) -> EncoderSetup | None:
    """An encoder setup whose libx264 SPS/PPS equal the source's, or None."""
    source = video_in.codec_context
    source_sets = _avcc_parameter_sets(source.extradata)
    if source_sets is None:
        return None
    vui = tuple((name, getattr(source, name)) for name in _VUI_FIELDS if getattr(source, name, None))
    for gop in gop_sizes:
        setup = EncoderSetup(gop, vui)
        encoder = _new_encoder(span, setup)
        encoder.open()
        if _annexb_parameter_sets(encoder.extradata) == source_sets:
            return setup
    return None


def _avcc_parameter_sets(avcc: bytes | None) -> tuple[tuple[bytes, ...], tuple[bytes, ...]] | None:
    """SPS and PPS NAL units from an ``avcC`` record (ISO/IEC 14496-15 5.3.3.1)."""
    if not avcc or len(avcc) < 7 or avcc[0] != 1:
        return None
    position, found = 5, []
    for mask in (0x1F, 0xFF):
        count = avcc[position] & mask
        position += 1
        units = []
        for _ in range(count):
            length = int.from_bytes(avcc[position : position + 2], "big")
            units.append(bytes(avcc[position + 2 : position + 2 + length]))
            position += 2 + length
        found.append(tuple(units))
    return found[0], found[1]


def _annexb_units(data: bytes) -> list[bytes]:
    units = []
    for chunk in bytes(data).split(b"\x00\x00\x01"):
        unit = chunk.rstrip(b"\x00")
        if unit:
            units.append(unit)
    return units


def _annexb_parameter_sets(data: bytes | None) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
    units = _annexb_units(data or b"")
    return (tuple(u for u in units if u[0] & 0x1F == 7), tuple(u for u in units if u[0] & 0x1F == 8))


def _annexb_to_avcc(data: bytes) -> bytes:
    """Start codes to 4-byte lengths; parameter sets and delimiters live in ``avcC``."""
    units = [u for u in _annexb_units(data) if u[0] & 0x1F not in (7, 8, 9)]
    return b"".join(len(u).to_bytes(4, "big") + u for u in units)


class _Muxer:
    """Muxes video packets in output time, checking decode order stays increasing."""

    def __init__(self, out, stream) -> None:
        self.out, self.stream = out, stream
        self.last_dts: float | None = None

    def mux(self, packet, time_base: Fraction) -> None:
        dts = packet.dts if packet.dts is not None else packet.pts
        dts_s = float(dts * time_base)
        if self.last_dts is not None and dts_s <= self.last_dts + 1e-9:
            raise JoinError("decode timestamps would not increase at a join")
        self.last_dts = dts_s
        packet.stream = self.stream
        packet.time_base = time_base
        self.out.mux(packet)


def _encode_frames(encoder, muxer: _Muxer, frames) -> None:
    for frame in frames:
        for packet in encoder.encode(frame):
            muxer.mux(_rewrapped(packet), encoder.time_base)
    for packet in encoder.encode(None):
        muxer.mux(_rewrapped(packet), encoder.time_base)


def _rewrapped(packet):
    converted = av.Packet(_annexb_to_avcc(bytes(packet)))
    converted.pts, converted.dts = packet.pts, packet.dts
    converted.is_keyframe = packet.is_keyframe
    return converted


def _gop_frames(decoder, gop: Gop, time_base: Fraction, span: Span, lo: int, hi: int):
    """Decode one GOP; yield (output pts, frame) for frame indices in [lo, hi)."""
    for packet in gop.packets:
        for frame in decoder.decode(packet):
            index = frame_index(frame.pts, time_base, span)
            if index is not None and lo <= index < hi:
                yield for_encoder(frame, index - span.first, span.fps)
    for frame in decoder.decode(None):
        index = frame_index(frame.pts, time_base, span)
        if index is not None and lo <= index < hi:
            yield for_encoder(frame, index - span.first, span.fps)
    decoder.flush_buffers()


def for_encoder(frame, pts: int, fps: Fraction):
    frame.pts = pts
    frame.time_base = 1 / fps
    frame.pict_type = PictureType.NONE  # let x264 place keyframes, not the source
    return frame


def write_smart(
    gops,
    plan: SmartPlan,
    setup: EncoderSetup,
    decoder,
    time_base: Fraction,
    out,
    video_out,
    span: Span,
    report: Callable[[float], None],
) -> None:
    muxer = _Muxer(out, video_out)
    n = span.end - span.first
    if span.first < plan.copy_from:
        head = next(g for g in reversed(gops) if g.start <= span.first)
        _encode_frames(
            _new_encoder(span, setup), muxer, _gop_frames(decoder, head, time_base, span, span.first, plan.copy_from)
        )
    offset = int(round((span.info.start_time_s + span.first / float(span.fps)) / time_base))
    for gop in gops:
        if plan.copy_from <= gop.start < plan.copy_to:
            for packet in gop.packets:
                packet.pts = packet.pts - offset
                packet.dts = packet.dts - offset if packet.dts is not None else None
                muxer.mux(packet, time_base)
            report(0.05 + 0.9 * (gop.start - span.first) / n)
    if plan.copy_to < span.end:
        tail = next(g for g in gops if g.start == plan.copy_to)
        _encode_frames(
            _new_encoder(span, setup), muxer, _gop_frames(decoder, tail, time_base, span, plan.copy_to, span.end)
        )


def check_decodes(path: Path, span: Span, plan: SmartPlan) -> None:
    """Decode across the first join and count all pictures; raise JoinError if wrong."""
    n = span.end - span.first
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        packets = sum(1 for p in container.demux(video) if p.size)
        if packets != n:
            raise JoinError(f"{packets} pictures written, {n} expected")
        container.seek(0)
        wanted = min(n, plan.copy_from - span.first + 2)
        decoded = 0
        for _frame in container.decode(video):
            decoded += 1
            if decoded >= wanted:
                break
        if decoded < wanted:
            raise JoinError("the join cannot be decoded")
