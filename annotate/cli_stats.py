"""``annotate stats ...`` commands (attach with ``main.add_command(stats)``)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from annotate.services.reliability_table import (
    ReliabilityInputError,
    parse_categories,
    reliability_from_csv,
)

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


@stats.command(name="reliability")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
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
def reliability(file, unit_col, rater_col, score_col, categories, level, n_resamples, seed, as_json):
    """Inter-rater reliability of a long CSV (columns unit, rater, score)."""
    try:
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
    except ReliabilityInputError as exc:
        raise click.UsageError(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(out, allow_nan=False))
    else:
        click.echo(_text_report(out))
