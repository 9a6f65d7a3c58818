"""`annotate audit verify` and `annotate audit export --out FILE.csv`: the audit trail."""

from __future__ import annotations

from pathlib import Path

import click

from annotate.cli.common import acting_user, current_settings, unit_of_work


@click.group("audit")
def audit_group() -> None:
    """The append-only, hash-chained audit trail."""


@audit_group.command("verify")
def audit_verify() -> None:
    """Check every entry's hash and chain; exit 0 when whole, 1 naming the first broken entry."""
    from annotate.services import accounts

    with unit_of_work(current_settings()) as session:
        check = accounts.audit.verify(session)
    if not check.ok:
        click.echo(check.message, err=True)
        raise SystemExit(1)
    click.echo(check.message)


@audit_group.command("export")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="CSV file to write.")
def audit_export(out: Path) -> None:
    """Write the whole audit trail (with its hashes) to a CSV file."""
    from annotate.services import accounts

    with unit_of_work(current_settings()) as session:
        text = accounts.audit.export_csv(session, acting_user(session, None))
    out.write_text(text, encoding="utf-8")
    click.echo(f"Wrote {text.count(chr(10)) - 1} entries to {out}.")
