"""Segment video player: a Streamlit ``st.components.v2`` component.

The player shows one segment of a film served by the app's media route (a URL such
as ``/api/media/<code>?t=<token>``), keeps playback inside the segment bounds, and
reports the playback position back to Python when it settles (play, pause, seek,
segment end, or the "Use current time" button) rather than on every frame, so the
app does not rerun continuously.

The HTML, CSS and JavaScript live in ``player_assets/`` and are passed to
``st.components.v2.component`` as inline strings (file paths would need a component
manifest in the package's pyproject). The browser receives only what
:func:`segment_player` is given: the URL, the segment times, the frame rate and the
label, and for event coding the codes' keys and labels, the running codes and the ids of the
key presses already applied (:class:`Coding`). The ``key`` becomes part of the element id and class in the page, so it must be an
opaque token: no database id, no sequence number, nothing identifying.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from annotate.services.events import CodingOp

__all__ = ["COMPONENT_NAME", "STATE_NAME", "Coding", "CodingKey", "PlayerState", "parse_coding_ops", "segment_player"]

COMPONENT_NAME = "annotate_segment_player"
"""Name under which the component is registered with Streamlit."""

STATE_NAME = "playback"
"""Name of the component state value that carries the reported position."""

_ASSET_DIR = Path(__file__).resolve().parent / "player_assets"

# Bounds the browser echoes back are rounded to milliseconds; anything further
# apart than this belongs to a different segment.
_BOUND_TOLERANCE_S = 1e-3


def _read_asset(name: str) -> str:
    return (_ASSET_DIR / name).read_text(encoding="utf-8")


_mount_player = st.components.v2.component(
    COMPONENT_NAME,
    html=_read_asset("player.html"),
    css=_read_asset("player.css"),
    js=_read_asset("player.js"),
    isolate_styles=True,
)


@dataclass(frozen=True)
class PlayerState:
    """Playback position reported by the segment player.

    Attributes
    ----------
    current_time : float
        Film time in seconds (not segment-relative), within the segment bounds.
    playing : bool
        Whether the film was playing when the position was reported.
    ended_segment : bool
        Whether playback stopped at the segment end.

    Examples
    --------
    >>> PlayerState(current_time=12.5, playing=False, ended_segment=False).current_time
    12.5
    """

    current_time: float
    playing: bool
    ended_segment: bool


@dataclass(frozen=True)
class CodingKey:
    """One event code as the player offers it: the key that codes it and its button label."""

    key: str
    code: str
    kind: str  # "point" or "state"
    label: str
    group: str
    exclusive: bool


@dataclass(frozen=True)
class Coding:
    """Event coding on the player: the codes, the states running now, the presses already applied.

    ``on_ops`` is called (in the rerun's callback phase, before the page script) with the presses
    the browser sent; the page applies the new ones and lists their ids in ``acked`` next time,
    which is when the browser stops resending them.
    """

    codes: Sequence[CodingKey]
    on_ops: Callable[[list[CodingOp]], None]
    open_codes: Sequence[str] = ()
    acked: Sequence[str] = ()
    disabled: bool = False


_OP_ID = re.compile(r"^[0-9a-f]{8,64}$")


def parse_coding_ops(value: Any) -> list[CodingOp]:
    """The well-formed presses of the browser's ``coding`` state value, in the order pressed.

    Anything malformed (not a dict, an id that is not hex, an unknown action, a time that is not
    a finite number) is left out: the browser is not trusted to send only what our script sends.

    Examples
    --------
    >>> parse_coding_ops({"ops": [{"id": "a1b2c3d4", "action": "point", "code": "smile", "t": 1.04},
    ...                           {"id": "zz", "action": "point", "code": "smile", "t": 2}]})
    [CodingOp(op_id='a1b2c3d4', action='point', code='smile', t=1.04)]
    """
    ops = value.get("ops") if isinstance(value, dict) else None
    if not isinstance(ops, list):
        return []
    parsed = []
    for op in ops[:1000]:
        if not isinstance(op, dict):
            continue
        op_id, action, code, t = op.get("id"), op.get("action"), op.get("code"), op.get("t")
        if not (isinstance(op_id, str) and _OP_ID.match(op_id)):
            continue
        if action not in ("start", "stop", "point") or not isinstance(code, str) or not 0 < len(code) <= 64:
            continue
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or t < 0:
            continue
        parsed.append(CodingOp(op_id=op_id, action=action, code=code, t=float(t)))
    return parsed


def _ignore_change() -> None:
    """Callback for the state value; the state is read from the return value."""


def _validate(src: str, start_s: float, end_s: float, fps: float | None, height: int | None) -> None:
    if not isinstance(src, str) or not src.strip():
        raise ValueError("segment_player needs a non-empty media URL in `src`.")
    for name, value in (("start_s", start_s), ("end_s", end_s)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"`{name}` must be a finite number of seconds, got {value!r}.")
    if start_s < 0:
        raise ValueError(f"`start_s` must be 0 or more seconds, got {start_s!r}.")
    if end_s <= start_s:
        raise ValueError(f"`end_s` ({end_s!r}) must be later than `start_s` ({start_s!r}); check the segment's times.")
    if fps is not None and (
        isinstance(fps, bool) or not isinstance(fps, (int, float)) or not math.isfinite(fps) or fps <= 0
    ):
        raise ValueError(f"`fps` must be a positive number or None, got {fps!r}.")
    if height is not None and (isinstance(height, bool) or not isinstance(height, int) or height <= 0):
        raise ValueError(f"`height` must be a positive number of pixels or None, got {height!r}.")


def _state_from_report(report: Any, start_s: float, end_s: float) -> PlayerState | None:
    """Turn the browser's ``playback`` value into a PlayerState, or None if unusable.

    A report whose echoed bounds differ from the current segment is stale (the same
    key was reused for another segment) and is ignored.
    """
    if not isinstance(report, dict):
        return None
    current = report.get("current_time")
    if isinstance(current, bool) or not isinstance(current, (int, float)) or not math.isfinite(current):
        return None
    for name, expected in (("start_s", start_s), ("end_s", end_s)):
        echoed = report.get(name)
        if echoed is not None and (
            not isinstance(echoed, (int, float)) or abs(float(echoed) - expected) > _BOUND_TOLERANCE_S
        ):
            return None
    return PlayerState(
        current_time=float(current),
        playing=bool(report.get("playing", False)),
        ended_segment=bool(report.get("ended_segment", False)),
    )


def segment_player(
    *,
    src: str,
    start_s: float,
    end_s: float,
    key: str,
    fps: float | None = None,
    label: str = "",
    height: int | None = None,
    seek_s: float | None = None,
    seek_id: int | None = None,
    coding: Coding | None = None,
) -> PlayerState | None:
    """Show a video player limited to one segment of a film.

    Parameters
    ----------
    src : str
        URL of the film (for example a signed ``/api/media/...`` URL). Keep it stable
        across reruns: the video only reloads when this string changes.
    start_s, end_s : float
        Segment bounds in film seconds. Playback starts at ``start_s`` and stops at
        ``end_s``; seeking outside the bounds is clamped.
    key : str
        Stable widget key. It is visible in the page's DOM (element id, ``st-key-…`` class)
        and in websocket frames, so use an opaque random token (the rater page uses one per
        item and browser session), never a database id, a participant id or a file name.
    fps : float or None
        Frame rate for frame stepping; 25 is assumed when None.
    label : str
        Caption above the video (shown to the viewer as is).
    height : int or None
        Fixed height in pixels (scrolls if the player is taller); None fits the content.
    seek_s, seek_id : float or None, int or None
        Ask the player to pause and go to ``seek_s`` (clamped to the segment). Applied once
        per new ``seek_id``, so reruns do not move the film again.
    coding : Coding or None
        Turn on event coding: a button and a key per code, presses sent to ``coding.on_ops``.

    Returns
    -------
    PlayerState or None
        The last position the browser reported for this segment, or None when it
        has reported nothing yet (or when called outside a Streamlit script run).

    Raises
    ------
    ValueError
        If the URL is empty, the bounds are not finite or ``end_s <= start_s``, or
        ``fps`` / ``height`` is not positive.

    Examples
    --------
    Outside a running Streamlit app nothing is mounted and nothing was reported:

    >>> segment_player(src="/api/media/B7K2?t=abc", start_s=0.0, end_s=5.0, key="p") is None
    True
    """
    _validate(src, start_s, end_s, fps, height)
    data: dict[str, Any] = {
        "src": src,
        "start_s": float(start_s),
        "end_s": float(end_s),
        "fps": float(fps) if fps is not None else None,
        "label": str(label),
    }
    if seek_id is not None and seek_s is not None:
        data["seek_s"], data["seek_id"] = float(seek_s), int(seek_id)
    callbacks: dict[str, Any] = {"on_playback_change": _ignore_change}
    if coding is not None:
        data["codes"] = [
            {"key": c.key, "code": c.code, "kind": c.kind, "label": c.label, "group": c.group, "exclusive": c.exclusive}
            for c in coding.codes
        ]
        data["open"] = list(coding.open_codes)
        data["acked"] = list(coding.acked)
        data["coding_disabled"] = bool(coding.disabled)
        on_ops = coding.on_ops

        def _on_coding() -> None:
            value = st.session_state.get(key)
            on_ops(parse_coding_ops(value.get("coding") if value is not None and hasattr(value, "get") else None))

        callbacks["on_coding_change"] = _on_coding
    result = _mount_player(
        key=key,
        data=data,
        width="stretch",
        height=height if height is not None else "content",
        **callbacks,
    )
    return _state_from_report(result.get(STATE_NAME), float(start_s), float(end_s))
