"""Coded events in and out on the command line (issue 19): ``annotate export --format events |
boris-events | elan-events`` and ``annotate import events FILE --study KEY --format csv|boris|elan``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import click

from annotate.cli.common import acting_user, current_settings, unit_of_work


def export_events(study_key: str, fmt: str, out: Path | None, as_user: str | None, mode: str = "auto") -> None:
    """Write the study's done events: the long CSV, BORIS's tabular events, ELAN files (zip), or the
    per-arm event table (``event-arms``: masked arms unless ``--mode full``, which needs unblinding)."""
    from annotate.services import exchange

    if fmt == "elan-events" and out is None:
        raise click.UsageError("--format elan-events writes a zip of .eaf files: give --out FILE.zip.")
    with unit_of_work(current_settings()) as session:
        actor = acting_user(session, as_user)
        if fmt == "events":
            if out is not None:
                with out.open("w", encoding="utf-8", newline="") as fh:
                    exchange.write_events_csv(session, actor, study_key, fh)
            else:
                exchange.write_events_csv(session, actor, study_key, sys.stdout)
        elif fmt == "event-arms":
            masked = {"full": False, "auto": None}.get(mode, True)
            with out.open("w", encoding="utf-8", newline="") if out is not None else _stdout() as fh:
                exchange.write_event_arms_csv(session, actor, study_key, fh, masked=masked)
        elif fmt == "boris-events":
            text = exchange.boris_events_csv(session, actor, study_key)
            if out is not None:
                out.write_text(text, encoding="utf-8", newline="")
            else:
                click.echo(text, nl=False)
        elif out is not None:  # elan-events (checked above)
            out.write_bytes(exchange.elan_events_zip(session, actor, study_key))
    if out:
        click.echo(f"Wrote {out}", err=True)


@contextmanager
def _stdout() -> Iterator[TextIO]:
    yield sys.stdout


@click.command("events")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--study", "study_key", required=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "boris", "elan"]),
    default="csv",
    show_default=True,
    help="csv: the events export's columns; boris: BORIS tabular events; elan: an .eaf (tiers <rater>/<group>).",
)
@click.option("--scheme", "scheme_key", default=None, help="Event-coding scheme (default: the study's scheme).")
@click.option("--film", default=None, help="boris/elan: the film's code (else from the observation id <film>/<rater>).")
@click.option("--rater", default=None, help="boris/elan: the rater's username (else from the observation id or tier).")
@click.option("--as", "as_user", default=None)
def import_events_cmd(
    file: Path,
    study_key: str,
    fmt: str,
    scheme_key: str | None,
    film: str | None,
    rater: str | None,
    as_user: str | None,
) -> None:
    """Coded events, all or nothing: a bad row rejects the file, naming the row."""
    from annotate.services import exchange

    with unit_of_work(current_settings()) as session:
        res = exchange.import_events(
            session,
            acting_user(session, as_user),
            study_key,
            file.read_bytes(),
            fmt=fmt,
            scheme=scheme_key,
            film=film,
            rater=rater,
            source=file.name,
        )
    click.echo(
        f"{res.created} event(s) added, {res.unchanged} already present; {res.assignments_created} assignment(s) created."
    )
