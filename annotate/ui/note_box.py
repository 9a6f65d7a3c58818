"""The rater's segment note: an ``st.components.v2`` text box saved while typing.

Streamlit's ``st.text_area`` sends its value only on blur or Ctrl+Enter, so a note typed and
then reloaded was lost without a word. This box sends the text after a pause in typing (and on
blur), shows whether it is stored ("Changes not yet stored", "Storing…", "✓ Note stored", or
why it was refused), and while anything typed is not saved the browser asks before the page is left or
reloaded. Saving itself stays in the service (compare-and-set on the note's version); the
page passes a function that saves one text and returns the refusal, if any.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

__all__ = ["DEBOUNCE_MS", "note_box"]

DEBOUNCE_MS = 1500
"""Pause in typing after which the note is saved (one history entry per pause, not per key)."""

_ASSETS = Path(__file__).resolve().parent / "note_assets"

_mount_note = st.components.v2.component(
    "annotate_notebox",
    html=(_ASSETS / "note.html").read_text(encoding="utf-8"),
    css=(_ASSETS / "note.css").read_text(encoding="utf-8"),
    js=(_ASSETS / "note.js").read_text(encoding="utf-8"),
    isolate_styles=True,
)


def _draft(value: Any) -> tuple[str, int] | None:
    """The ``{"text", "seq"}`` the browser sent, or None for anything else."""
    draft = value.get("draft") if value is not None and hasattr(value, "get") else None
    if not isinstance(draft, dict):
        return None
    text, seq = draft.get("text"), draft.get("seq")
    if not isinstance(text, str) or not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        return None
    return text, seq


def note_box(
    *, label: str, text: str, key: str, save: Callable[[str], str | None], disabled: bool = False, height: int = 80
) -> None:
    """Show the note box for one item.

    Parameters
    ----------
    label : str
        The box's label.
    text : str
        The stored note (shown while the rater has nothing unsaved).
    key : str
        Opaque widget key (it is visible in the page): one per item and browser session.
    save : callable
        Saves one text; returns None when saved, or the message saying why it was not.
    disabled : bool
        Read-only (a locked study).
    height : int
        Minimum height of the box in pixels.

    Examples
    --------
    Outside a running Streamlit app nothing is mounted and nothing is saved:

    >>> note_box(label="Note", text="", key="n", save=lambda t: None)
    """
    handled = f"{key}__handled"

    def _on_draft() -> None:
        draft = _draft(st.session_state.get(key))
        last_seq = st.session_state.get(handled, (0, ""))[0]
        if draft is None or draft[1] <= last_seq:
            return  # nothing new (a resend of what was already handled)
        st.session_state[handled] = (draft[1], save(draft[0]) or "")

    acked, error = st.session_state.get(handled, (0, ""))
    _mount_note(
        key=key,
        data={
            "label": label,
            "text": text,
            "disabled": bool(disabled),
            "height": int(height),
            "debounce_ms": DEBOUNCE_MS,
            "acked": int(acked),
            "error": str(error),
        },
        width="stretch",
        height="content",
        on_draft_change=_on_draft,
    )
