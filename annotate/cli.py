"""The ``annotate`` command. Thin: parse options, call one service, print.

Commands act as the machine's owner (no login), except where ``--as`` names the acting user,
so the audit log says who did what.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import click

from annotate.cli_common import acting_user, current_settings
from annotate.cli_data import DATA_COMMANDS
from annotate.cli_stats import stats as stats_group
from annotate.config import REPO_ROOT
from annotate.services import assignments, demo, recordings, studies, study_status, users
from annotate.services.errors import ServiceError
from annotate.services.session import unit_of_work


@contextmanager
def _progress(label: str) -> Iterator[Callable[[float, str], None]]:
    """A progress bar fed with fractions 0..1 (what long services report)."""
    with click.progressbar(length=1000, label=label) as bar:
        shown = 0

        def update(frac: float, _message: str) -> None:
            nonlocal shown
            step = int(frac * 1000) - shown
            if step > 0:
                bar.update(step)
                shown += step

        yield update


class _Group(click.Group):
    """Turns service errors into a clear message and exit code 2 instead of a traceback."""

    def invoke(self, ctx: click.Context):  # noqa: ANN201
        try:
            return super().invoke(ctx)
        except ServiceError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Group)
@click.version_option(package_name="annotate")
def main() -> None:
    """annotate: blinded rating of parent–infant interaction films.

    The database and media store come from ANNOTATE_DATABASE_URL and ANNOTATE_MEDIA_DIR
    (default: ./annotate-data/). See README.md.
    """


@main.command()
def init() -> None:
    """Create (or upgrade) the database and the media folder."""
    s = current_settings()
    s.media_dir.mkdir(parents=True, exist_ok=True)
    with unit_of_work(s):
        pass
    click.echo(f"Database ready: {s.database_url}\nMedia store: {s.media_dir}")


@main.command("sample-media")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to write to (default: the repository's sample_media/).")
@click.option("--families-per-arm", default=3, show_default=True)
@click.option("--seconds", nargs=2, type=float, default=(20, 40), show_default=True,
              help="Shortest and longest film length.")
@click.option("--width", default=320, show_default=True)
@click.option("--height", default=240, show_default=True)
@click.option("--fps", default=15.0, show_default=True)
def sample_media(out: Path | None, families_per_arm: int, seconds: tuple[float, float], width: int, height: int, fps: float) -> None:
    """(Re)generate the synthetic demo films and their manifest (larger ones for benchmarks)."""
    from annotate.media import generate_sample_media

    target = out or current_settings().sample_media_dir
    manifest = generate_sample_media(
        target, families_per_arm=families_per_arm, seconds=seconds, width=width, height=height, fps=fps
    )
    click.echo(f"Wrote films and {manifest}")


@main.command("demo")
def demo_cmd() -> None:
    """Create the demo study from sample_media/ with demo users, and print their logins."""
    s = current_settings()
    with unit_of_work(s) as session, _progress("Preparing demo films") as progress:
        result = demo.create_demo(session, s, progress)
    click.echo("Demo study DEMO " + ("created" if result.created else "already exists") + ".")
    if result.created:
        click.echo(f"Films ready: {result.films_ready}, refused: {result.films_failed}")
    click.echo("Logins (demo only — change them for real use):")
    for username, password, role in result.logins:
        click.echo(f"  {role:<11} {username:<11} {password}")


@main.command()
@click.option("--port", default=8501, show_default=True)
@click.option("--address", default="127.0.0.1", show_default=True,
              help="Use 0.0.0.0 to serve other machines (put it behind HTTPS).")
def serve(port: int, address: str) -> None:
    """Run the web app."""
    app = REPO_ROOT / "app.py"
    if not app.exists():
        raise click.ClickException(f"{app} not found: serve runs from a checkout (pip install -e .).")
    with unit_of_work(current_settings()):
        pass  # migrate before the first page load
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
        "--server.address", address, "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
        "--client.toolbarMode", "minimal",
    ]
    click.echo(f"annotate on http://{address}:{port}")
    raise SystemExit(subprocess.call(cmd, env=os.environ.copy()))


@main.group("users")
def users_group() -> None:
    """Local accounts."""


@users_group.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["rater", "clinician", "researcher", "admin"]), required=True)
@click.option("--name", "display_name", default=None, help="Display name.")
@click.password_option(envvar="ANNOTATE_NEW_PASSWORD", help="Password (prompted; or ANNOTATE_NEW_PASSWORD).")
def users_add(username: str, role: str, display_name: str | None, password: str) -> None:
    """Add a user."""
    with unit_of_work(current_settings()) as session:
        made = users.create_user(session, None, username, password, role, display_name)
    click.echo(f"Added {made.username} ({made.role}).")


@users_group.command("list")
def users_list() -> None:
    """List users."""
    with unit_of_work(current_settings()) as session:
        for u in users.list_users(session, acting_user(session, None)):
            click.echo(f"{u.username:<20} {u.role:<11} {u.display_name}")


@main.group("study")
def study_group() -> None:
    """Studies."""


@study_group.command("create")
@click.argument("key")
@click.option("--arms", required=True, help="Comma-separated arm names, e.g. VIPP,Control.")
@click.option("--timepoints", required=True, help="Comma-separated time points in order.")
@click.option("--scheme", "scheme_key", required=True, help="Rating scheme key (file in rating_schemes/).")
@click.option("--segment-seconds", type=float, default=None, help="Fixed segment length; omit for whole films.")
@click.option("--title", default=None)
@click.option("--as", "as_user", default=None, help="Acting researcher (for the audit log).")
def study_create(key: str, arms: str, timepoints: str, scheme_key: str, segment_seconds: float | None, title: str | None, as_user: str | None) -> None:
    """Create a study."""
    s = current_settings()
    with unit_of_work(s) as session:
        info = studies.create_study(
            session, acting_user(session, as_user), s, key, arms=arms, timepoints=timepoints,
            scheme_key=scheme_key, segment_seconds=segment_seconds, title=title,
        )
    click.echo(f"Created study {info.key}: arms {', '.join(info.arms)}; time points {', '.join(info.timepoints)}; scheme {info.scheme_key} v{info.scheme_version}.")


def _move(key: str, target: str, reason: str, as_user: str | None) -> None:
    with unit_of_work(current_settings()) as session:
        gate = study_status.set_status(session, acting_user(session, as_user), key, target, reason)
    click.echo(f"Study {gate.key} is now {gate.status}.")


@study_group.command("lock")
@click.argument("key")
@click.option("--reason", default="")
@click.option("--as", "as_user", default=None)
def study_lock(key: str, reason: str, as_user: str | None) -> None:
    """Freeze all ratings (later changes only by an admin, with a reason)."""
    _move(key, "locked", reason, as_user)


@study_group.command("unblind")
@click.argument("key")
@click.option("--reason", required=True, help="Why now (kept in the audit log).")
@click.option("--as", "as_user", default=None)
def study_unblind(key: str, reason: str, as_user: str | None) -> None:
    """Unblind a locked study: per-arm results and full exports become available."""
    _move(key, "unblinded", reason, as_user)


@study_group.command("reopen")
@click.argument("key")
@click.option("--reason", required=True)
@click.option("--as", "as_user", default=None)
def study_reopen(key: str, reason: str, as_user: str | None) -> None:
    """Reopen a locked study for rating (admin)."""
    _move(key, "rating", reason, as_user)


@study_group.command("settings")
@click.argument("key")
@click.option("--share", type=float, default=None, help="Share of segments double-coded.")
@click.option("--tolerance", type=float, default=None, help="Consensus when scores differ by more than this.")
@click.option("--arm-guess/--no-arm-guess", default=None, help="Ask raters to guess the arm after each film.")
@click.option("--due-days", type=int, default=None)
@click.option("--consensus-rater", default=None, help="Senior rater who decides consensus.")
def study_settings_cmd(key: str, share, tolerance, arm_guess, due_days, consensus_rater) -> None:  # noqa: ANN001
    """Show or change the study's workflow settings."""
    values = {k: v for k, v in dict(double_code_share=share, consensus_tolerance=tolerance, ask_arm_guess=arm_guess,
                                     due_days=due_days, consensus_rater=consensus_rater).items() if v is not None}
    with unit_of_work(current_settings()) as session:
        actor = acting_user(session, None)
        now = study_status.update_settings(session, actor, key, **values) if values else study_status.study_settings(session, actor, key)
    for k, v in now.items():
        click.echo(f"{k}: {v}")


