"""Drawing and sound for synthetic parent–infant play films (no real people).

A large figure (parent) sits on the left, a small figure (infant) moves on a rug,
and a toy passes between floor, infant and parent. Motion is a sum of seeded
low-frequency sinusoids, so each seed gives a different amount of activity; a
``responsiveness`` value makes the parent lean after the infant with less lag.
Audio is a pair of harmonic "voices" (parent f0 ~ 220 Hz, infant ~ 420 Hz) in
syllable-like bursts (4–5 Hz amplitude modulation), similar in spirit to infant-
directed speech studies' synthetic stimuli. Nothing here is a measurement; it only
has to look and sound plausible and vary with the seed. No text is drawn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

_SOFT_COLOURS = [
    (198, 120, 110),
    (110, 150, 190),
    (120, 170, 130),
    (200, 160, 90),
    (160, 120, 180),
    (90, 160, 160),
    (210, 140, 160),
    (140, 140, 100),
]
_SKIN_TONES = [(240, 205, 180), (214, 170, 130), (170, 120, 90), (120, 85, 60)]
_RUG_COLOURS = [(150, 170, 200), (190, 170, 140), (160, 190, 160), (200, 170, 180)]


@dataclass(frozen=True)
class SceneParams:
    """Everything that varies between synthetic films; derived from a seed."""

    activity: float
    responsiveness: float
    parent_colour: tuple[int, int, int]
    infant_colour: tuple[int, int, int]
    toy_colour: tuple[int, int, int]
    parent_skin: tuple[int, int, int]
    infant_skin: tuple[int, int, int]
    rug_colour: tuple[int, int, int]
    infant_wave: np.ndarray  # (k, 3): amplitude, frequency Hz, phase for infant x
    infant_bob: np.ndarray  # (k, 3): for infant vertical bob
    parent_wave: np.ndarray  # (k, 3): parent's own sway
    toy_switch_times: np.ndarray  # seconds at which the toy changes holder
    toy_holders: np.ndarray  # 0 floor, 1 infant, 2 parent, per interval
    utterances: np.ndarray  # (n, 4): start s, length s, speaker (0 parent, 1 infant), f0

    @classmethod
    def from_seed(cls, seed: int, responsiveness: float | None = None, horizon_s: float = 600.0) -> SceneParams:
        rng = np.random.default_rng(seed)
        colours = rng.permutation(len(_SOFT_COLOURS))
        activity = float(rng.uniform(0.35, 1.0))
        if responsiveness is None:
            responsiveness = float(rng.uniform(0.2, 0.9))

        def wave(k: int, low: float, high: float) -> np.ndarray:
            amps = rng.uniform(0.3, 1.0, k)
            amps /= amps.sum()
            return np.column_stack([amps, rng.uniform(low, high, k), rng.uniform(0, 2 * math.pi, k)])

        gaps = rng.uniform(2.5, 8.0, int(horizon_s / 2.5) + 2)
        switch_times = np.cumsum(gaps)
        holders = rng.integers(0, 3, len(switch_times) + 1)
        utterances = []
        t = float(rng.uniform(0.2, 1.0))
        while t < horizon_s:
            speaker = int(rng.random() < 0.4)
            length = float(rng.uniform(0.3, 1.4) if speaker == 0 else rng.uniform(0.2, 0.8))
            f0 = float(rng.uniform(190, 250) if speaker == 0 else rng.uniform(360, 480))
            utterances.append((t, length, speaker, f0))
            t += length + float(rng.exponential(0.9 / (0.5 + activity)))
        return cls(
            activity=activity,
            responsiveness=float(np.clip(responsiveness, 0.0, 1.0)),
            parent_colour=_SOFT_COLOURS[colours[0]],
            infant_colour=_SOFT_COLOURS[colours[1]],
            toy_colour=_SOFT_COLOURS[colours[2]],
            parent_skin=_SKIN_TONES[int(rng.integers(len(_SKIN_TONES)))],
            infant_skin=_SKIN_TONES[int(rng.integers(len(_SKIN_TONES)))],
            rug_colour=_RUG_COLOURS[int(rng.integers(len(_RUG_COLOURS)))],
            infant_wave=wave(3, 0.03, 0.25),
            infant_bob=wave(2, 0.3, 1.2),
            parent_wave=wave(3, 0.05, 0.3),
            toy_switch_times=switch_times,
            toy_holders=holders,
            utterances=np.array(utterances, dtype=float).reshape(-1, 4),
        )


def _wave(components: np.ndarray, t: float) -> float:
    amps, freqs, phases = components[:, 0], components[:, 1], components[:, 2]
    return float(np.sum(amps * np.sin(2 * math.pi * freqs * t + phases)))


def _infant_x(p: SceneParams, t: float) -> float:
    """Infant's horizontal place as a fraction of width (approach = smaller)."""
    return 0.66 + 0.2 * p.activity * _wave(p.infant_wave, t)


