"""``annotate stats ...`` commands (attach with ``main.add_command(stats)``)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from annotate.config import get_settings
from annotate.services.actor import Actor
from annotate.services.errors import ServiceError
from annotate.services.reliability import reliability_report
from annotate.services.reliability_table import (
    ReliabilityInputError,
    parse_categories,
    reliability_from_csv,
)
from annotate.services.session import unit_of_work

LEVEL_CHOICES = ("nominal", "ordinal", "interval", "ratio")


@click.group(name="stats")
def stats() -> None:
    """Statistics over ratings (inter-rater reliability)."""


def _fmt(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _text_report(out: dict) -> str:
    lines = [
        f"units {out['n_units']}, raters {out['n_raters']}, ratings {out['n_ratings']}",
        "",
        f"{'ICC':<10}{'':<10}{'value':>8}  {'95% CI':<17}{'F':>8}{'df1':>6}{'df2':>6}{'p':>9}{'n':>6}",
    ]
    for form, r in out["icc"].items():
        if r is None:
            lines.append(f"{form:<10}{'':<10}{'n/a':>8}")
            continue
        ci = f"[{_fmt(r['ci95'][0])}, {_fmt(r['ci95'][1])}]"
        p = "n/a" if r["p"] is None else f"{r['p']:.2g}"
        lines.append(
            f"{form:<10}{r['mcgraw_wong']:<10}{_fmt(r['value']):>8}  {ci:<17}{_fmt(r['F']):>8}"
            f"{r['df1']:>6}{r['df2']:>6}{p:>9}{r['n_units']:>6}"
        )
    lines.append("")
    rows = [
        *(
            (f"Cohen's kappa ({w})", v)
            for w, v in out["cohen_kappa"].items()
        ),
        ("Fleiss' kappa", out["fleiss_kappa"]),
        *((f"Krippendorff's alpha ({lv})", v) for lv, v in out["krippendorff_alpha"].items()),
        ("Gwet's AC1", out["gwet_ac1"]),
        *((f"Gwet's AC2 ({w})", v) for w, v in out["gwet_ac2"].items()),
        ("Exact agreement", out["percent_agreement"]["exact"]),
        ("Agreement within 1", out["percent_agreement"]["within_1"]),
    ]
    lines += [f"{name:<34}{_fmt(value):>8}" for name, value in rows]
    if out.get("bootstrap"):
        b = out["bootstrap"]
        lines += ["", f"bootstrap ({b['n_resamples']} resamples, seed {b['seed']}), 95% percentile CI"]
        for key in ("icc", "krippendorff_alpha"):
            for name, (low, high) in b[key].items():
                lines.append(f"  {key} {name:<22}[{_fmt(low)}, {_fmt(high)}]")
    return "\n".join(lines)


CLI_OWNER = Actor(user_id=None, username="cli", display_name="command line", role="admin")


def _study_summary(file, study_key, scheme_key, dimension, categories, unit_col, rater_col, score_col,
                   level, n_resamples, seed) -> dict:
    if file is not None:
        raise click.UsageError("Give either a CSV FILE or --study, not both.")
    if categories is not None:
        raise click.UsageError("--categories does not go with --study: the scale comes from the study's scheme.")
    if (unit_col, rater_col, score_col) != ("unit", "rater", "score"):
        raise click.UsageError("--unit, --rater and --score name CSV columns; they do not go with --study.")
    with unit_of_work(get_settings()) as session:
        report = reliability_report(
            session, CLI_OWNER, study_key, dimension=dimension, scheme=scheme_key,
            level=level or "interval", bootstrap=n_resamples, seed=seed,
        )
    return report.summary


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
@click.option("--study", "study_key", default=None, help="Read the ratings of this study from the database instead of FILE.")
@click.option("--scheme", "scheme_key", default=None, help="With --study: scheme key (default: the study's scheme).")
@click.option("--dimension", default=None, help="With --study: the rated dimension (needed when the scheme has several).")
def reliability(file, unit_col, rater_col, score_col, categories, level, n_resamples, seed, as_json,
                study_key, scheme_key, dimension):
    """Inter-rater reliability of a long CSV (columns unit, rater, score), or of a study's
    done, double-coded ratings of one dimension (--study, --scheme, --dimension; the scale
    comes from the scheme)."""
    try:
        if study_key is not None:
            out = _study_summary(file, study_key, scheme_key, dimension, categories, unit_col, rater_col,
                                 score_col, level, n_resamples, seed)
        else:
            if file is None:
                raise click.UsageError("Give a CSV FILE, or --study KEY to read the ratings from the database.")
            if scheme_key is not None or dimension is not None:
                raise click.UsageError("--scheme and --dimension go with --study.")
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
            )
    except (ReliabilityInputError, ServiceError) as exc:
        raise click.UsageError(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(out, allow_nan=False))
    else:
        click.echo(_text_report(out))


def _arms_text_report(out: dict) -> str:
    lines = [f"{'arm':<14}{'time point':<14}{'n':>4}{'mean':>9}{'SD':>9}{'median':>9}{'IQR':>18}{'range':>16}"]
    for d in out["descriptives"]:
        iqr = f"[{_fmt(d['q1'])}, {_fmt(d['q3'])}]"
        span = f"[{_fmt(d['min'])}, {_fmt(d['max'])}]"
        lines.append(
            f"{d['arm']:<14}{d['timepoint']:<14}{d['n']:>4}{_fmt(d['mean']):>9}{_fmt(d['sd']):>9}"
            f"{_fmt(d['median']):>9}{iqr:>18}{span:>16}"
        )

    def estimate(block: dict | None) -> str:
        if block is None:
            return "n/a"
        low, high = block["ci95"]
        p = f", p {block['p']:.2g}" if block.get("p") is not None else ""
        return f"{_fmt(block['value'])} [{_fmt(low)}, {_fmt(high)}]{p}"

    for c in out["comparisons"]:
        lines += [
            "",
            f"{c['timepoint']}: {c['treatment']} (n {c['n_treatment']}) - {c['control']} (n {c['n_control']})",
            f"  mean difference (Welch 95% CI)  {estimate(c['mean_difference'])}",
            f"  ANCOVA adjusted difference      {estimate(c['ancova'])}"
            + (f", n {c['ancova']['n']}" if c["ancova"] else " (no baseline)"),
            f"  Hedges' g                       {estimate(c['hedges_g'])}",
        ]
        t = c["threshold"]
        if t is not None:
            lines += [
                f"  score >= {t['value']:g}: {t['treatment_events']}/{t['treatment_n']} vs "
                f"{t['control_events']}/{t['control_n']}",
                f"  risk ratio (Katz)               {estimate(t['risk_ratio'])}",
                f"  risk difference (Newcombe)      {estimate(t['risk_difference'])}",
            ]
    if out["within_arm"]:
        lines += ["", "within arm (paired)"]
        for w in out["within_arm"]:
            lines.append(
                f"  {w['arm']}: {w['from']} -> {w['to']}, {w['n_pairs']} pairs, change "
                f"{_fmt(w['mean_change'])} [{_fmt(w['ci95'][0])}, {_fmt(w['ci95'][1])}], "
                f"p {_fmt(w['p'])}, d_z {_fmt(w['cohens_dz'])}"
            )
    return "\n".join(lines)


def _arms_from_study(file, study_key, scheme_key, dimension, analysis_set, rule, masked, columns, baseline,
                     treatment, control, threshold, covariates):  # noqa: ANN201 (an OutcomeTable)
    from annotate.services.errors import PermissionDenied
    from annotate.services.summaries import outcome_table, summary_options

    if file is not None:
        raise click.UsageError("Give either a CSV FILE or --study, not both.")
    if columns != ("participant", "arm", "timepoint", "score"):
        raise click.UsageError(
            "--participant, --arm, --timepoint and --score name CSV columns; they do not go with --study."
        )
    with unit_of_work(get_settings()) as session:
        if dimension is None:
            options = summary_options(session, CLI_OWNER, study_key)
            if len(options.outcomes) != 1:
                names = ", ".join(o.name for o in options.outcomes)
                raise click.UsageError(f"Choose the outcome with --dimension: one of {names}.")
            dimension = options.outcomes[0].name
        try:
            table = outcome_table(
                session, CLI_OWNER, study_key, dimension=dimension, rule=rule, analysis_set=analysis_set,
                threshold=threshold, covariates=covariates, baseline=baseline, treatment=treatment,
                control=control, masked=True if masked else False, scheme=scheme_key,
            )
        except PermissionDenied as exc:
            raise click.UsageError(f"{exc} Add --masked to compare the arms as Arm A / Arm B.") from exc
    return table


@stats.command(name="arms")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--participant", "participant_col", default="participant", show_default=True,
              help="Column naming the participant (family).")
@click.option("--arm", "arm_col", default="arm", show_default=True, help="Column naming the arm.")
@click.option("--timepoint", "timepoint_col", default="timepoint", show_default=True,
              help="Column naming the time point.")
@click.option("--score", "score_col", default="score", show_default=True, help="Column with the score.")
@click.option("--baseline", default=None,
              help="Baseline time point. Default: a time point called 'baseline', else none "
                   "(with --study: the study's first time point).")
@click.option("--treatment", default=None, help="Treatment arm. Default: the first arm in the file (or study).")
@click.option("--control", default=None, help="Control arm. Default: the second arm in the file (or study).")
@click.option("--threshold", type=float, default=None,
              help="Scores >= X count as events (risk ratio and risk difference).")
@click.option("--covariate", "covariates", multiple=True,
              help="ANCOVA covariate column; repeat the option (or comma-separate) for several.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--study", "study_key", default=None,
              help="Score the study's done ratings from the database instead of FILE (after unblinding).")
@click.option("--scheme", "scheme_key", default=None, help="With --study: scheme key (default: the study's scheme).")
@click.option("--dimension", default=None,
              help="With --study: dimension or composite of the scheme (needed when there are several).")
@click.option("--set", "analysis_set", type=click.Choice(["itt", "per-protocol"]), default=None,
              help="With --study: analysis set (default itt: all randomised with data, as observed).")
@click.option("--rule", type=click.Choice(["consensus_else_mean", "primary_only"]), default=None,
              help="With --study: score of a double-coded segment (default consensus_else_mean).")
@click.option("--masked", is_flag=True,
              help="With --study: show arms as Arm A / Arm B (allowed before unblinding).")
def arms(file, participant_col, arm_col, timepoint_col, score_col, baseline, treatment, control,
         threshold, covariates, as_json, study_key, scheme_key, dimension, analysis_set, rule, masked):
    """Per-arm outcome table of a long CSV (one row per participant and time point), or of a
    study's ratings (--study, --dimension; one score per family and time point, see --rule and --set)."""
    # Imported here so the reliability command does not pay for statsmodels at start-up.
    from annotate.services.arms_table import arms_summary_from_csv
    from annotate.stats.effects import EffectsInputError

    names = [name.strip() for value in covariates for name in value.split(",") if name.strip()]
    rule_text = None
    try:
        if study_key is not None:
            table = _arms_from_study(
                file, study_key, scheme_key, dimension, analysis_set or "itt", rule or "consensus_else_mean",
                masked, (participant_col, arm_col, timepoint_col, score_col), baseline, treatment, control,
                threshold, names,
            )
            out, rule_text = table.result, table.rule_text
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
    except (EffectsInputError, ServiceError) as exc:  # includes ArmsTableError
        raise click.UsageError(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(out, allow_nan=False))
    else:
        click.echo(_arms_text_report(out) + (f"\n\n{rule_text}" if rule_text else ""))