@main.command("correct")
@click.option("--assignment", "assignment_id", type=int, required=True, help="Assignment id (from the history export).")
@click.option("--dimension", required=True)
@click.option("--value", type=float, required=True)
@click.option("--reason", required=True, help="Why the frozen rating changes (kept in the history).")
@click.option("--as", "as_user", required=True, help="The admin making the change.")
def correct_cmd(assignment_id: int, dimension: str, value: float, reason: str, as_user: str) -> None:
    """Change a rating of a locked study (admin only; flagged in exports)."""
    with unit_of_work(current_settings()) as session:
        study_status.correct_locked_rating(session, acting_user(session, as_user), assignment_id, dimension, value, reason)
    click.echo("Corrected; the change is in the rating history and flagged in exports.")


@main.group("participants")
def participants_group() -> None:
    """Participants and allocation."""


@participants_group.command("import")
@click.option("--study", "study_key", required=True)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "as_user", default=None)
def participants_import(study_key: str, file: Path, as_user: str | None) -> None:
    """Import participants from CSV (columns participant, arm; optional per_protocol, clinician, covariates)."""
    with unit_of_work(current_settings()) as session:
        res = studies.import_participants(session, acting_user(session, as_user), study_key, file.read_bytes())
    click.echo(f"{res.created} added, {res.updated} updated.")


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--study", "study_key", required=True)
@click.option("--participant", default=None, help="Participant of the given film(s).")
@click.option("--timepoint", default=None, help="Time point of the given film(s).")
@click.option("--manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="CSV: file, participant, timepoint[, purpose, session]; paths relative to the manifest.")
@click.option("--pattern", default=None, help="Regex with named groups participant and timepoint, matched on file names.")
@click.option("--purpose", type=click.Choice(["assessment", "intervention"]), default="assessment", show_default=True)
@click.option("--as", "as_user", default=None)
def ingest(paths: tuple[Path, ...], study_key: str, participant: str | None, timepoint: str | None,
           manifest: Path | None, pattern: str | None, purpose: str, as_user: str | None) -> None:
    """Ingest films (files or folders) into a study."""
    if manifest:
        items = recordings.items_from_manifest(manifest.read_bytes(), manifest.parent)
    else:
        files = recordings.expand_paths(paths)
        if pattern:
            items = recordings.items_from_pattern(files, pattern, purpose)
        elif participant:
            items = [recordings.IngestItem(f, participant, timepoint, purpose) for f in files]
        else:
            raise click.UsageError("Say whose films these are: --participant/--timepoint, --manifest or --pattern.")
    s = current_settings()
    with unit_of_work(s) as session, _progress("Ingesting") as progress:
        outcomes = recordings.ingest(session, acting_user(session, as_user), s, study_key, items, progress)
    for o in outcomes:
        extra = f" — {o.reason}" if o.reason else ""
        click.echo(f"{o.status:<9} {o.original_name} {o.blind_code or ''}{extra}")
    if any(o.status == "failed" for o in outcomes):
        sys.exit(1)


@main.command("recordings")
@click.option("--study", "study_key", required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per recording).")
def recordings_cmd(study_key: str, as_json: bool) -> None:
    """List a study's recordings with status, refusal reason and proxy details."""
    with unit_of_work(current_settings()) as session:
        recs = recordings.list_recordings(session, acting_user(session, None), study_key)
    if as_json:
        click.echo(json.dumps([asdict(r) for r in recs], indent=2))
        return
    for r in recs:
        click.echo(f"{r.blind_code}  {r.status:<7} {r.original_name}  {r.participant or ''} {r.timepoint or ''}  {r.reason or ''}")


@main.command()
@click.option("--study", "study_key", required=True)
@click.option("--rater", "raters", multiple=True, required=True, help="Rater username (repeat for several).")
@click.option("--share", type=float, default=None, help="Share double-coded (default: the study's, 0.2).")
@click.option("--seed", type=int, default=None, help="Seed (recorded in the audit log; same seed, same plan).")
@click.option("--allow-same-family", is_flag=True, help="Let one rater rate several time points of a family.")
@click.option("--manual", is_flag=True, help="Simple assignment instead of the planning engine.")
@click.option("--mode", type=click.Choice(["split", "all"]), default="split", show_default=True,
              help="With --manual: split = each segment to one rater; all = every rater every segment.")
@click.option("--film", "films", multiple=True, help="With --manual: only these film codes (repeatable).")
@click.option("--as", "as_user", default=None)
def assign(study_key: str, raters: tuple[str, ...], share: float | None, seed: int | None, allow_same_family: bool,
           manual: bool, mode: str, films: tuple[str, ...], as_user: str | None) -> None:
    """Assign films to raters with planned, stratified double-coding (or --manual)."""
    with unit_of_work(current_settings()) as session:
        actor = acting_user(session, as_user)
        if manual:
            ids = None
            if films:
                segs = assignments.assignable_segments(session, actor, study_key)
                ids = [s.segment_id for s in segs if s.blind_code in set(films)]
            res = assignments.assign_segments(session, actor, study_key, list(raters), segment_ids=ids, mode=mode, seed=seed)
            click.echo(f"{res.created} assignment(s) made with seed {res.seed}; {res.already_assigned} already assigned.")
            for name, n in res.per_rater.items():
                click.echo(f"  {name}: +{n}")
            return
        plan = assignments.plan_study(session, actor, study_key, list(raters), share=share, seed=seed,
                                      one_timepoint_per_family=not allow_same_family)
    click.echo(f"{plan.films_planned} film(s): {plan.created_primary} primary and {plan.created_reliability} "
               f"double-coded items, seed {plan.seed}.")
    for name, n in plan.load.items():
        click.echo(f"  {name}: {n} segments in total")
    for stratum, got in plan.share_by_stratum.items():
        click.echo(f"  {stratum}: {got:.1%} double-coded")
    if plan.relaxed_families:
        click.echo(f"  note: {plan.relaxed_families} family(ies) have a rater with two time points (too few raters).")


EXPORT_FORMATS = ["csv", "wide", "xlsx", "sav", "dta", "parquet", "reliability", "history", "codebook", "study"]
_TEXT_FORMATS = ("csv", "wide", "history", "codebook")


@main.command("export")
@click.option("--study", "study_key", required=True)
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), default="csv", show_default=True,
              help="csv: one row per rating; wide: participant x time point; xlsx/sav/dta/parquet; reliability: "
                   "zip of units x raters matrices; history: every change; codebook (.md with --out x.md); "
                   "study: the study package (definition + ratings) for `annotate import study`.")