def _toy_holder(p: SceneParams, t: float) -> tuple[int, int, float]:
    """(previous holder, current holder, blend 0..1 over the hand-over half second)."""
    i = int(np.searchsorted(p.toy_switch_times, t, side="right"))
    current = int(p.toy_holders[i])
    if i == 0:
        return current, current, 1.0
    since = t - float(p.toy_switch_times[i - 1])
    return int(p.toy_holders[i - 1]), current, min(1.0, since / 0.5)


def render_frame(p: SceneParams, t: float, width: int, height: int) -> np.ndarray:
    """Draw the scene at time ``t`` as an RGB uint8 image of shape (height, width, 3)."""
    w, h = width, height
    img = np.empty((h, w, 3), np.uint8)
    floor_y = int(0.62 * h)
    wall_top, wall_bottom = np.array([236, 228, 212]), np.array([214, 204, 188])
    ramp = np.linspace(0.0, 1.0, floor_y)[:, None]
    img[:floor_y] = (wall_top + (wall_bottom - wall_top) * ramp)[:, None, :].astype(np.uint8)
    img[floor_y:] = np.array(p.rug_colour, np.uint8) * 0.8
    aa = cv2.LINE_AA

    lag = 1.5 * (1.0 - p.responsiveness)  # seconds the parent's lean trails the infant
    infant_x = _infant_x(p, t) * w
    followed = _infant_x(p, t - lag) * w
    unit = min(w, h)
    # Leans towards the infant when it comes closer, back when it withdraws.
    lean = p.responsiveness * (0.66 * w - followed) * 0.6 + (1 - p.responsiveness) * 0.07 * w * _wave(p.parent_wave, t)
    parent_x = int(0.27 * w + 0.5 * lean)
    parent_y = int(0.55 * h)
    body_axes = (int(0.13 * unit), int(0.25 * unit))
    head_x = int(parent_x + lean)
    head_y = int(parent_y - body_axes[1] - 0.07 * unit)
    head_r = int(0.08 * unit)
    cv2.ellipse(img, (parent_x, parent_y), body_axes, int(lean / w * 60), 0, 360, p.parent_colour, -1, aa)
    cv2.circle(img, (head_x, head_y), head_r, p.parent_skin, -1, aa)

    bob = 0.02 * h * p.activity * _wave(p.infant_bob, t)
    infant_y = int(0.74 * h + bob)
    infant_axes = (int(0.06 * unit), int(0.1 * unit))
    cv2.ellipse(img, (int(infant_x), infant_y), infant_axes, 0, 0, 360, p.infant_colour, -1, aa)
    infant_head = (int(infant_x), int(infant_y - infant_axes[1] - 0.04 * unit))
    cv2.circle(img, infant_head, int(0.05 * unit), p.infant_skin, -1, aa)

    parent_hand = np.array([parent_x + body_axes[0] + 0.06 * w + 0.3 * max(lean, 0), parent_y + 0.02 * h])
    infant_hand = np.array([infant_x - infant_axes[0] - 0.02 * w, infant_y])
    floor_spot = np.array([0.5 * w + 0.05 * w * math.sin(0.1 * t), 0.88 * h])
    anchors = {0: floor_spot, 1: infant_hand, 2: parent_hand}
    before, after, blend = _toy_holder(p, t)
    toy = (1 - blend) * anchors[before] + blend * anchors[after]
    shoulder = (parent_x + body_axes[0] // 2, parent_y - body_axes[1] // 2)
    arm_width = max(1, unit // 40)
    cv2.line(img, shoulder, (int(parent_hand[0]), int(parent_hand[1])), p.parent_colour, arm_width * 2, aa)
    cv2.line(
        img,
        (int(infant_x), infant_y - infant_axes[1] // 2),
        (int(infant_hand[0]), int(infant_hand[1])),
        p.infant_colour,
        arm_width,
        aa,
    )
    cv2.circle(img, (int(toy[0]), int(toy[1])), max(2, int(0.035 * unit)), p.toy_colour, -1, aa)
    return img


def render_audio(p: SceneParams, seconds: float, rate: int) -> np.ndarray:
    """Babble-like mono audio in [-1, 1] as float32 of length ``round(seconds * rate)``."""
    n = int(round(seconds * rate))
    out = np.zeros(n, np.float32)
    for start, length, speaker, f0 in p.utterances:
        if start >= seconds:
            break
        i0 = int(start * rate)
        i1 = min(n, int((start + length) * rate))
        if i1 <= i0:
            continue
        tt = np.arange(i1 - i0) / rate
        # Rising-falling pitch contour, like infant-directed speech.
        contour = f0 * (1.0 + 0.15 * np.sin(math.pi * tt / length))
        phase = 2 * math.pi * np.cumsum(contour) / rate
        harmonics = sum((0.6**k) * np.sin((k + 1) * phase) for k in range(4))
        syllables = np.abs(np.sin(2 * math.pi * (4.5 if speaker else 4.0) * tt / 2))
        fade = np.minimum(1.0, np.minimum(tt, length - tt) / 0.03)
        level = 0.12 if speaker == 0 else 0.08
        out[i0:i1] += (level * harmonics * syllables * fade).astype(np.float32)
    return np.clip(out, -1.0, 1.0)
