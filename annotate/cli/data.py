"""`annotate import`, `annotate elan`, `annotate backup` and `annotate restore`: researchers' data in
and out (registered on the main command by annotate.cli.main)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from annotate.cli.common import acting_user, current_settings, unit_of_work


@click.group("import")
def import_group() -> None:
    """Import ratings, segment definitions or a study package (all-or-nothing; bad rows are listed)."""


@import_group.command("ratings")
@click.option("--study", "study_key", required=True)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "as_user", default=None)
def import_ratings_cmd(study_key: str, file: Path, as_user: str | None) -> None:
    """Scores from CSV: film, segment (1 = first), rater, dimension, value[, purpose, note]."""
    from annotate.services import exchange

    with unit_of_work(current_settings()) as session:
        res = exchange.import_ratings(
            session, acting_user(session, as_user), study_key, file.read_bytes(), source=file.name
        )
    click.echo(
        f"{res.created} score(s) added, {res.unchanged} already present; {res.assignments_created} "
        f"assignment(s) created, {res.assignments_done} marked done."
    )


@import_group.command("segments")
@click.option("--study", "study_key", required=True)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "as_user", default=None)
def import_segments_cmd(study_key: str, file: Path, as_user: str | None) -> None:
    """Segment definitions from CSV: film, start, end[, task] (seconds or m:ss)."""
    from annotate.services import exchange

    with unit_of_work(current_settings()) as session:
        res = exchange.import_segments(session, acting_user(session, as_user), study_key, file.read_bytes())
    click.echo(f"{res.films} film(s) re-segmented ({res.segments} segments); {res.unchanged} unchanged.")


@import_group.command("study")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", "new_key", default=None, help="Import under another study key.")
def import_study_cmd(file: Path, new_key: str | None) -> None:
    """A study package made by `annotate export --format study` (into a database without its films)."""
    from annotate.services import exchange

    with unit_of_work(current_settings()) as session:
        res = exchange.import_study_package(session, acting_user(session, None), file.read_bytes(), new_key=new_key)
    click.echo(
        f"Study {res.study_key}: {res.participants} participants, {res.films} films, {res.segments} segments, "
        f"{res.ratings} scores."
    )
    if res.users_created:
        click.echo(f"Accounts created without a known password (set one before use): {', '.join(res.users_created)}")


@click.group("elan")
def elan_group() -> None:
    """Exchange segments and scores with ELAN (.eaf)."""


@elan_group.command("export")
@click.option("--study", "study_key", required=True)
@click.option("--film", default=None, help="Film code (default: every assessment film, as a zip of .eaf files).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--as", "as_user", default=None)
def elan_export_cmd(study_key: str, film: str | None, out: Path, as_user: str | None) -> None:
    """Write an .eaf (segments and scores as tiers; media named <film code>.mp4 next to it)."""
    from annotate.services import exchange

    with unit_of_work(current_settings()) as session:
        actor = acting_user(session, as_user)
        data = (
            exchange.export_eaf(session, actor, study_key, film)
            if film
            else exchange.export_eaf_zip(session, actor, study_key)
        )
    out.write_bytes(data)
    click.echo(f"Wrote {out}")


@elan_group.command("import")
@click.option("--study", "study_key", required=True)
@click.option("--film", required=True, help="Film code whose segments the tier defines.")
@click.option("--tier", default="segments", show_default=True, help="Time-aligned tier holding the segments.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "as_user", default=None)
def elan_import_cmd(study_key: str, film: str, tier: str, file: Path, as_user: str | None) -> None:
    """Replace a film's segments by the annotations of an ELAN tier (annotation value = task label)."""
    from annotate.services import exchange

    with unit_of_work(current_settings()) as session:
        res = exchange.import_eaf_segments(
            session, acting_user(session, as_user), study_key, film, file.read_bytes(), tier
        )
    click.echo(f"{res.segments} segment(s) written" if res.films else "Segments unchanged.")


def _place(target: str) -> Path | str:
    """A folder path, or an ``s3://bucket/prefix`` URL kept as text."""
    return target if target.startswith("s3://") else Path(target)


@click.command("backup")
@click.argument("target", metavar="FOLDER_OR_S3_URL")
@click.option(
    "--with-media", is_flag=True, help="Also copy the originals, proxies and thumbnails (else only their checksums)."
)
@click.option("--queue", "as_job", is_flag=True, help="Run it as a job on a worker (see `annotate jobs`).")
def backup_cmd(target: str, with_media: bool, as_job: bool) -> None:
    """Consistent copy of the live SQLite database (backup API) + media manifest with sha256, into a
    new folder or a new prefix of a bucket (s3://bucket/backups/NAME). PostgreSQL: pg_dump."""
    directory = _place(target)
    from annotate.services import exchange

    if as_job:
        s = current_settings()
        with unit_of_work(s) as session:
            job = exchange.enqueue_backup(session, acting_user(session, None), s, directory, with_media=with_media)
        click.echo(f"backup queued as job {job.id}")
        return

    res = exchange.backup(current_settings(), acting_user(None, None), directory, with_media=with_media)
    click.echo(
        f"Backed up the database ({res.database_bytes:,} bytes) and a manifest of {res.media_files} media "
        f"file(s) ({res.media_bytes:,} bytes{', copied' if res.media_copied else ''}) to {res.directory}"
    )


@click.command("restore")
@click.argument("source", metavar="FOLDER_OR_S3_URL")
@click.option("--force", is_flag=True, help="Replace a database that already holds data (stop the app first).")
def restore_cmd(source: str, force: bool) -> None:
    """Restore a backup (a folder or s3://bucket/prefix) into the configured database and media
    store, and verify media checksums."""
    from annotate.services import exchange

    res = exchange.restore(current_settings(), acting_user(None, None), _place(source), force=force)
    click.echo(f"Restored {res.database}; media: {res.media_checked} checked, {res.media_copied} copied.")
    for path in res.missing:
        click.echo(f"  missing: {path}", err=True)
    for path in res.mismatched:
        click.echo(f"  checksum differs: {path}", err=True)
    if not res.ok:
        sys.exit(1)


from annotate.cli.events import import_events_cmd  # noqa: E402  (issue 19: coded events, own module)

import_group.add_command(import_events_cmd)
