"""One matcher for every blinding test: whole words, any case (so 'AbortController' is not 'Control')."""

from __future__ import annotations

import re


def leaked_words(blob: str, words: list[str]) -> list[str]:
    """The words of ``words`` that stand in ``blob`` as whole words, each with a little context."""
    found = []
    for word in words:
        m = re.search(rf"(?<![A-Za-z0-9]){re.escape(word)}(?![A-Za-z0-9])", blob, re.I)
        if m:
            found.append(f"{word!r} in …{blob[max(m.start() - 80, 0) : m.end() + 80]!r}…")
    return found
