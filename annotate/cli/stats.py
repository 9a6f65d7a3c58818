"""``annotate stats ...``: reliability and per-arm outcome tables of a CSV file or of a study."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from annotate.cli.common import acting_user, current_settings, unit_of_work
from annotate.errors import AnnotateError

if TYPE_CHECKING:
    from annotate.reports.reliability import ReliabilityTable

LEVEL_CHOICES = ("nominal", "ordinal", "interval", "ratio")


@click.group(name="stats")
def stats() -> None:
    """Statistics over ratings (inter-rater reliability)."""


def _fmt(value: object) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _int_list(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, ...] | None:
    """``"1,2,3"`` -> (1, 2, 3); each a whole number of at least 1."""
    if value is None:
        return None
    try:
        numbers = tuple(int(item) for item in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r} must be whole numbers separated by commas, e.g. 1,2,3") from None
    if not numbers or min(numbers) < 1:
        raise click.BadParameter(f"{value!r}: every number must be at least 1")
    return numbers


def _study_summary(
    file,
    study_key,
    scheme_key,
    dimension,
    categories,
    unit_col,
    rater_col,
    score_col,
    level,
    n_resamples,
    seed,
    design_options,
    as_user=None,
) -> ReliabilityTable:
    if file is not None:
        raise click.UsageError("Give either a CSV FILE or --study, not both.")
    if categories is not None:
        raise click.UsageError("--categories does not go with --study: the scale comes from the study's scheme.")
    if (unit_col, rater_col, score_col) != ("unit", "rater", "score"):
        raise click.UsageError("--unit, --rater and --score name CSV columns; they do not go with --study.")
    from annotate.services import reliability as reliability_service

    with unit_of_work(current_settings()) as session:
        report = reliability_service.reliability_report(
            session,
            acting_user(session, as_user),
            study_key,
            dimension=dimension,
            scheme=scheme_key,
            level=level or "interval",
            bootstrap=n_resamples,
            seed=seed,
            **design_options,
        )
    return report.table


@stats.command(name="reliability")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--unit", "unit_col", default="unit", show_default=True, help="Column naming the unit.")
@click.option("--rater", "rater_col", default="rater", show_default=True, help="Column naming the rater.")
@click.option("--score", "score_col", default="score", show_default=True, help="Column with the score.")
@click.option(
    "--categories",
    default=None,
    help="Full scale, comma-separated (e.g. 1,2,3,4,5,6,7,8,9). Default: the distinct scores.",
)
@click.option(
    "--level",
    type=click.Choice(LEVEL_CHOICES),
    default=None,
    help="Level of measurement; statistics assuming a higher level are null.",
)
@click.option("--bootstrap", "n_resamples", type=int, default=0, help="Bootstrap resamples (>= 1000).")
@click.option("--seed", type=int, default=None, help="Seed for the bootstrap.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--study", "study_key", default=None, help="Read the ratings of this study from the database instead of FILE."
)
@click.option("--scheme", "scheme_key", default=None, help="With --study: scheme key (default: the study's scheme).")
@click.option(
    "--dimension", default=None, help="With --study: the rated dimension (needed when the scheme has several)."
)
@click.option(
    "--cluster",
    "cluster_col",
    default=None,
    help="Column naming the cluster of each unit (e.g. the film of a segment): nested G-study. "
    "With --study the film is the cluster; --cluster none turns that off.",
)
@click.option(
    "--d-raters", callback=_int_list, default=None, help="D-study numbers of raters, e.g. 1,2,3 (default 1,2,3,4)."
)
@click.option(
    "--d-units",
    callback=_int_list,
    default=None,
    help="D-study numbers of units per cluster, e.g. 1,2,5,10 (default; ignored without a cluster).",
)
@click.option(
    "--draws",
    "n_draws",
    type=click.IntRange(min=100),
    default=1000,
    show_default=True,
    help="Monte Carlo draws for the CIs of the incomplete-design ICCs (seeded by --seed, else 0).",
)
@click.option("--as", "as_user", default=None, help="With --study: act as this user (their rights apply).")
def reliability(
    file,
    unit_col,
    rater_col,
    score_col,
    categories,
    level,
    n_resamples,
    seed,
    as_json,
    study_key,
    scheme_key,
    dimension,
    cluster_col,
    d_raters,
    d_units,
    n_draws,
    as_user,
):
    """Inter-rater reliability of a long CSV (columns unit, rater, score), or of a study's
    done, double-coded ratings of one dimension (--study, --scheme, --dimension; the scale
    comes from the scheme).

    Besides the complete-case statistics it reports the design actually run: the one-way ICC
    for units rated by different raters, ten Hove et al.'s ICCs of the incomplete design (REML,
    Monte Carlo CIs), the G- and D-study (nested with --cluster), Cohen's kappa and agreement
    averaged over rater pairs, rater severity, and which coefficient to report."""
    design_options = {"d_raters": d_raters or (1, 2, 3, 4), "d_units": d_units, "n_draws": n_draws}
    try:
        if study_key is not None:
            if cluster_col not in (None, "film", "none"):
                raise click.UsageError(
                    "With --study the cluster is the film (--cluster film) or none (--cluster none)."
                )
            design_options["cluster"] = None if cluster_col == "none" else "film"
            out = _study_summary(
                file,
                study_key,
                scheme_key,
                dimension,
                categories,
                unit_col,
                rater_col,
                score_col,
                level,
                n_resamples,
                seed,
                design_options,
                as_user,
            )
        else:
            if file is None:
                raise click.UsageError("Give a CSV FILE, or --study KEY to read the ratings from the database.")
            if scheme_key is not None or dimension is not None:
                raise click.UsageError("--scheme and --dimension go with --study.")
            from annotate.reports.reliability import parse_categories, reliability_from_csv

            declared = parse_categories(categories) if categories is not None else None
            out = reliability_from_csv(
                file,
                unit=unit_col,
                rater=rater_col,
                score=score_col,
                categories=declared,
                level=level,
                bootstrap=n_resamples,
                seed=seed,
                cluster=cluster_col,
                **design_options,
            )
    except AnnotateError as exc:
        raise click.UsageError(str(exc)) from exc
    from annotate.reports.reliability import reliability_json, reliability_text

    click.echo(json.dumps(reliability_json(out), allow_nan=False) if as_json else reliability_text(out))


@stats.command(name="plan-reliability")
@click.option("--icc", "rho", type=float, default=None, help="Expected ICC (e.g. 0.8).")
@click.option("--raters", "k", type=int, default=2, show_default=True, help="Ratings per double-coded unit.")
@click.option(
    "--ci-width", "width", type=float, default=None, help="Desired full width of the ICC's 95% CI (e.g. 0.2)."
)
@click.option("--confidence", type=float, default=0.95, show_default=True, help="Confidence level of the interval.")
@click.option(
    "--lower-bound",
    "rho0",
    type=float,
    default=None,
    help="Also: units for the CI's lower limit to exceed this ICC with probability --assurance.",
)
@click.option("--assurance", type=float, default=0.8, show_default=True, help="Probability for --lower-bound.")
@click.option("--kappa", "kappa1", type=float, default=None, help="Expected Cohen's kappa (two raters, binary rating).")
@click.option(
    "--kappa-null", "kappa0", type=float, default=0.4, show_default=True, help="Kappa to rule out (with --kappa)."
)
@click.option("--prevalence", type=float, default=None, help="Prevalence of the positive rating (with --kappa).")
@click.option("--power", type=float, default=0.8, show_default=True, help="Power of the kappa test (with --kappa).")
@click.option(
    "--segments",
    "n_segments",
    type=click.IntRange(min=1),
    default=None,
    help="Segments the trial will have: also print the double-coding share the assignment engine should use.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def plan_reliability(
    rho, k, width, confidence, rho0, assurance, kappa1, kappa0, prevalence, power, n_segments, as_json
):
    """How many units (segments) to double-code: for an ICC CI of a given width (Bonett 2002), for its
    lower limit to exceed a threshold (exact F, Zou 2012's assurance), or for Cohen's kappa (Donner &
    Eliasziw 1992). Prints {n_units, method, ...}."""
    from annotate.stats.planning import (
        bonett_sample_size,
        icc_assurance_sample_size,
        kappa_sample_size,
        plan_to_json,
    )

    if rho is None and kappa1 is None:
        raise click.UsageError("Give --icc RHO --ci-width W (and --raters K), or --kappa KAPPA --prevalence P.")
    if rho is not None and width is None and rho0 is None:
        raise click.UsageError("With --icc give --ci-width W (the desired CI width) or --lower-bound RHO0.")
    if kappa1 is not None and prevalence is None:
        raise click.UsageError("With --kappa give --prevalence P (share of positive ratings, between 0 and 1).")
    try:
        plans = {}
        if rho is not None and width is not None:
            plans["precision"] = bonett_sample_size(rho, k, width, confidence)
        if rho is not None and rho0 is not None:
            plans["lower_bound"] = icc_assurance_sample_size(rho, k, rho0, assurance, confidence)
        if kappa1 is not None:
            plans["kappa"] = kappa_sample_size(kappa0, kappa1, prevalence, 1 - confidence, power)
    except AnnotateError as exc:
        raise click.UsageError(str(exc)) from exc
    blocks = {name: plan_to_json(plan) for name, plan in plans.items()}
    main = next(iter(blocks.values()))
    out = dict(main)
    out["n_units"] = max(block["n_units"] for block in blocks.values())
    out.update({name: blocks.get(name) for name in ("precision", "lower_bound", "kappa")})
    if n_segments is not None:
        from annotate.services.policy import double_code_share_for

        out["segments"] = n_segments
        out["double_code_share"] = double_code_share_for(out["n_units"], n_segments)
    if as_json:
        click.echo(json.dumps(out, allow_nan=False))
        return
    for name, block in blocks.items():
        click.echo(f"{name}: {block['n_units']} units ({block['method']})")
    click.echo(f"double-code {out['n_units']} units")
    if n_segments is not None:
        share = out["double_code_share"]
        click.echo(
            f"of {n_segments} segments: double-coding share {share:.2f}" + (" (capped at 1)" if share >= 1 else "")
        )


def _arms_from_study(
    file,
    study_key,
    scheme_key,
    dimension,
    analysis_set,
    rule,
    masked,
    columns,
    baseline,
    treatment,
    control,
    threshold,
    covariates,
    as_user=None,
):
    from annotate.services.errors import PermissionDenied
    from annotate.services.outcomes.summaries import outcome_table, summary_options

    if file is not None:
        raise click.UsageError("Give either a CSV FILE or --study, not both.")
    if columns != ("participant", "arm", "timepoint", "score"):
        raise click.UsageError(
            "--participant, --arm, --timepoint and --score name CSV columns; they do not go with --study."
        )
    with unit_of_work(current_settings()) as session:
        owner = acting_user(session, as_user)
        if dimension is None:
            options = summary_options(session, owner, study_key)
            if len(options.outcomes) != 1:
                names = ", ".join(o.name for o in options.outcomes)
                raise click.UsageError(f"Choose the outcome with --dimension: one of {names}.")
            dimension = options.outcomes[0].name
        try:
            table = outcome_table(
                session,
                owner,
                study_key,
                dimension=dimension,
                rule=rule,
                analysis_set=analysis_set,
                threshold=threshold,
                covariates=covariates,
                baseline=baseline,
                treatment=treatment,
                control=control,
                masked=bool(masked),
                scheme=scheme_key,
            )
        except PermissionDenied as exc:
            raise click.UsageError(f"{exc} Add --masked to compare the arms as Arm A / Arm B.") from exc
    return table


@stats.command(name="arms")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--participant",
    "participant_col",
    default="participant",
    show_default=True,
    help="Column naming the participant (family).",
)
@click.option("--arm", "arm_col", default="arm", show_default=True, help="Column naming the arm.")
@click.option(
    "--timepoint", "timepoint_col", default="timepoint", show_default=True, help="Column naming the time point."
)
@click.option("--score", "score_col", default="score", show_default=True, help="Column with the score.")
@click.option(
    "--baseline",
    default=None,
    help="Baseline time point. Default: a time point called 'baseline', else none "
    "(with --study: the study's first time point).",
)
@click.option("--treatment", default=None, help="Treatment arm. Default: the first arm in the file (or study).")
@click.option("--control", default=None, help="Control arm. Default: the second arm in the file (or study).")
@click.option(
    "--threshold", type=float, default=None, help="Scores >= X count as events (risk ratio and risk difference)."
)
@click.option(
    "--covariate",
    "covariates",
    multiple=True,
    help="ANCOVA covariate column; repeat the option (or comma-separate) for several.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--study",
    "study_key",
    default=None,
    help="Score the study's done ratings from the database instead of FILE (after unblinding).",
)
@click.option("--scheme", "scheme_key", default=None, help="With --study: scheme key (default: the study's scheme).")
@click.option(
    "--dimension",
    default=None,
    help="With --study: dimension or composite of the scheme (needed when there are several).",
)
@click.option(
    "--set",
    "analysis_set",
    type=click.Choice(["itt", "per-protocol"]),
    default=None,
    help="With --study: analysis set (default itt: all randomised with data, as observed).",
)
@click.option(
    "--rule",
    type=click.Choice(["consensus_else_mean", "primary_only"]),
    default=None,
    help="With --study: score of a double-coded segment (default consensus_else_mean).",
)
@click.option("--masked", is_flag=True, help="With --study: show arms as Arm A / Arm B (allowed before unblinding).")
@click.option("--as", "as_user", default=None, help="With --study: act as this user (their rights apply).")
def arms(
    file,
    participant_col,
    arm_col,
    timepoint_col,
    score_col,
    baseline,
    treatment,
    control,
    threshold,
    covariates,
    as_json,
    study_key,
    scheme_key,
    dimension,
    analysis_set,
    rule,
    masked,
    as_user,
):
    """Per-arm outcome table of a long CSV (one row per participant and time point), or of a
    study's ratings (--study, --dimension; one score per family and time point, see --rule and --set)."""
    # Imported here so the reliability command does not pay for statsmodels at start-up.
    from annotate.reports.arms import arms_summary_from_csv

    names = [name.strip() for value in covariates for name in value.split(",") if name.strip()]
    rule_text = None
    try:
        if study_key is not None:
            table = _arms_from_study(
                file,
                study_key,
                scheme_key,
                dimension,
                analysis_set or "itt",
                rule or "consensus_else_mean",
                masked,
                (participant_col, arm_col, timepoint_col, score_col),
                baseline,
                treatment,
                control,
                threshold,
                names,
                as_user,
            )
            out, rule_text = table.report, table.rule_text
        else:
            if file is None:
                raise click.UsageError(
                    "Give the CSV FILE (one row per participant and time point), or --study KEY to score a study's ratings."
                )
            if any(v is not None for v in (scheme_key, dimension, analysis_set, rule)) or masked:
                raise click.UsageError("--scheme, --dimension, --set, --rule and --masked go with --study.")
            out = arms_summary_from_csv(
                file,
                participant=participant_col,
                arm=arm_col,
                timepoint=timepoint_col,
                score=score_col,
                baseline=baseline,
                treatment=treatment,
                control=control,
                threshold=threshold,
                covariates=names,
            )
    except AnnotateError as exc:  # input errors of the table and service errors
        raise click.UsageError(str(exc)) from exc
    from annotate.reports.arms import arms_json, arms_text

    if as_json:
        click.echo(json.dumps(arms_json(out), allow_nan=False))
    else:
        click.echo(arms_text(out) + (f"\n\n{rule_text}" if rule_text else ""))


from annotate.cli.timing import event_arms as _event_arms  # noqa: E402  (issue 19: coded events, own module)
from annotate.cli.timing import timing as _timing  # noqa: E402

stats.add_command(_timing)
stats.add_command(_event_arms)
