"""``annotate stats timing``: timing agreement of coded events, from a tidy CSV or a study.

The definitions are those of :mod:`annotate.stats.timing` (issue 19): per event group an
onset-matched event kappa at ``--tolerance``, a time-unit kappa on units of ``--unit``, the
agreement curve, optionally BORIS's grid kappa and bootstrap CIs over sessions. ``--json``
prints :func:`annotate.stats.timing.timing_json`; bad input exits with status 2 and a message
naming the row or column, never a traceback.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import click

from annotate.errors import AnnotateError

if TYPE_CHECKING:
    from annotate.stats.timing import TimingAgreement
    from annotate.stats.timing_input import EventTable

DEFAULT_CURVE_TEXT = "0.25,0.5,1,2,3,5"
DEFAULT_UNIT = 0.1


def parse_curve(text: str) -> tuple[float, ...]:
    """``"0.25, 0.5,1"`` -> ``(0.25, 0.5, 1.0)``; an empty text gives no curve.

    Examples
    --------
    >>> parse_curve("0.25, 0.5,1")
    (0.25, 0.5, 1.0)
    >>> parse_curve("")
    ()
    >>> parse_curve("1,x")
    Traceback (most recent call last):
    ...
    click.exceptions.BadParameter: --curve: 'x' (item 2) is not a number of seconds; write e.g. 0.25,0.5,1,2,3,5
    """
    values: list[float] = []
    for i, item in enumerate((t.strip() for t in text.split(",")), start=1):
        if not item and text.strip() == "":
            continue
        try:
            value = float(item)
        except ValueError:
            raise click.BadParameter(
                f"--curve: {item!r} (item {i}) is not a number of seconds; write e.g. {DEFAULT_CURVE_TEXT}"
            ) from None
        if not math.isfinite(value) or value <= 0:
            raise click.BadParameter(f"--curve: {item!r} (item {i}) must be a positive number of seconds")
        values.append(value)
    return tuple(values)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _secs(value: float | None) -> str:
    """Seconds with their unit, or "n/a" (no pairs: no unit to print)."""
    return "n/a" if value is None else f"{value:.3f} s"


def timing_text(result: TimingAgreement) -> str:
    """A short human-readable report: per group the two kappas, F1 and onset differences."""
    lines = [
        f"Timing agreement: {result.n_sessions} double-coded session(s), tolerance {result.tolerance:g} s, "
        f"unit {result.unit:g} s"
    ]
    for name, g in result.groups.items():
        ev, tu = g.event, g.time_unit
        lines.append("")
        lines.append(f"[{name}] codes: {', '.join(g.codes)}")
        ci = "" if ev.ci95 is None or ev.ci95.low is None else f" (95% CI {_fmt(ev.ci95.low)} to {_fmt(ev.ci95.high)})"
        note = f" ({ev.table.note})" if ev.kappa is None and ev.table.note else ""
        lines.append(
            f"  event kappa {_fmt(ev.kappa)}{ci}{note}; matched {ev.n_matched}, "
            f"unmatched {ev.n_unmatched[0]} / {ev.n_unmatched[1]}"
        )
        tci = "" if tu.ci95 is None or tu.ci95.low is None else f" (95% CI {_fmt(tu.ci95.low)} to {_fmt(tu.ci95.high)})"
        tnote = f" ({tu.note})" if tu.kappa is None and tu.note else ""
        lines.append(f"  time-unit kappa {_fmt(tu.kappa)}{tci}{tnote}; {tu.n_units} units")
        f1 = ", ".join(f"{code} {_fmt(v)}" for code, v in ev.f1.per_code.items())
        lines.append(f"  F1: {f1}; pooled {_fmt(ev.f1.pooled)}")
        lines.append(
            f"  |onset difference| median {_secs(ev.onset_diff.median)}, p90 {_secs(ev.onset_diff.p90)}; "
            f"|offset difference| median {_secs(ev.offset_diff.median)}, p90 {_secs(ev.offset_diff.p90)}"
        )
        if g.curve:
            lines.append(
                "  curve: " + "; ".join(f"{p.tolerance:g} s: kappa {_fmt(p.kappa)}, F1 {_fmt(p.f1)}" for p in g.curve)
            )
        if g.boris_grid is not None:
            lines.append(f"  BORIS grid kappa (interval {g.boris_grid.interval:g} s): {_fmt(g.boris_grid.kappa)}")
    return "\n".join(lines)


def _study_events(study_key: str, scheme_key: str | None) -> tuple[EventTable, float]:
    """The study's events as the stats' table and the film's frame duration (one service call)."""
    from annotate.cli.common import acting_user, current_settings, unit_of_work
    from annotate.services import events as events_service

    with unit_of_work(current_settings()) as session:
        return events_service.study_timing_frame(session, acting_user(session, None), study_key, scheme=scheme_key)


