"""The "Data in and out" page under AppTest: every export offered for the study's state, no error."""

from __future__ import annotations

import dataclasses
import html
import re

from streamlit.testing.v1 import AppTest

from annotate.services import studies
from tests.support.signing import sign as _sign


def _page(actor_fields: tuple) -> None:
    import streamlit as st

    from annotate.services.actor import Actor
    from annotate.ui.pages_data import data_page

    st.session_state["actor"] = Actor(*actor_fields)
    data_page()


def app(actor) -> AppTest:
    return AppTest.from_function(_page, args=(dataclasses.astuple(actor),), default_timeout=60).run()


def labels(at: AppTest) -> list[str]:
    """Download buttons and the export route's download links (label, href) on the page."""
    links = [
        html.unescape(m)
        for md in at.markdown
        for m in re.findall(r'class="annotate-download"[^>]*>([^<]+)</a>', md.value)
    ]
    return [b.proto.label for b in at.get("download_button")] + links


def hrefs(at: AppTest) -> list[str]:
    return [
        html.unescape(m)
        for md in at.markdown
        for m in re.findall(r'class="annotate-download" href="([^"]+)"', md.value)
    ]


def test_masked_before_unblinding_full_after(env, session, people, study):
    at = app(people["res"])
    assert not at.exception, at.exception
    offered = labels(at)
    assert "Ratings, one row per rating (CSV)" in offered and "SPSS (.sav)" in offered
    assert not any("Study package" in b for b in offered)  # researchers get it after unblinding
    assert all(h.startswith("/api/export?study=") and "mode=masked" in h for h in hrefs(at))
    modes = at.radio[0].options
    assert any("Masked" in m for m in modes) and not any(m.startswith("Full") for m in modes)
    studies.set_status(session, people["res"], study, "rating")
    studies.set_status(session, people["res"], study, "locked", signature=_sign(session, people["res"]))
    studies.set_status(
        session, people["res"], study, "unblinded", "primary analysis", signature=_sign(session, people["res"])
    )
    session.commit()
    at = app(people["res"])
    assert any(m.startswith("Full") for m in at.radio[0].options)
    assert any("Study package" in b for b in labels(at))


def test_blinded_mode_hides_the_wide_table(env, session, people, study):
    at = app(people["res"])
    at.radio[0].set_value("blinded").run()
    assert not at.exception
    assert "Wide table (CSV)" not in labels(at)
