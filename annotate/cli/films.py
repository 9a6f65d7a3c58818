"""`annotate ingest` and `annotate recordings`: films into a study, and their state."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import click

from annotate.cli.common import acting_user, current_settings, progress_bar, unit_of_work


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--study", "study_key", required=True)
@click.option("--participant", default=None, help="Participant of the given film(s).")
@click.option("--timepoint", default=None, help="Time point of the given film(s).")
@click.option(
    "--manifest",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="CSV: file, participant, timepoint[, purpose, session]; paths relative to the manifest.",
)
@click.option(
    "--pattern", default=None, help="Regex with named groups participant and timepoint, matched on file names."
)
@click.option("--purpose", type=click.Choice(["assessment", "intervention"]), default="assessment", show_default=True)
@click.option(
    "--wait/--no-wait",
    default=False,
    help="Wait for the jobs with a progress bar (default: queue them and return; see `annotate jobs`).",
)
@click.option("--here", is_flag=True, help="Do the work in this process instead of queueing jobs for workers.")
@click.option("--as", "as_user", default=None)
def ingest(
    paths: tuple[Path, ...],
    study_key: str,
    participant: str | None,
    timepoint: str | None,
    manifest: Path | None,
    pattern: str | None,
    purpose: str,
    wait: bool,
    here: bool,
    as_user: str | None,
) -> None:
    """Ingest films (files or folders) into a study: registers them and queues one job each.

    A worker (`annotate worker`, or the one `annotate serve` runs) does the work; --wait shows
    its progress, --here does it in this process.
    """
    from annotate.services import films

    if manifest:
        items = films.items_from_manifest(manifest.read_bytes(), manifest.parent)
    else:
        files = films.expand_paths(paths)
        if pattern:
            items = films.items_from_pattern(files, pattern, purpose)
        elif participant:
            items = [films.IngestItem(f, participant, timepoint, purpose) for f in files]
        else:
            raise click.UsageError("Say whose films these are: --participant/--timepoint, --manifest or --pattern.")
    s = current_settings()
    if not here:
        with unit_of_work(s) as session:
            queued = films.enqueue_ingest(session, acting_user(session, as_user), s, study_key, items)
        for q in queued:
            extra = f" — {q.reason}" if q.reason else f" — job {q.job_id}"
            click.echo(f"{q.status:<9} {q.original_name} {q.blind_code or ''}{extra}")
        if not wait:
            return
        from annotate.cli.jobs import wait_for

        done = wait_for([q.job_id for q in queued if q.job_id is not None])
        failed = False
        for r in done:
            click.echo(f"{r.state:<9} job {r.id} film {r.film or ''}" + (f" — {r.error}" if r.error else ""))
            failed = failed or r.state != "done"
        if failed:
            sys.exit(1)
        return
    with unit_of_work(s) as session, progress_bar("Ingesting") as progress:
        outcomes = films.ingest(session, acting_user(session, as_user), s, study_key, items, progress)
    for o in outcomes:
        extra = f" — {o.reason}" if o.reason else ""
        click.echo(f"{o.status:<9} {o.original_name} {o.blind_code or ''}{extra}")
    if any(o.status == "failed" for o in outcomes):
        sys.exit(1)


@click.command("recordings")
@click.option("--study", "study_key", required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per recording).")
@click.option("--as", "as_user", default=None, help="Act as this user (their rights apply; default: the owner).")
def recordings_cmd(study_key: str, as_json: bool, as_user: str | None) -> None:
    """List a study's recordings with status, refusal reason and proxy details."""
    from annotate.services import films

    with unit_of_work(current_settings()) as session:
        recs = films.list_recordings(session, acting_user(session, as_user), study_key)
    if as_json:
        click.echo(json.dumps([asdict(r) for r in recs], indent=2))
        return
    for r in recs:
        click.echo(
            f"{r.blind_code}  {r.status:<7} {r.original_name}  {r.participant or ''} {r.timepoint or ''}  {r.reason or ''}"
        )
