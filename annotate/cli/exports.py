"""`annotate export`: a study's ratings in every format, or the study package."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from annotate.cli.common import acting_user, current_settings, unit_of_work

EXPORT_FORMATS = ["csv", "wide", "xlsx", "sav", "dta", "parquet", "reliability", "history", "codebook", "study"]
EVENT_FORMATS = ["events", "boris-events", "elan-events", "event-arms"]  # issue 19: coded events (annotate.cli.events)


_TEXT_FORMATS = ("csv", "wide", "history", "codebook")


@click.command("export")
@click.option("--study", "study_key", required=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(EXPORT_FORMATS + EVENT_FORMATS),
    default="csv",
    show_default=True,
    help="csv: one row per rating; wide: participant x time point; xlsx/sav/dta/parquet; reliability: "
    "zip of units x raters matrices; history: every change; codebook (.md with --out x.md); "
    "study: the study package (definition + ratings) for `annotate import study`.",
)
@click.option(
    "--mode",
    type=click.Choice(["auto", "blinded", "masked", "full"]),
    default="auto",
    show_default=True,
    help="blinded: film codes only; masked: arms as Arm A/B, participants as study pseudonyms; full: after "
    "unblinding; auto: full if unblinded.",
)
@click.option(
    "--table",
    type=click.Choice(["wide", "segments", "ratings"]),
    default=None,
    help="Table of sav/dta/parquet (default: wide for sav/dta, segments when blinded; ratings for parquet).",
)
@click.option("--rule", default="consensus_else_mean", show_default=True, help="Aggregation rule of the wide table.")
@click.option(
    "--analysis-set", default="itt", show_default=True, help="Analysis set of the wide table (itt, per_protocol)."
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File (default: stdout, for csv, wide, history and codebook only).",
)
@click.option("--as", "as_user", default=None, help="Act as this user (their rights apply; default: the owner).")
def export_cmd(
    study_key: str,
    fmt: str,
    mode: str,
    table: str | None,
    rule: str,
    analysis_set: str,
    out: Path | None,
    as_user: str | None,
) -> None:
    """Export a study's ratings (tidy CSV by default), tables for SPSS/Stata/R/Excel, or the study package."""
    from annotate.services import exchange

    if fmt in EVENT_FORMATS:
        from annotate.cli.events import export_events

        return export_events(study_key, fmt, out, as_user, mode=mode)
    if out is None and fmt not in _TEXT_FORMATS:
        raise click.UsageError(f"--format {fmt} writes a binary file: give --out FILE.")
    with unit_of_work(current_settings()) as session:
        actor = acting_user(session, as_user)
        if fmt in ("csv", "history"):
            write = exchange.write_ratings_csv if fmt == "csv" else exchange.write_history_csv
            if out:
                with out.open("w", encoding="utf-8", newline="") as fh:
                    write(session, actor, study_key, fh, mode=mode)
            else:
                write(session, actor, study_key, sys.stdout, mode=mode)
        elif fmt == "study" and out is not None:
            out.write_bytes(exchange.export_study_package(session, actor, study_key))
        else:
            variant = "md" if fmt == "codebook" and out is not None and out.suffix.lower() == ".md" else "csv"
            f = exchange.export_file(
                session, actor, study_key, fmt, mode, table=table, rule=rule, analysis_set=analysis_set, variant=variant
            )
            if out:
                out.write_bytes(f.data)
            else:
                click.echo(f.data.decode("utf-8"), nl=False)
    if out:
        click.echo(f"Wrote {out}", err=True)
