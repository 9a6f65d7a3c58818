"""`annotate study ...`, `participants import` and `correct`: a study's set-up and its gate."""

from __future__ import annotations

from pathlib import Path

import click

from annotate.cli.common import acting_user, current_settings, unit_of_work


@click.group("study")
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
def study_create(
    key: str,
    arms: str,
    timepoints: str,
    scheme_key: str,
    segment_seconds: float | None,
    title: str | None,
    as_user: str | None,
) -> None:
    """Create a study."""
    from annotate.services import studies

    s = current_settings()
    with unit_of_work(s) as session:
        info = studies.create_study(
            session,
            acting_user(session, as_user),
            s,
            key,
            arms=arms,
            timepoints=timepoints,
            scheme_key=scheme_key,
            segment_seconds=segment_seconds,
            title=title,
        )
    click.echo(
        f"Created study {info.key}: arms {', '.join(info.arms)}; time points {', '.join(info.timepoints)}; scheme {info.scheme_key} v{info.scheme_version}."
    )


def _move(key: str, target: str, reason: str, as_user: str | None, password_stdin: bool = False) -> None:
    from annotate.cli.users import signed_actor
    from annotate.services import studies

    verb = {"locked": "locking", "unblinded": "unblinding"}.get(target)
    with unit_of_work(current_settings()) as session:
        if verb:  # irreversible: e-signed by the --as user (password from standard input)
            actor, sig = signed_actor(session, as_user, password_stdin, f"I approve {verb} study {key}")
        else:
            actor, sig = acting_user(session, as_user), None
        gate = studies.set_status(session, actor, key, target, reason, signature=sig)
    click.echo(f"Study {gate.key} is now {gate.status}.")


@study_group.command("lock")
@click.argument("key")
@click.option("--reason", default="")
@click.option("--as", "as_user", default=None)
@click.option("--password-stdin", is_flag=True, help="The --as user's password (the e-signature), from standard input.")
def study_lock(key: str, reason: str, as_user: str | None, password_stdin: bool) -> None:
    """Freeze all ratings (later changes only by an admin, with a reason)."""
    _move(key, "locked", reason, as_user, password_stdin)


@study_group.command("unblind")
@click.argument("key")
@click.option("--reason", required=True, help="Why now (kept in the audit log).")
@click.option("--as", "as_user", default=None)
@click.option("--password-stdin", is_flag=True, help="The --as user's password (the e-signature), from standard input.")
def study_unblind(key: str, reason: str, as_user: str | None, password_stdin: bool) -> None:
    """Unblind a locked study: per-arm results and full exports become available."""
    _move(key, "unblinded", reason, as_user, password_stdin)


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
@click.option(
    "--researchers-blinded/--researchers-see-allocation",
    default=None,
    help="Researchers see only the masked view until unblinding (admins hold the allocation; admins only).",
)
def study_settings_cmd(key: str, share, tolerance, arm_guess, due_days, consensus_rater, researchers_blinded) -> None:
    """Show or change the study's workflow settings."""
    from annotate.services import studies

    values = {
        k: v
        for k, v in dict(
            double_code_share=share,
            consensus_tolerance=tolerance,
            ask_arm_guess=arm_guess,
            due_days=due_days,
            consensus_rater=consensus_rater,
            researchers_blinded=researchers_blinded,
        ).items()
        if v is not None
    }
    with unit_of_work(current_settings()) as session:
        actor = acting_user(session, None)
        now = (
            studies.update_settings(session, actor, key, **values)
            if values
            else studies.study_settings(session, actor, key)
        )
    for k, v in now.model_dump().items():
        click.echo(f"{k}: {v}")


@click.command("correct")
@click.option("--assignment", "assignment_id", type=int, required=True, help="Assignment id (from the history export).")
@click.option("--dimension", required=True)
@click.option("--value", type=float, required=True)
@click.option("--reason", required=True, help="Why the frozen rating changes (kept in the history).")
@click.option("--as", "as_user", required=True, help="The admin making the change.")
@click.option("--password-stdin", is_flag=True, help="The admin's password (the e-signature), from standard input.")
def correct_cmd(
    assignment_id: int, dimension: str, value: float, reason: str, as_user: str, password_stdin: bool
) -> None:
    """Change a rating of a locked study (admin only; flagged in exports; e-signed)."""
    from annotate.cli.users import signed_actor
    from annotate.services import studies

    with unit_of_work(current_settings()) as session:
        actor, sig = signed_actor(
            session,
            as_user,
            password_stdin,
            f"I approve correcting assignment {assignment_id} ({dimension}) after lock",
        )
        studies.correct_locked_rating(session, actor, assignment_id, dimension, value, reason, signature=sig)
    click.echo("Corrected; the change is in the rating history and flagged in exports.")


@click.group("participants")
def participants_group() -> None:
    """Participants and allocation."""


@participants_group.command("import")
@click.option("--study", "study_key", required=True)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "as_user", default=None)
def participants_import(study_key: str, file: Path, as_user: str | None) -> None:
    """Import participants from CSV (columns participant, arm; optional per_protocol, clinician, covariates)."""
    from annotate.services import studies

    with unit_of_work(current_settings()) as session:
        res = studies.import_participants(session, acting_user(session, as_user), study_key, file.read_bytes())
    click.echo(f"{res.created} added, {res.updated} updated.")
