"""The tables behind every export: streamed rating rows, rating history, per-segment and wide tables,
reliability matrices and the codebook. :mod:`annotate.services.exchange.exports` writes them to files.

Modes (as in :func:`annotate.services.exchange.exports.ratings_csv`): ``blinded`` (film codes only: no participant, arm
or time point; any time), ``masked`` (participant and time point, arms as Arm A / Arm B) and
``full`` (real arm names; only after unblinding). ``auto`` is ``full`` after unblinding, else ``masked``.

Rows are read with ``yield_per`` (a server-side cursor on PostgreSQL; SQLite's cursor is lazy),
selecting plain columns rather than ORM objects, so a million ratings pass through in bounded memory.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased

from annotate.db.models import (
    Assignment,
    ConsensusTask,
    Participant,
    Rating,
    RatingHistory,
    Recording,
    Scheme,
    Segment,
    Study,
    User,
)
from annotate.reports.csvio import format_number
from annotate.schemes import Scheme as SchemeModel
from annotate.services import outcomes
from annotate.services.errors import ServiceError
from annotate.services.policy import SCORING_PURPOSES, ExportMode, resolve_export_mode
from annotate.services.studies.gate import arm_labels, pseudonymizer, require_unblinded
from annotate.services.studies.setup import scheme_model

ALLOCATION_COLUMNS = ("participant", "arm", "timepoint")
RATINGS_COLUMNS = [
    "study",
    "participant",
    "arm",
    "timepoint",
    "recording",
    "segment",
    "segment_start_s",
    "segment_end_s",
    "rater",
    "purpose",
    "scheme",
    "scheme_version",
    "dimension",
    "value",
    "note",
    "status",
    "changed_after_lock",
    "created_at",
    "updated_at",
]
HISTORY_COLUMNS = [
    "study",
    "participant",
    "arm",
    "timepoint",
    "recording",
    "segment",
    "rater",
    "purpose",
    "dimension",
    "old_value",
    "new_value",
    "changed_by",
    "changed_at",
    "reason",
]
BATCH = 5000


def resolve_mode(study: Study, mode: str, what: str = "This export") -> str:
    """``auto`` -> ``full``/``masked``; refuses ``full`` before unblinding.

    Examples
    --------
    >>> resolve_mode(Study(status="rating"), "auto")
    'masked'
    >>> resolve_mode(Study(status="rating"), "sideways")
    Traceback (most recent call last):
    ...
    annotate.services.errors.ServiceError: Export mode must be one of auto, blinded, masked, full; got 'sideways'.
    """
    resolved = resolve_export_mode(study.status, mode)
    if resolved is ExportMode.FULL:
        require_unblinded(study, what)
    return resolved.value


def columns_for(columns: list[str], mode: str) -> list[str]:
    return [c for c in columns if mode != "blinded" or c not in ALLOCATION_COLUMNS]


def allocation_map(session: Session, study: Study, mode: str) -> dict[int, dict[str, str]]:
    """recording id -> participant, arm (as the mode shows it) and time point; empty when blinded.

    Masked: arms as Arm A / Arm B and participants by their study-specific pseudonyms
    (:func:`~annotate.services.studies.gate.pseudonymizer`), so a masked table cannot be joined to
    the allocation; the column keeps the name ``participant``.
    """
    if mode == "blinded":
        return {}
    labels = arm_labels(study)
    shown_id = pseudonymizer(study) if mode == "masked" else (lambda pid: pid)
    rows = session.execute(
        select(Recording.id, Participant.external_id, Participant.arm_id, Recording.timepoint_id)
        .outerjoin(Participant, Recording.participant_id == Participant.id)
        .where(Recording.study_id == study.id)
    ).all()
    arm_name = {a.id: a.name for a in study.arms}
    tp_name = {t.id: t.name for t in study.timepoints}
    return {
        rid: {
            "participant": shown_id(pid or ""),
            "arm": labels.get(arm_name.get(arm_id, ""), "") if arm_id else "",
            "timepoint": tp_name.get(tp_id, "") if tp_id else "",
        }
        for rid, pid, arm_id, tp_id in rows
    }


def _film_order(mode: str):
    """Rows by film in ingest order only in full exports; blinded and masked ones go by the random
    film code, so a row's position says nothing about when the film arrived (its wave) or whose it is."""
    return Recording.id if mode == "full" else Recording.blind_code


