"""ui.common.plain: what one person typed reaches another's page as text, never as Markdown or HTML."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from annotate.ui.common import plain

SPECIAL = set("\\`*_{}[]()#+-.!|<>~$:/&")


@settings(derandomize=True, max_examples=300)
@given(st.text(max_size=200))
def test_every_markdown_character_is_escaped_and_the_text_comes_back(text):
    out = plain(text)
    # Remove the escapes: what is left is exactly the text typed (line breaks as Markdown hard breaks).
    assert re.sub(r"\\(.)", r"\1", out, flags=re.S) == text.replace("\n", "  \n")
    i = 0
    while i < len(out):  # no special character stands unescaped
        if out[i] == "\\":
            assert out[i + 1] in SPECIAL
            i += 2
            continue
        assert out[i] not in SPECIAL
        i += 1


def test_a_link_or_image_is_inert():
    out = plain("see ![pixel](https://tracker.example/p.gif) and [here](javascript:alert(1)) <img src=x>")
    assert "](" not in out and "https://" not in out and "javascript:" not in out
    assert "\\<img" in out and not re.search(r"(?<!\\)<", out)  # every < escaped
