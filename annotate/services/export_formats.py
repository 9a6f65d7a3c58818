"""Exports in the formats researchers finish in: CSV (long, streamed), wide, Excel, SPSS, Stata, Parquet,
reliability matrices for R, the rating history and the codebook. Every export is audited.

Formats
-------
``csv``          one row per rating (consensus scores as extra rows), streamed: bounded memory.
``wide``         one row per participant x time point, one column per dimension and composite
                 (:func:`annotate.services.summaries.recording_scores`; not available blinded).
``xlsx``         sheets ``ratings``, ``segments`` (one row per film segment x rater), ``wide``
                 (masked/full only), ``codebook``, ``study info``; header frozen, columns sized.
``sav``/``dta``  SPSS / Stata: one table (``wide`` by default, ``segments`` when blinded, or
                 ``ratings``) with variable labels and value labels from the scheme's anchors.
``parquet``      one table as ``sav`` (default ``ratings``), typed columns.
``reliability``  a zip: per dimension ``<dimension>.csv``, rows = segments, columns = raters,
                 ``NA`` where a rater did not score, as R's irr and psych expect (always blinded).
``history``      every change of a score or note: who, when, old, new, why (CSV, streamed).
``codebook``     every variable with label, range, direction and anchors (CSV; Markdown via ``variant="md"``).

No text cell of a CSV or XLSX file can start a formula (:func:`annotate.services.csvio.safe_cell`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import pandas as pd
from sqlalchemy.orm import Session

from annotate.db.models import Study
from annotate.services import audit
from annotate.services.actor import Actor, require_role
from annotate.services.csvio import safe_cell
from annotate.services.errors import ServiceError
from annotate.services.export_tables import (
    CODEBOOK_COLUMNS, HISTORY_COLUMNS, RATINGS_COLUMNS, codebook_markdown, codebook_rows, columns_for,
    iter_history, iter_ratings, reliability_matrices, resolve_mode, segment_table, text_cell, wide_table,
)
from annotate.services.studies import get_study, scheme_model

FORMATS = ("csv", "wide", "xlsx", "sav", "dta", "parquet", "reliability", "history", "codebook")
TABLES = ("wide", "segments", "ratings")
MIME = {
    "csv": "text/csv", "wide": "text/csv", "history": "text/csv", "codebook": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "sav": "application/x-spss-sav", "dta": "application/x-stata-dta", "parquet": "application/vnd.apache.parquet",
    "reliability": "application/zip",
}
EXCEL_MAX_ROWS = 1_048_575  # Excel's row limit minus the header


@dataclass(frozen=True)
class ExportFile:
    filename: str
    mime: str
    data: bytes
    rows: int
    mode: str


@dataclass(frozen=True)
class StreamedExport:
    rows: int
    mode: str


def _write_csv(rows: Iterable[dict[str, Any]], columns: list[str], out: TextIO) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    n = 0
    for row in rows:
        writer.writerow([safe_cell(text_cell(c, row[c])) for c in columns])
        n += 1
    return n


def write_ratings_csv(session: Session, actor: Actor, study_key: str, out: TextIO, mode: str = "auto") -> StreamedExport:
    """Stream all ratings of a study as tidy CSV into ``out`` (same content as
    :func:`annotate.services.exports.ratings_csv`, in bounded memory)."""
    require_role(actor, "researcher")
    study = get_study(session, study_key)
    mode = resolve_mode(study, mode, "The full export")
    n = _write_csv(iter_ratings(session, study, mode), columns_for(RATINGS_COLUMNS, mode), out)
    audit.record(session, actor, "export.csv", study_id=study.id, rows=n, mode=mode)
    return StreamedExport(n, mode)


def write_history_csv(session: Session, actor: Actor, study_key: str, out: TextIO, mode: str = "auto") -> StreamedExport:
    """Stream the rating history (every change of a score or a note: who, when, old, new, why)."""
    require_role(actor, "researcher")
    study = get_study(session, study_key)
    mode = resolve_mode(study, mode, "The full history export")
    n = _write_csv(iter_history(session, study, mode), columns_for(HISTORY_COLUMNS, mode), out)
    audit.record(session, actor, "export.history", study_id=study.id, rows=n, mode=mode)
    return StreamedExport(n, mode)


# ---------------------------------------------------------------- labelled tables (SPSS, Stata, Excel)

def _variable_names(columns: list[str], max_len: int) -> dict[str, str]:
    """Column -> a name SPSS/Stata accept (letters, digits, _; starts with a letter; unique; short).

    Examples
    --------
    >>> names = _variable_names(["age (months)", "2nd_child", "x" * 40, "x" * 41], 32)
    >>> names["age (months)"], names["2nd_child"], names["x" * 40] == "x" * 32, names["x" * 41]
    ('age_months', 'v2nd_child', True, 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx_2')
    """
    out: dict[str, str] = {}
    used: set[str] = set()
    for col in columns:
        name = re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_]", "_", str(col))).strip("_") or "var"
        if not name[0].isalpha():
            name = "v" + name
        name = name[:max_len]
        base, k = name, 2
        while name.lower() in used:
            suffix = f"_{k}"
            name = base[: max_len - len(suffix)] + suffix
            k += 1
        used.add(name.lower())
        out[col] = name
    return out


def _labelled(df: pd.DataFrame, study: Study, max_len: int, integer_labels: bool) -> tuple[pd.DataFrame, dict, dict]:
    """Rename columns for SPSS/Stata; variable labels from the codebook, value labels from anchors."""
    scheme = scheme_model(study.scheme)
    book = {r["variable"]: r["label"] for r in codebook_rows(study)}
    df = df.copy()
    value_labels: dict[str, dict] = {}
    for d in scheme.dimensions:
        if d.name in df.columns:
            labels = {a.value: a.label for a in d.sorted_anchors()}
            if integer_labels:  # Stata labels only whole numbers
                labels = {int(v): t for v, t in labels.items() if float(v).is_integer()}
            if labels:
                value_labels[d.name] = labels
    for col in df.columns:
        if df[col].dtype == bool or (df[col].dtype == object and set(df[col].dropna().map(type)) <= {bool}
                                     and df[col].notna().any()):
            df[col] = df[col].map({True: 1.0, False: 0.0}).astype("float64")
            value_labels[col] = {1: "yes", 0: "no"}
        elif df[col].dtype == object:
            df[col] = df[col].map(lambda v: "" if v is None or (isinstance(v, float) and v != v) else str(v))
        elif pd.api.types.is_datetime64_any_dtype(df[col]):
            df[col] = df[col].dt.tz_localize(None) if df[col].dt.tz is not None else df[col]
    names = _variable_names(list(df.columns), max_len)
    variable_labels = {names[c]: book.get(c, str(c))[:80] for c in df.columns}
    value_labels = {names[c]: v for c, v in value_labels.items()}
    return df.rename(columns=names), variable_labels, value_labels


def _ratings_frame(session: Session, study: Study, mode: str) -> pd.DataFrame:
    columns = columns_for(RATINGS_COLUMNS, mode)
    df = pd.DataFrame(iter_ratings(session, study, mode), columns=RATINGS_COLUMNS)[columns]
    df["value"] = pd.to_numeric(df["value"], errors="coerce").astype("float64")
    for col in ("created_at", "updated_at"):
        df[col] = pd.to_datetime(df[col], utc=True).dt.tz_localize(None)
    return df


def _table(session: Session, actor: Actor, study: Study, mode: str, table: str | None, default: str,
           rule: str, analysis_set: str) -> tuple[str, pd.DataFrame]:
    table = table or (default if mode != "blinded" or default != "wide" else "segments")
    if table not in TABLES:
        raise ServiceError(f"Table must be one of {', '.join(TABLES)}; got {table!r}.")
    if table == "wide":
        return table, wide_table(session, actor, study, mode, rule=rule, analysis_set=analysis_set)
    if table == "segments":
        return table, segment_table(session, study, mode)
    return table, _ratings_frame(session, study, mode)


def _statfile(df: pd.DataFrame, study: Study, fmt: str) -> bytes:
    import pyreadstat

    frame, var_labels, val_labels = _labelled(df, study, 64 if fmt == "sav" else 32, integer_labels=(fmt == "dta"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"export.{fmt}"
        writer = pyreadstat.write_sav if fmt == "sav" else pyreadstat.write_dta
        writer(frame, str(path), column_labels=var_labels, variable_value_labels=val_labels)
        return path.read_bytes()


def _sheet(wb, title: str, columns: list[str], rows: Iterator[list[Any]]) -> int:  # noqa: ANN001
    """Write one write-only sheet: header frozen, column widths from the header and the first 200 rows."""
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(title)
    head: list[list[Any]] = []
    for row in rows:
        head.append(row)
        if len(head) >= 200:
            break
    widths = [len(str(c)) for c in columns]
    for row in head:
        widths = [max(w, len(str(v)) if v is not None else 0) for w, v in zip(widths, row, strict=True)]
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = min(60, max(8, w + 2))
    ws.freeze_panes = "A2"
    ws.append(columns)
    n = 0
    for row in (*head, *rows):
        n += 1
        if n > EXCEL_MAX_ROWS:
            raise ServiceError(f"Sheet {title} has more rows than Excel allows ({EXCEL_MAX_ROWS:,}); "
                               "export CSV or Parquet instead.")
        ws.append([safe_cell(v) for v in row])
    return n


def _frame_rows(df: pd.DataFrame) -> Iterator[list[Any]]:
    for rec in df.itertuples(index=False):
        yield [None if v is None or v is pd.NaT or (isinstance(v, float) and v != v) else
               _excel_value("", v.to_pydatetime() if isinstance(v, pd.Timestamp) else v) for v in rec]


def _xlsx(session: Session, actor: Actor, study: Study, mode: str, rule: str, analysis_set: str) -> tuple[bytes, int]:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    columns = columns_for(RATINGS_COLUMNS, mode)

    def ratings() -> Iterator[list[Any]]:
        for r in iter_ratings(session, study, mode):
            yield [_excel_value(c, r[c]) for c in columns]

    n = _sheet(wb, "ratings", columns, ratings())
    seg = segment_table(session, study, mode)
    _sheet(wb, "segments", list(seg.columns), _frame_rows(seg))
    if mode != "blinded":
        wide = wide_table(session, actor, study, mode, rule=rule, analysis_set=analysis_set)
        _sheet(wb, "wide", list(wide.columns), _frame_rows(wide))
    _sheet(wb, "codebook", CODEBOOK_COLUMNS, ([r[c] for c in CODEBOOK_COLUMNS] for r in codebook_rows(study)))
    scheme = scheme_model(study.scheme)
    info = [
        ["study", study.key], ["title", study.title], ["status", study.status], ["export mode", mode],
        ["scheme", f"{scheme.key} {scheme.version}"], ["scheme title", scheme.title],
        ["exported by", actor.username], ["ratings rows", n],
    ]
    if mode != "blinded":
        info += [["arms", ", ".join(sorted(_shown_arms(study, mode)))],
                 ["time points", ", ".join(t.name for t in study.timepoints)],
                 ["aggregation rule (wide)", rule], ["analysis set (wide)", analysis_set]]
    _sheet(wb, "study info", ["field", "value"], iter(info))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue(), n


def _excel_value(column: str, value: Any) -> Any:
    """Excel has no time zones (openpyxl refuses aware datetimes): write UTC wall time."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
    if column == "changed_after_lock":
        return "yes" if value else ""
    return value


def _shown_arms(study: Study, mode: str) -> list[str]:
    from annotate.services.study_status import arm_labels

    return [] if mode == "blinded" else list(arm_labels(study).values())


def _reliability_zip(session: Session, study: Study) -> tuple[bytes, int]:
    buf = io.BytesIO()
    n = 0
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for m in reliability_matrices(session, study):
            out = io.StringIO()
            w = csv.writer(out, lineterminator="\n")
            w.writerow(["unit", *m.raters])
            for unit, values in zip(m.units, m.values, strict=True):
                w.writerow([unit, *("NA" if v is None else f"{v:g}" for v in values)])
            zf.writestr(f"{m.dimension}.csv", out.getvalue())
            n += len(m.units)
        zf.writestr("README.txt", _RELIABILITY_README.format(study=study.key))
    return buf.getvalue(), n


_RELIABILITY_README = """Reliability matrices of study {study}: one CSV per dimension.
Rows are segments (film code _ segment number), columns are raters; NA where a rater did not score
the segment. Only primary and second-rater (reliability) scores are included; consensus is not.

In R:
  m <- read.csv("sensitivity.csv", row.names = 1)
  irr::icc(m[complete.cases(m), ], model = "twoway", type = "agreement", unit = "single")
  irr::kripp.alpha(t(as.matrix(m)), method = "interval")   # raters x units; NA allowed
  psych::ICC(m, missing = FALSE)                          # drops incomplete rows itself
"""


def export_file(
    session: Session,
    actor: Actor,
    study_key: str,
    fmt: str,
    mode: str = "auto",
    *,
    table: str | None = None,
    rule: str = "consensus_else_mean",
    analysis_set: str = "itt",
    variant: str = "csv",
) -> ExportFile:
    """One export of a study as file bytes (for download buttons and ``annotate export --out``).

    ``table`` picks the table of ``sav``, ``dta`` and ``parquet`` (``wide``, ``segments`` or
    ``ratings``); ``variant="md"`` makes the codebook Markdown. Blinded exports are allowed at any
    time; ``full`` only after unblinding. Each export writes an audit entry.
    """
    require_role(actor, "researcher")
    if fmt not in FORMATS:
        raise ServiceError(f"Export format must be one of {', '.join(FORMATS)}; got {fmt!r}.")
    study = get_study(session, study_key)
    mode = resolve_mode(study, mode, f"The full {fmt} export")
    stem = f"{study.key}_{mode}"
    detail: dict[str, Any] = {}
    if fmt in ("csv", "history"):
        out = io.StringIO()
        rows_iter = iter_ratings(session, study, mode) if fmt == "csv" else iter_history(session, study, mode)
        cols = columns_for(RATINGS_COLUMNS if fmt == "csv" else HISTORY_COLUMNS, mode)
        rows = _write_csv(rows_iter, cols, out)
        data, name = out.getvalue().encode("utf-8"), f"{stem}_{'ratings' if fmt == 'csv' else 'history'}.csv"
    elif fmt == "wide":
        df = wide_table(session, actor, study, mode, rule=rule, analysis_set=analysis_set)
        data, rows, name = _frame_csv(df), len(df), f"{stem}_wide.csv"
        detail = {"rule": rule, "analysis_set": analysis_set}
    elif fmt == "xlsx":
        data, rows = _xlsx(session, actor, study, mode, rule, analysis_set)
        name = f"{stem}.xlsx"
    elif fmt in ("sav", "dta", "parquet"):
        table, df = _table(session, actor, study, mode, table, "ratings" if fmt == "parquet" else "wide", rule, analysis_set)
        if fmt == "parquet":
            buf = io.BytesIO()
            df.to_parquet(buf, index=False)
            data = buf.getvalue()
        else:
            data = _statfile(df, study, fmt)
        rows, name, detail = len(df), f"{stem}_{table}.{fmt}", {"table": table}
    elif fmt == "reliability":
        data, rows = _reliability_zip(session, study)
        name, mode = f"{study.key}_reliability.zip", "blinded"
    else:  # codebook
        if variant == "md":
            data, name = codebook_markdown(study).encode("utf-8"), f"{study.key}_codebook.md"
        else:
            out = io.StringIO()
            w = csv.writer(out, lineterminator="\n")
            w.writerow(CODEBOOK_COLUMNS)
            for r in codebook_rows(study):
                w.writerow([safe_cell(r[c]) for c in CODEBOOK_COLUMNS])
            data, name = out.getvalue().encode("utf-8"), f"{study.key}_codebook.csv"
        rows = len(codebook_rows(study))
    audit.record(session, actor, f"export.{fmt}", study_id=study.id, rows=rows, mode=mode, **detail)
    mime = "text/markdown" if fmt == "codebook" and variant == "md" else MIME[fmt]
    return ExportFile(filename=name, mime=mime, data=data, rows=rows, mode=mode)


def _frame_csv(df: pd.DataFrame) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(df.columns)
    for row in _frame_rows(df):
        w.writerow(["" if v is None else safe_cell(f"{v:g}" if isinstance(v, float) else
                                                   ("yes" if v is True else "no" if v is False else v)) for v in row])
    return out.getvalue().encode("utf-8")
