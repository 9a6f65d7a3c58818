"""`annotate worker`, `annotate jobs` (list, retry, cancel), `annotate store check` and
`annotate films remove`: the background work and the media store from the command line."""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict
from typing import TYPE_CHECKING

import click

from annotate.cli.common import acting_user, current_settings, unit_of_work

if TYPE_CHECKING:
    from annotate.services.jobs import JobInfo


@click.command()
@click.option("--concurrency", default=1, show_default=True, type=click.IntRange(1, 64), help="Jobs at once.")
def worker(concurrency: int) -> None:
    """Run jobs (ingest, clip packages, backups) until stopped (Ctrl-C).

    Without ANNOTATE_JOBS_URL it takes the embedded queue of the data folder; with
    ANNOTATE_JOBS_URL=redis://... it shares the queue with workers on other machines. Each job's
    encoder gets cores/concurrency threads unless ANNOTATE_ENCODER_THREADS says otherwise.
    """
    from annotate.services import jobs

    os.environ["ANNOTATE_WORKER_CONCURRENCY"] = str(concurrency)
    s = current_settings()
    with unit_of_work(s):
        pass  # migrate first
    click.echo(f"annotate worker: {concurrency} at once, queue {jobs.queue_location(s)}", err=True)
    jobs.run_worker(s, concurrency)


@click.group("jobs", invoke_without_command=True)
@click.option("--study", "study_key", default=None, help="Only this study's jobs.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per job).")
@click.pass_context
def jobs_group(ctx: click.Context, study_key: str | None, as_json: bool) -> None:
    """List jobs (newest first): id, kind, state, progress, message, error, attempts, timestamps."""
    if ctx.invoked_subcommand is not None:
        return
    from annotate.services import jobs

    with unit_of_work(current_settings()) as session:
        rows = jobs.list_jobs(session, acting_user(session, None), study_key)
    if as_json:
        click.echo(json.dumps([asdict(r) for r in rows], indent=2))
        return
    for r in rows:
        tail = f" — {r.error}" if r.error else (f" — {r.message}" if r.state in ("queued", "running") else "")
        click.echo(
            f"{r.id:>6} {r.kind:<12} {r.state:<9} {r.progress * 100:5.1f}% {r.film or '':<8} "
            f"tries {r.attempts}  {r.updated_at}{tail}"
        )


@jobs_group.command("retry")
@click.argument("job_id", type=int)
@click.option("--as", "as_user", default=None)
def retry_cmd(job_id: int, as_user: str | None) -> None:
    """Queue a failed or cancelled job again."""
    from annotate.services import jobs

    s = current_settings()
    with unit_of_work(s) as session:
        info = jobs.retry(session, acting_user(session, as_user), s, job_id)
    click.echo(f"job {info.id} queued again")


@jobs_group.command("cancel")
@click.argument("job_id", type=int)
@click.option("--as", "as_user", default=None)
def cancel_cmd(job_id: int, as_user: str | None) -> None:
    """Cancel a queued or running job (its film is marked failed; partial files are removed)."""
    from annotate.services import jobs

    s = current_settings()
    with unit_of_work(s) as session:
        info = jobs.cancel(session, acting_user(session, as_user), s, job_id)
    click.echo(f"job {info.id} {info.state}")


def wait_for(job_ids: list[int], poll_s: float = 0.5) -> list[JobInfo]:
    """Show one progress bar over ``job_ids`` until each is done, failed or cancelled."""
    from annotate.services import jobs

    s = current_settings()
    mine = set(job_ids)
    with click.progressbar(length=1000, label="Ingesting", file=sys.stderr) as bar:
        shown = 0
        while True:
            with unit_of_work(s) as session:
                rows = [r for r in jobs.list_jobs(session, acting_user(session, None)) if r.id in mine]
            total = sum(1.0 if r.state not in ("queued", "running") else r.progress for r in rows)
            now = int(1000 * total / max(1, len(mine)))
            bar.update(now - shown)
            shown = now
            if rows and all(r.state not in ("queued", "running") for r in rows):
                return rows
            time.sleep(poll_s)


@click.group("store")
def store_group() -> None:
    """The media store: check that every file belongs to a film and every film has its files."""


@store_group.command("check")
@click.option("--delete-orphans", is_flag=True, help="Remove files that no film, clip or job owns.")
@click.option("--checksums", is_flag=True, help="Also verify each original's SHA-256 (reads every film).")
@click.option("--json", "as_json", is_flag=True)
def store_check(delete_orphans: bool, checksums: bool, as_json: bool) -> None:
    """Report orphan files, missing files and (with --checksums) originals whose checksum differs."""
    from annotate.services import films

    s = current_settings()
    with unit_of_work(s) as session:
        report = films.check_store(session, acting_user(session, None), s, checksums=checksums, delete=delete_orphans)
    if as_json:
        click.echo(json.dumps(asdict(report), indent=2))
    else:
        click.echo(f"store {report.store}: {report.files} file(s), {report.films} film(s)")
        for k in report.orphans:
            click.echo(f"orphan   {k}" + (" (deleted)" if delete_orphans else ""))
        for k in report.missing:
            click.echo(f"missing  {k}")
        for k in report.mismatched:
            click.echo(f"checksum {k}")
        for k in report.partial:
            click.echo(f"partial  {k}")
    if report.missing or report.mismatched or (report.orphans and not delete_orphans):
        sys.exit(1)


@click.group("films")
def films_group() -> None:
    """Film records: remove a refused or mistaken one."""


@films_group.command("remove")
@click.argument("code")
@click.option("--reason", required=True, help="Why the record is removed (kept in the audit log).")
@click.option("--as", "as_user", default=None)
def remove_cmd(code: str, reason: str, as_user: str | None) -> None:
    """Remove a film record and its media when no rating uses it (audited)."""
    from annotate.services import films

    s = current_settings()
    with unit_of_work(s) as session:
        films.remove_film(session, acting_user(session, as_user), s, code, reason)
    click.echo(f"film {code} removed")