@click.command(name="timing")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--tolerance", type=float, required=True, help="Onset window w in seconds (|onset difference| <= w).")
@click.option(
    "--unit",
    type=float,
    default=None,
    help=f"Time unit of the time-unit kappa, seconds. Default {DEFAULT_UNIT:g} s (with --study: one frame of the film).",
)
@click.option(
    "--curve",
    default=DEFAULT_CURVE_TEXT,
    show_default=True,
    help="Tolerances (seconds, comma-separated) of the agreement curve; empty for none.",
)
@click.option("--boris-interval", type=float, default=None, help="Also report BORIS's classic grid kappa.")
@click.option("--bootstrap", "n_resamples", type=int, default=0, help="Bootstrap resamples over sessions (0: none).")
@click.option("--seed", type=int, default=None, help="Seed of the bootstrap.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--study", "study_key", default=None, help="Read this study's coded events instead of FILE.")
@click.option("--scheme", "scheme_key", default=None, help="With --study: the scheme whose event groups to compare.")
def timing(file, tolerance, unit, curve, boris_interval, n_resamples, seed, as_json, study_key, scheme_key) -> None:
    """Timing agreement of coded events: onset-matched event kappa and time-unit kappa per group.

    FILE is a tidy CSV, one row per event: session, rater, code, onset, offset (seconds; an
    empty offset is a point event), optional group and session_length. Or give --study KEY
    (and --scheme) to compare the events coded in the tool.
    """
    from annotate.stats.timing import timing_agreement, timing_json_text

    try:
        curve_values = parse_curve(curve)
        if study_key is not None:
            if file is not None:
                raise click.UsageError("Give either a CSV FILE or --study, not both.")
            source, frame_unit = _study_events(study_key, scheme_key)
            unit_value = unit if unit is not None else frame_unit
        else:
            if file is None:
                raise click.UsageError("Give a CSV FILE of events, or --study KEY to read the study's events.")
            if scheme_key is not None:
                raise click.UsageError("--scheme goes with --study.")
            if not file.is_file():
                raise click.UsageError(f"{file}: events file not found")
            source, unit_value = file, (unit if unit is not None else DEFAULT_UNIT)
        result = timing_agreement(
            source,
            tolerance=tolerance,
            unit=unit_value,
            curve=curve_values,
            boris_interval=boris_interval,
            bootstrap=n_resamples,
            seed=seed,
        )
    except AnnotateError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(timing_json_text(result) if as_json else timing_text(result))


@click.command(name="event-arms")
@click.option("--study", "study_key", required=True, help="The study whose done event coding to summarise.")
@click.option("--scheme", "scheme_key", default=None, help="Event-coding scheme (default: the study's scheme).")
@click.option(
    "--masked/--unmasked",
    default=None,
    help="Arms as Arm A / Arm B (the default before unblinding), or by name (only after unblinding).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def event_arms(study_key: str, scheme_key: str | None, masked: bool | None, as_json: bool) -> None:
    """Per arm and time point: rate per minute of each code, share of time and mean bout length of states."""
    import json

    from annotate.cli.common import acting_user, current_settings, unit_of_work
    from annotate.services import events as events_service

    try:
        with unit_of_work(current_settings()) as session:
            out = events_service.arm_event_summaries(
                session, acting_user(session, None), study_key, scheme=scheme_key, masked=masked
            )
    except AnnotateError as exc:
        raise click.UsageError(str(exc)) from exc
    rows = [dict(zip(events_service.EVENT_ARMS_COLUMNS, record, strict=True)) for record in out.records()]
    if as_json:
        click.echo(
            json.dumps(
                {"study": out.study, "scheme": out.scheme_key, "masked": out.masked, "rows": rows}, allow_nan=False
            )
        )
        return
    click.echo(f"Event summaries of study {out.study} ({'arms masked' if out.masked else 'arms by name'})")
    for r in out.rows:
        c = r.summary
        extra = (
            ""
            if c.kind == "point"
            else f", share of time {_fmt(c.share_of_time)}, mean bout {_fmt(c.mean_bout_s, 2)} s"
        )
        click.echo(f"  {c.arm} · {r.timepoint} · {c.code}: {_fmt(c.rate_per_min, 2)}/min{extra} (n = {c.n_sessions})")
