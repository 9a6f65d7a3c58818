"""What every page needs: settings, the logged-in actor, a database session, error display."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

import streamlit as st

from annotate.config import Settings, get_settings
from annotate.errors import AnnotateError
from annotate.services import accounts, studies
from annotate.services.actor import Actor
from annotate.services.errors import NotEnoughData, PermissionDenied
from annotate.services.session import unit_of_work

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

COOKIE = "annotate_session"
log = logging.getLogger(__name__)
T = TypeVar("T")


def settings() -> Settings:
    return get_settings()


@contextmanager
def db() -> Iterator[Session]:
    with unit_of_work(settings()) as session:
        yield session


def session_token() -> str | None:
    """The login token: the cookie set by /api/login, or one a test placed in session state."""
    token = st.context.cookies.get(COOKIE) if st.context.cookies else None
    return token or st.session_state.get("auth_token")


def current_actor() -> Actor | None:
    with db() as session:
        return accounts.resolve_session(session, session_token())


def call(fn: Callable[..., T], *args, **kwargs) -> T | None:
    """Run a service in its own unit of work; show a service error to the user instead of a traceback."""
    try:
        with db() as session:
            return fn(session, *args, **kwargs)
    except NotEnoughData as exc:
        st.info(str(exc))
        return None
    except AnnotateError as exc:  # service, input, scheme and media errors: the message says what to fix
        st.error(str(exc))
        return None
    except Exception:
        log.exception("unexpected error in %s", getattr(fn, "__qualname__", fn))
        raise


def deferred(fn: Callable[..., T], *args, **kwargs) -> Callable[[], T]:
    """Data for a download button, made only when it is clicked and audited then.

    The click is served outside this session's script run, where ``st.session_state`` does not
    exist: the acting user is captured now and the service runs in its own unit of work then.
    """
    actor = st.session_state["actor"]
    token = session_token()

    def make() -> T:
        try:
            with db() as session:
                # The click may come long after the page was drawn: the login must still be live
                # (not logged out in another tab, not deactivated, not idle) and its role unchanged.
                if accounts.resolve_session(session, token) != actor:
                    raise PermissionDenied(
                        "Your session has ended: log in again to download.",
                        actor=actor,
                        operation=f"download {getattr(fn, '__qualname__', fn)}",
                    )
                return fn(session, actor, *args, **kwargs)
        except Exception:
            log.exception("download %s failed", getattr(fn, "__qualname__", fn))
            raise

    return make


def download_link(label: str, url: str, help_text: str = "") -> None:
    """A link that downloads ``url`` (a same-origin export address) in place, with its help below.

    Why not ``st.download_button``: it keeps the whole file in the server's memory for the session;
    the export route streams it (:mod:`annotate.web.exports`). The label is ours (plain text).
    """
    st.markdown(
        f'<a class="annotate-download" href="{html.escape(url)}" download>{html.escape(label)}</a>',
        unsafe_allow_html=True,
    )
    if help_text:
        st.caption(help_text)


def pick_study(label: str = "Study") -> str | None:
    """The study selector shared by the researcher pages (one choice, kept across pages)."""
    infos = call(studies.list_studies, st.session_state["actor"]) or []
    if not infos:
        st.info("No study yet: create one on the Studies page.")
        return None
    keys = [i.key for i in infos]
    if st.session_state.get("study_key") not in keys:
        st.session_state["study_key"] = keys[0]
    titles = {i.key: f"{i.key} — {i.title}" for i in infos}
    return st.selectbox(label, keys, key="study_key", format_func=lambda key: titles[key])


def flash(message: str, kind: str = "success") -> None:
    """Show a message after the next rerun (callbacks run before the page is drawn)."""
    st.session_state.setdefault("_flash", []).append((kind, message))


def show_flashes() -> None:
    for kind, message in st.session_state.pop("_flash", []):
        getattr(st, kind)(message)


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:/&])")


def plain(text: str) -> str:
    r"""Text one person wrote (a note, a caption, an anchor) for ``st.markdown`` as plain text:
    every Markdown and HTML character is escaped, so no link, image or tag reaches the page and no
    browser fetches another host because of what someone typed.

    Examples
    --------
    >>> print(plain("![x](http://evil.example/a.png) *hi* <b>"))
    \!\[x\]\(http\:\/\/evil\.example\/a\.png\) \*hi\* \<b\>
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text).replace("\n", "  \n")


def fmt_time(seconds: float) -> str:
    """mm:ss for times shown to people."""
    seconds = max(0.0, float(seconds))
    return f"{int(seconds // 60):d}:{int(seconds % 60):02d}"