def ratings_select(study: Study, mode: str) -> Select[*tuple[Any, ...]]:
    """The ratings of a study in export order: (recording id, film code, segment index, start, end,
    rater, purpose, scheme, scheme version, dimension, value, note, status, changed after lock,
    created, updated). One statement for :func:`iter_ratings` and the columnar CSV writer."""
    return (
        select(
            Recording.id,
            Recording.blind_code,
            Segment.index,
            Segment.start_s,
            Segment.end_s,
            User.username,
            Assignment.purpose,
            Scheme.key,
            Scheme.version,
            Rating.dimension,
            Rating.value,
            Assignment.note,
            Assignment.status,
            Rating.changed_after_lock,
            Rating.created_at,
            Rating.updated_at,
        )
        .join(Assignment, Rating.assignment_id == Assignment.id)
        .join(Segment, Rating.segment_id == Segment.id)
        .join(Recording, Segment.recording_id == Recording.id)
        .join(User, Rating.rater_id == User.id)
        .join(Scheme, Rating.scheme_id == Scheme.id)
        .where(Assignment.study_id == study.id)
        .order_by(_film_order(mode), Segment.index, Rating.dimension, Assignment.purpose, User.username)
    )


def iter_ratings(session: Session, study: Study, mode: str, *, with_consensus: bool = True) -> Iterator[dict[str, Any]]:
    """Every rating of the study, then (unless ``with_consensus`` is False) every resolved
    consensus score, as typed dicts.

    Same order as :func:`annotate.services.exchange.exports.ratings_csv`; ``value`` is a float or None,
    ``segment`` is 1-based, times are datetimes.
    """
    alloc = allocation_map(session, study, mode)
    empty = {"participant": "", "arm": "", "timepoint": ""}
    stmt = ratings_select(study, mode).execution_options(yield_per=BATCH)
    for (
        rid,
        code,
        idx,
        start,
        end,
        rater,
        purpose,
        skey,
        sver,
        dim,
        value,
        note,
        status,
        cal,
        created,
        updated,
    ) in session.connection().execute(stmt):  # Core rows: no ORM loading per row
        yield {
            "study": study.key,
            **alloc.get(rid, empty),
            "recording": code,
            "segment": idx + 1,
            "segment_start_s": start,
            "segment_end_s": end,
            "rater": rater,
            "purpose": purpose,
            "scheme": skey,
            "scheme_version": sver,
            "dimension": dim,
            "value": value,
            "note": note,
            "status": status,
            "changed_after_lock": bool(cal),
            "created_at": created,
            "updated_at": updated,
        }
    if with_consensus:
        yield from iter_consensus(session, study, mode, alloc)


def iter_consensus(
    session: Session, study: Study, mode: str, alloc: dict[int, dict[str, str]] | None = None
) -> Iterator[dict[str, Any]]:
    """The resolved consensus scores, as rows of the ratings table (purpose ``consensus``)."""
    if alloc is None:
        alloc = allocation_map(session, study, mode)
    empty = {"participant": "", "arm": "", "timepoint": ""}
    consensus = (
        select(
            Recording.id,
            Recording.blind_code,
            Segment.index,
            Segment.start_s,
            Segment.end_s,
            User.username,
            Scheme.key,
            Scheme.version,
            ConsensusTask.dimension,
            ConsensusTask.value,
            ConsensusTask.reason,
            ConsensusTask.created_at,
            ConsensusTask.resolved_at,
        )
        .join(Segment, ConsensusTask.segment_id == Segment.id)
        .join(Recording, Segment.recording_id == Recording.id)
        .join(User, ConsensusTask.resolved_by == User.id)
        .join(Scheme, ConsensusTask.scheme_id == Scheme.id)
        .where(ConsensusTask.study_id == study.id, ConsensusTask.status == "resolved")
        .order_by(_film_order(mode), Segment.index, ConsensusTask.dimension)
        .execution_options(yield_per=BATCH)
    )
    for rid, code, idx, start, end, who, skey, sver, dim, value, reason, created, resolved in session.execute(
        consensus
    ):
        yield {
            "study": study.key,
            **alloc.get(rid, empty),
            "recording": code,
            "segment": idx + 1,
            "segment_start_s": start,
            "segment_end_s": end,
            "rater": who,
            "purpose": "consensus",
            "scheme": skey,
            "scheme_version": sver,
            "dimension": dim,
            "value": value,
            "note": reason,
            "status": "resolved",
            "changed_after_lock": False,
            "created_at": created,
            "updated_at": resolved,
        }