@click.option("--mode", type=click.Choice(["auto", "blinded", "masked", "full"]), default="auto", show_default=True,
              help="blinded: film codes only; masked: arms as Arm A/B; full: after unblinding; auto: full if unblinded.")
@click.option("--table", type=click.Choice(["wide", "segments", "ratings"]), default=None,
              help="Table of sav/dta/parquet (default: wide for sav/dta, segments when blinded; ratings for parquet).")
@click.option("--rule", default="consensus_else_mean", show_default=True, help="Aggregation rule of the wide table.")
@click.option("--analysis-set", default="itt", show_default=True, help="Analysis set of the wide table (itt, per_protocol).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File (default: stdout, for csv, wide, history and codebook only).")
@click.option("--as", "as_user", default=None)
def export_cmd(study_key: str, fmt: str, mode: str, table: str | None, rule: str, analysis_set: str,
               out: Path | None, as_user: str | None) -> None:
    """Export a study's ratings (tidy CSV by default), tables for SPSS/Stata/R/Excel, or the study package."""
    from annotate.services import export_formats, export_package

    if out is None and fmt not in _TEXT_FORMATS:
        raise click.UsageError(f"--format {fmt} writes a binary file: give --out FILE.")
    with unit_of_work(current_settings()) as session:
        actor = acting_user(session, as_user)
        if fmt in ("csv", "history"):
            write = export_formats.write_ratings_csv if fmt == "csv" else export_formats.write_history_csv
            if out:
                with out.open("w", encoding="utf-8", newline="") as fh:
                    write(session, actor, study_key, fh, mode=mode)
            else:
                write(session, actor, study_key, sys.stdout, mode=mode)
        elif fmt == "study":
            out.write_bytes(export_package.export_study_package(session, actor, study_key))
        else:
            variant = "md" if fmt == "codebook" and out is not None and out.suffix.lower() == ".md" else "csv"
            f = export_formats.export_file(session, actor, study_key, fmt, mode, table=table, rule=rule,
                                           analysis_set=analysis_set, variant=variant)
            if out:
                out.write_bytes(f.data)
            else:
                click.echo(f.data.decode("utf-8"), nl=False)
    if out:
        click.echo(f"Wrote {out}", err=True)


main.add_command(stats_group)
for _command in DATA_COMMANDS:
    main.add_command(_command)
