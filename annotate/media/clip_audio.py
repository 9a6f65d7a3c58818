"""Sound track of a clip, trimmed to the clip's pictures.

Audio is decoded for exactly the time span of the clip's frames ``[first, end)`` (after
seeking to about half a second before it), resampled to 48 kHz and encoded as AAC starting
at time 0, so it starts with the first picture (same clock as the proxy,
:mod:`annotate.media.proxy`). A gap in the source's sound is left silent and a short track
is padded with silence to the clip's length. Used by :func:`annotate.media.clips.cut_clip`.
"""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

from annotate.media._smartcut import Span

AUDIO_RATE = 48_000


def _write_audio(inp, audio_in, out, audio_out, layout: str, span: Span) -> None:
    """Encode the sound of exactly [first, end) frames' time span, starting at 0."""
    rate = audio_in.codec_context.sample_rate or AUDIO_RATE
    t0, t1 = span.first / float(span.fps), span.end / float(span.fps)
    a0, a1 = int(round(t0 * rate)), int(round(t1 * rate))
    channels = 1 if layout == "mono" else 2
    samples = np.zeros((channels, a1 - a0), np.float32)
    origin = span.info.start_time_s
    inp.seek(max(0, int((origin + t0 - 0.5) / audio_in.time_base)), stream=audio_in, backward=True)
    convert = av.AudioResampler(format="fltp", layout=layout, rate=rate)
    position = None
    for frame in inp.decode(audio_in):
        if frame.time is not None:
            position = int(round((frame.time - origin) * rate))
        elif position is None:
            position = 0
        for converted in convert.resample(frame):
            chunk = converted.to_ndarray()
            lo, hi = max(position, a0), min(position + chunk.shape[1], a1)
            if hi > lo:
                samples[:, lo - a0 : hi - a0] = chunk[:, lo - position : hi - position]
            position += chunk.shape[1]
        if position >= a1:
            break
    wanted = int(round((span.end - span.first) / float(span.fps) * AUDIO_RATE))
    if rate != AUDIO_RATE:
        samples = _resample(samples, layout, rate)
    samples = samples[:, :wanted]
    if samples.shape[1] < wanted:
        samples = np.pad(samples, ((0, 0), (0, wanted - samples.shape[1])))
    step = audio_out.codec_context.frame_size or 1024
    for start in range(0, wanted, step):
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples[:, start : start + step]), format="fltp", layout=layout
        )
        frame.sample_rate = AUDIO_RATE
        frame.pts = start
        frame.time_base = Fraction(1, AUDIO_RATE)
        out.mux(audio_out.encode(frame))
    out.mux(audio_out.encode(None))


def _resample(samples: np.ndarray, layout: str, rate: int) -> np.ndarray:
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=AUDIO_RATE)
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples), format="fltp", layout=layout)
    frame.sample_rate = rate
    frame.pts = 0
    frame.time_base = Fraction(1, rate)
    pieces = [f.to_ndarray() for f in resampler.resample(frame) + resampler.resample(None)]
    return np.concatenate(pieces, axis=1) if pieces else samples[:, :0]