def iter_history(session: Session, study: Study, mode: str) -> Iterator[dict[str, Any]]:
    """Every change of a rating or a segment note (dimension ``(note)``): old, new, who, when, why."""
    alloc = allocation_map(session, study, mode)
    empty = {"participant": "", "arm": "", "timepoint": ""}
    rater, changer = aliased(User), aliased(User)
    stmt = (
        select(
            Recording.id,
            Recording.blind_code,
            Segment.index,
            rater.username,
            Assignment.purpose,
            RatingHistory.dimension,
            RatingHistory.old_value,
            RatingHistory.new_value,
            changer.username,
            RatingHistory.changed_at,
            RatingHistory.reason,
        )
        .join(Assignment, RatingHistory.assignment_id == Assignment.id)
        .join(Segment, Assignment.segment_id == Segment.id)
        .join(Recording, Segment.recording_id == Recording.id)
        .join(rater, Assignment.rater_id == rater.id)
        .join(changer, RatingHistory.changed_by == changer.id)
        .where(Assignment.study_id == study.id)
        .order_by(RatingHistory.changed_at, RatingHistory.id)
        .execution_options(yield_per=BATCH)
    )
    for rid, code, idx, who, purpose, dim, old, new, by, at, reason in session.execute(stmt):
        yield {
            "study": study.key,
            **alloc.get(rid, empty),
            "recording": code,
            "segment": idx + 1,
            "rater": who,
            "purpose": purpose,
            "dimension": dim,
            "old_value": old,
            "new_value": new,
            "changed_by": by,
            "changed_at": at,
            "reason": reason,
        }


def text_cell(column: str, value: Any) -> str:
    """How a typed value is written to CSV (the format of :func:`exports.ratings_csv`).

    Examples
    --------
    >>> text_cell("segment_start_s", 60.125), text_cell("value", 3.0), text_cell("value", 0.1 + 0.2)
    ('60.125', '3', '0.30000000000000004')
    >>> text_cell("value", None), text_cell("segment", 2)
    ('', '2')
    >>> text_cell("changed_after_lock", True), text_cell("created_at", dt.datetime(2024, 5, 1, 9, 30))
    ('yes', '2024-05-01T09:30:00')
    """
    if value is None:
        return ""
    if isinstance(value, float | int) and not isinstance(value, bool):
        return format_number(value)  # full precision, the same number as in xlsx and parquet
    if column == "changed_after_lock":
        return "yes" if value else ""
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    return str(value)


def segment_columns(study: Study, mode: str) -> list[str]:
    """The columns of :func:`segment_table`."""
    scheme = scheme_model(study.scheme)
    return _segment_keys(mode) + ["status"] + scheme.dimension_names() + [c.name for c in scheme.composites] + ["note"]


def _segment_keys(mode: str) -> list[str]:
    keys = ["participant", "arm", "timepoint"] if mode != "blinded" else []
    return keys + ["recording", "segment", "segment_start_s", "segment_end_s", "rater", "purpose"]


