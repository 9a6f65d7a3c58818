"""A researcher on a site that requires a second factor, in Debian's Chromium: after the password
only My account opens; scanning (here: reading) the QR's key and typing the app's code turns the
factor on and opens the other pages; the next login needs the code, and a replayed code is refused."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pyotp
import pytest

from tests.e2e.conftest import CHROMIUM, running_server

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple"


@pytest.fixture
def strict_server(tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    env = {
        **os.environ,
        "ANNOTATE_DATA_DIR": str(tmp_path),
        "ANNOTATE_SECRET_KEY": "e2e-secret",
        "ANNOTATE_TOTP_REQUIRED_ROLES": "researcher,admin",
        "ANNOTATE_NEW_PASSWORD": PASSWORD,
    }
    env.pop("ANNOTATE_DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "-m", "annotate", "users", "add", "alice", "--role", "researcher"],
        env=env,
        check=True,
        capture_output=True,
    )
    with running_server(env, tmp_path) as base:
        yield base


def _log_in(page, base: str, code: str = "") -> None:
    page.goto(base + "/")
    page.fill("#username", "alice")
    page.fill("#password", PASSWORD)
    page.fill("#code", code)
    page.click("button[type=submit]")


def test_required_second_factor_is_set_up_then_asked_at_login(strict_server, browser_context) -> None:
    page = browser_context.new_page()
    _log_in(page, strict_server)
    page.get_by_text("asks every researcher for a second factor").wait_for()
    assert page.get_by_role("link", name="Studies").count() == 0  # nothing but My account yet
    page.get_by_role("button", name="Set up a second factor").click()
    page.locator("[data-testid=stImage] img").first.wait_for()
    secret = next(
        c.strip() for c in page.locator("code").all_inner_texts() if re.fullmatch(r"[A-Z2-7]{16,}", c.strip())
    )
    page.get_by_label("2. The 6-digit code the app shows now").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    page.get_by_text("Keep these recovery codes somewhere safe").wait_for()
    page.get_by_role("link", name="Studies").wait_for()  # the other pages open now
    page.screenshot(path="/tmp/e2e_totp_on.png", full_page=True)

    browser_context.clear_cookies()
    _log_in(page, strict_server)
    page.get_by_text("also asks for an authentication code").wait_for()
    # the next step's code (a clock 30 s ahead is allowed): newer than the one used at enrolment
    code = pyotp.TOTP(secret).at(time.time() + 30)
    _log_in(page, strict_server, code)
    page.get_by_role("link", name="Studies").wait_for()
    browser_context.clear_cookies()
    _log_in(page, strict_server, code)  # the same code again: a replay
    page.get_by_text("Wrong authentication code").wait_for()
