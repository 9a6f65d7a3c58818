"""`annotate assign`: the planning engine (or manual assignment) from the command line."""

from __future__ import annotations

import click

from annotate.cli.common import acting_user, current_settings, unit_of_work


@click.command()
@click.option("--study", "study_key", required=True)
@click.option("--rater", "raters", multiple=True, required=True, help="Rater username (repeat for several).")
@click.option("--share", type=float, default=None, help="Share double-coded (default: the study's, 0.2).")
@click.option("--seed", type=int, default=None, help="Seed (recorded in the audit log; same seed, same plan).")
@click.option("--allow-same-family", is_flag=True, help="Let one rater rate several time points of a family.")
@click.option("--manual", is_flag=True, help="Simple assignment instead of the planning engine.")
@click.option(
    "--mode",
    type=click.Choice(["split", "all"]),
    default="split",
    show_default=True,
    help="With --manual: split = each segment to one rater; all = every rater every segment.",
)
@click.option("--film", "films", multiple=True, help="With --manual: only these film codes (repeatable).")
@click.option("--as", "as_user", default=None)
def assign(
    study_key: str,
    raters: tuple[str, ...],
    share: float | None,
    seed: int | None,
    allow_same_family: bool,
    manual: bool,
    mode: str,
    films: tuple[str, ...],
    as_user: str | None,
) -> None:
    """Assign films to raters with planned, stratified double-coding (or --manual)."""
    from annotate.services import assignments

    with unit_of_work(current_settings()) as session:
        actor = acting_user(session, as_user)
        if manual:
            ids = None
            if films:
                segs = assignments.assignable_segments(session, actor, study_key)
                ids = [s.segment_id for s in segs if s.blind_code in set(films)]
            res = assignments.assign_segments(
                session, actor, study_key, list(raters), segment_ids=ids, mode=mode, seed=seed
            )
            click.echo(
                f"{res.created} assignment(s) made with seed {res.seed}; {res.already_assigned} already assigned."
            )
            for name, n in res.per_rater.items():
                click.echo(f"  {name}: +{n}")
            return
        plan = assignments.plan_study(
            session,
            actor,
            study_key,
            list(raters),
            share=share,
            seed=seed,
            one_timepoint_per_family=not allow_same_family,
        )
    click.echo(
        f"{plan.films_planned} film(s): {plan.created_primary} primary and {plan.created_reliability} "
        f"double-coded items, seed {plan.seed}."
    )
    for name, n in plan.load.items():
        click.echo(f"  {name}: {n} segments in total")
    for stratum, got in plan.share_by_stratum.items():
        click.echo(f"  {stratum}: {got:.1%} double-coded")
    if plan.relaxed_families:
        click.echo(f"  note: {plan.relaxed_families} family(ies) have a rater with two time points (too few raters).")