def segment_records(session: Session, study: Study, mode: str) -> Iterator[dict[str, Any]]:
    """The rows of :func:`segment_table`, in its order, one film segment at a time.

    Why streamed: at a million ratings a dict per row for the whole study took over 500 MB
    (the Excel export's peak). The ratings come ordered by film and segment, so a segment's rows
    are together: each segment's rows are merged and handed on before the next is read. The
    resolved consensus scores (few) are read first; one whose row key recurs among the ratings is
    merged into that earlier row, the others follow at the end, as one pass over all rows would."""
    scheme = scheme_model(study.scheme)
    keys = _segment_keys(mode)
    alloc = allocation_map(session, study, mode)

    def merge(into: dict[tuple[Any, ...], dict[str, Any]], r: dict[str, Any]) -> None:
        k = tuple(r[c] for c in keys)
        row = into.setdefault(k, {**{c: r[c] for c in keys}, "status": r["status"], "note": r["note"]})
        row[r["dimension"]] = r["value"]

    def finished(row: dict[str, Any]) -> dict[str, Any]:
        for comp in scheme.composites:
            values = {p.dimension: row.get(p.dimension) for p in comp.parts}
            complete = {name: v for name, v in values.items() if v is not None}
            row[comp.name] = comp.compute(complete, scheme) if len(complete) == len(values) else None
        return row

    late: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in iter_consensus(session, study, mode, alloc):
        merge(late, r)
    dims = scheme.dimension_names()

    def flush(block: dict[tuple[Any, ...], dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for k, row in block.items():
            extra = late.pop(k, None)
            if extra is not None:  # the consensus scores come after the ratings: theirs win
                row.update({d: extra[d] for d in dims if d in extra})
            yield finished(row)

    block: dict[tuple[Any, ...], dict[str, Any]] = {}
    current: tuple[Any, Any] | None = None
    for r in iter_ratings(session, study, mode, with_consensus=False):
        segment = (r["recording"], r["segment"])
        if segment != current:
            yield from flush(block)
            block, current = {}, segment
        merge(block, r)
    yield from flush(block)
    for row in late.values():
        yield finished(row)


def segment_table(session: Session, study: Study, mode: str) -> pd.DataFrame:
    """One row per scored assignment (film segment x rater x purpose), one column per dimension and
    composite (composites only where every part is scored); consensus scores as purpose ``consensus``."""
    scheme = scheme_model(study.scheme)
    columns = segment_columns(study, mode)
    df = pd.DataFrame.from_records(
        (tuple(row.get(c) for c in columns) for row in segment_records(session, study, mode)), columns=columns
    )
    for name in scheme.dimension_names() + [c.name for c in scheme.composites]:
        df[name] = pd.to_numeric(df[name], errors="coerce").astype("float64")
    return df


def wide_table(
    session: Session,
    actor,
    study: Study,
    mode: str,
    *,
    rule: str = "consensus_else_mean",
    analysis_set: str = "itt",
) -> pd.DataFrame:
    """One row per participant x time point, one column per dimension and composite, aggregated by
    :func:`annotate.services.outcomes.summaries.recording_scores` (its ``rule`` and ``analysis_set``)."""
    if mode == "blinded":
        raise ServiceError(
            "The wide table is one row per participant and time point, so it cannot be blinded; "
            "choose the masked export (Arm A / Arm B), or the per-segment table for a blinded export."
        )
    scheme = scheme_model(study.scheme)
    names = scheme.dimension_names() + [c.name for c in scheme.composites]
    keys = ["participant", "arm", "timepoint"]
    merged: pd.DataFrame | None = None
    frames = outcomes.recording_scores_of(
        session, actor, study.key, outcomes=names, rule=rule, analysis_set=analysis_set, masked=(mode == "masked")
    )
    for name in names:
        part = frames[name].rename(columns={"score": name})
        if merged is None:
            extra = [c for c in part.columns if c not in keys + [name, "n_segments", "n_ratings"]]
            merged = part[keys + extra + [name]]
        else:
            merged = merged.merge(part[keys + [name]], on=keys, how="outer")
    if merged is None:
        raise ServiceError(f"Scheme {scheme.key} defines no dimensions; nothing to put in a wide table.")
    order = {t.name: t.ordinal for t in study.timepoints}
    merged = merged.assign(_tp=merged["timepoint"].map(order)).sort_values(["participant", "_tp"]).drop(columns="_tp")
    return merged.reset_index(drop=True)


@dataclass(frozen=True)
class ReliabilityMatrix:
    dimension: str
    raters: list[str]
    units: list[str]  # "<film code>_<segment>"
    values: list[list[float | None]]  # units x raters, None where a rater did not score the unit


def reliability_matrices(session: Session, study: Study) -> list[ReliabilityMatrix]:
    """Per dimension a units x raters matrix of the scoring ratings (primary and reliability purposes)."""
    scheme = scheme_model(study.scheme)
    cells: dict[str, dict[tuple[int, int, str], dict[str, float]]] = {d: {} for d in scheme.dimension_names()}
    raters: dict[str, set[str]] = {d: set() for d in cells}
    stmt = (
        select(Recording.id, Segment.index, Recording.blind_code, User.username, Rating.dimension, Rating.value)
        .join(Assignment, Rating.assignment_id == Assignment.id)
        .join(Segment, Rating.segment_id == Segment.id)
        .join(Recording, Segment.recording_id == Recording.id)
        .join(User, Rating.rater_id == User.id)
        .where(Assignment.study_id == study.id, Assignment.purpose.in_(SCORING_PURPOSES), Rating.value.is_not(None))
        .execution_options(yield_per=BATCH)
    )
    for rid, idx, code, rater, dim, value in session.execute(stmt):
        if dim not in cells or value is None:  # None already excluded in SQL; narrows the type
            continue
        cells[dim].setdefault((rid, idx, code), {})[rater] = value
        raters[dim].add(rater)
    out = []
    for dim, units in cells.items():
        names = sorted(raters[dim])
        order = sorted(units)
        out.append(
            ReliabilityMatrix(
                dimension=dim,
                raters=names,
                units=[f"{code}_{idx + 1}" for _, idx, code in order],
                values=[[units[u].get(r) for r in names] for u in order],
            )
        )
    return out


CODEBOOK_COLUMNS = ["variable", "label", "kind", "min", "max", "step", "direction", "anchors", "description"]
_FIXED = {
    "study": "Study key",
    "participant": "Participant id (masked/full exports only)",
    "arm": "Arm (Arm A / Arm B until unblinding)",
    "timepoint": "Time point of the film (masked/full only)",
    "recording": "Film code (blind code)",
    "segment": "Segment number within the film (1 = first)",
    "segment_start_s": "Segment start (seconds)",
    "segment_end_s": "Segment end (seconds)",
    "rater": "Rater username",
    "purpose": "primary, reliability (second rater), calibration or consensus",
    "scheme": "Rating scheme key",
    "scheme_version": "Rating scheme version",
    "dimension": "Dimension name (long table)",
    "value": "Score (long table)",
    "note": "Rater's segment note (consensus rows: the reason)",
    "status": "assigned, in_progress, done or resolved",
    "changed_after_lock": "yes when an admin corrected the score after the study was locked",
    "created_at": "First saved (UTC)",
    "updated_at": "Last changed (UTC)",
    "per_protocol": "Per-protocol flag from the allocation file (wide table)",
}


def _num(x: float) -> str:
    return format_number(x)


def codebook_rows(study: Study) -> list[dict[str, str]]:
    """Every exported variable: fixed columns, then each dimension and composite with range, direction, anchors."""
    scheme: SchemeModel = scheme_model(study.scheme)
    rows = [dict.fromkeys(CODEBOOK_COLUMNS, "") | {"variable": k, "label": v, "kind": "id"} for k, v in _FIXED.items()]
    for d in scheme.dimensions:
        rows.append(
            {
                "variable": d.name,
                "label": d.label,
                "kind": "dimension",
                "min": _num(d.min),
                "max": _num(d.max),
                "step": _num(d.step),
                "direction": d.direction,
                "anchors": "; ".join(f"{_num(a.value)} = {a.label}" for a in d.sorted_anchors()),
                "description": " ".join(d.description.split()),
            }
        )
    for c in scheme.composites:
        lo, hi = c.value_range(scheme)
        parts = ", ".join(
            f"{p.dimension}{' (reversed)' if p.reverse else ''}{'' if p.weight == 1 else f' x{_num(p.weight)}'}"
            for p in c.parts
        )
        rows.append(
            {
                "variable": c.name,
                "label": c.label,
                "kind": f"composite ({c.method})",
                "min": _num(lo),
                "max": _num(hi),
                "step": "",
                "direction": c.direction,
                "anchors": "",
                "description": " ".join(f"{c.method} of {parts}. {c.description}".split()),
            }
        )
    return rows


def codebook_markdown(study: Study) -> str:
    """The codebook as a Markdown document (one table)."""
    scheme = scheme_model(study.scheme)
    head = [
        f"# Codebook: {study.key}",
        "",
        f"Rating scheme **{scheme.key}** version {scheme.version}: {scheme.title}.",
        f"Source: {' '.join(scheme.source.split())}",
        "",
    ]
    esc = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    table = ["| " + " | ".join(CODEBOOK_COLUMNS) + " |", "|" + "---|" * len(CODEBOOK_COLUMNS)]
    table += ["| " + " | ".join(esc(r[c]) for c in CODEBOOK_COLUMNS) + " |" for r in codebook_rows(study)]
    return "\n".join(head + table) + "\n"
