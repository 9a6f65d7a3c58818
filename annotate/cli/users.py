"""`annotate users ...`: local accounts and their lifecycle.

Scripts call these by name: ``passwd USER [--password-stdin]``, ``reset USER`` (the one-time
password alone on the last line), ``set-role USER ROLE``, ``deactivate USER``, ``activate USER``,
``unlock USER``, ``totp-reset USER``, ``list [--json]``. Run without ``--as`` they act as the machine's owner (audited as
``cli``); with ``--as ADMIN --password-stdin`` the act is e-signed by that admin.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from annotate.cli.common import acting_user, current_settings, unit_of_work

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from annotate.services.accounts import Signature
    from annotate.services.actor import Actor

ROLE_CHOICE = click.Choice(["rater", "clinician", "researcher", "analyst", "admin"])


def read_password_stdin() -> str:
    """One password from standard input (the first line, without its line end)."""
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise click.ClickException("No password on standard input.")
    return password


def signed_actor(
    session: Session, as_user: str | None, password_stdin: bool, meaning: str
) -> tuple[Actor, Signature | None]:
    """(actor, signature): the machine's owner without --as; else the named user, e-signed with the
    password read from standard input."""
    from annotate.services import accounts

    actor = acting_user(session, as_user)
    if not as_user:
        return actor, None
    if not password_stdin:
        raise click.UsageError("--as USER needs --password-stdin: the act is e-signed with that user's password.")
    return actor, accounts.sign(session, actor, read_password_stdin(), meaning)


@click.group("users")
def users_group() -> None:
    """Local accounts."""


@users_group.command("add")
@click.argument("username")
@click.option("--role", type=ROLE_CHOICE, required=True)
@click.option("--name", "display_name", default=None, help="Display name.")
@click.password_option(envvar="ANNOTATE_NEW_PASSWORD", help="Password (prompted; or ANNOTATE_NEW_PASSWORD).")
def users_add(username: str, role: str, display_name: str | None, password: str) -> None:
    """Add a user."""
    from annotate.services import accounts

    with unit_of_work(current_settings()) as session:
        made = accounts.create_user(session, None, username, password, role, display_name)
    click.echo(f"Added {made.username} ({made.role}).")


@users_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of objects.")
def users_list(as_json: bool) -> None:
    """List accounts with role, state (active, deactivated, locked), last login and failed attempts."""
    from annotate.services import accounts

    with unit_of_work(current_settings()) as session:
        rows = accounts.accounts_list(session, acting_user(session, None))
    if as_json:
        click.echo(json.dumps([r.as_json() for r in rows], indent=2, ensure_ascii=False))
        return
    click.echo(f"{'username':<20} {'role':<11} {'state':<12} {'last login':<26} failed  name")
    for r in rows:
        flags = " (demo)" if r.demo else ""
        click.echo(
            f"{r.username:<20} {r.role:<11} {r.state:<12} {r.last_login or '-':<26} {r.failed_attempts:>6}  "
            f"{r.display_name}{flags}"
        )


@users_group.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
def users_passwd(username: str, password_stdin: bool) -> None:
    """Set USER's password (prompted twice, or one line from standard input); their sessions end."""
    from annotate.services import accounts

    if password_stdin:
        password = read_password_stdin()
    else:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    with unit_of_work(current_settings()) as session:
        accounts.set_password(session, None, username, password)
    click.echo(f"Password of {username} changed; their sessions ended.")


@users_group.command("reset")
@click.argument("username")
def users_reset(username: str) -> None:
    """Give USER a one-time password (printed alone on the last line) to change at the next login."""
    from annotate.services import accounts

    with unit_of_work(current_settings()) as session:
        one_time = accounts.reset_password(session, None, username)
    click.echo(f"One-time password of {username} (it must be changed at the next login):")
    click.echo(one_time)


@users_group.command("set-role")
@click.argument("username")
@click.argument("role", type=ROLE_CHOICE)
@click.option("--as", "as_user", default=None, help="The admin who signs the change.")
@click.option("--password-stdin", is_flag=True, help="The signing admin's password, from standard input.")
def users_set_role(username: str, role: str, as_user: str | None, password_stdin: bool) -> None:
    """Change USER's role; their sessions end."""
    from annotate.services import accounts

    with unit_of_work(current_settings()) as session:
        actor, sig = signed_actor(session, as_user, password_stdin, f"I approve making {username} a {role}")
        accounts.set_role(session, actor, username, role, signature=sig)
    click.echo(f"{username} is now a {role}; their sessions ended.")


@users_group.command("deactivate")
@click.argument("username")
@click.option("--as", "as_user", default=None, help="The admin who signs the deactivation.")
@click.option("--password-stdin", is_flag=True, help="The signing admin's password, from standard input.")
def users_deactivate(username: str, as_user: str | None, password_stdin: bool) -> None:
    """Deactivate USER: no more logins, history kept, sessions end at once."""
    from annotate.services import accounts

    with unit_of_work(current_settings()) as session:
        actor, sig = signed_actor(session, as_user, password_stdin, f"I approve deactivating {username}")
        ended = accounts.deactivate(session, actor, username, signature=sig)
    click.echo(f"{username} deactivated; {ended} session(s) ended.")


@users_group.command("activate")
@click.argument("username")
def users_activate(username: str) -> None:
    """Reactivate USER."""
    from annotate.services import accounts

    with unit_of_work(current_settings()) as session:
        accounts.activate(session, None, username)
    click.echo(f"{username} is active again.")


@users_group.command("unlock")
@click.argument("username")
def users_unlock(username: str) -> None:
    """Lift USER's login lockout."""
    from annotate.services import accounts

    with unit_of_work(current_settings()) as session:
        accounts.unlock(session, None, username)
    click.echo(f"{username} unlocked.")


@users_group.command("totp-reset")
@click.argument("username")
def users_totp_reset(username: str) -> None:
    """Remove USER's second factor (a lost phone): they set up a new one on My account."""
    from annotate.services import accounts

    with unit_of_work(current_settings()) as session:
        accounts.totp.admin_reset(session, None, username)
    click.echo(f"{username}'s second factor is removed; their sessions ended.")
