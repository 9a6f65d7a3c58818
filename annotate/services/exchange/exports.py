"""Exports in the formats researchers finish in: CSV (long, streamed), wide, Excel, SPSS, Stata, Parquet,
reliability matrices for R, the rating history and the codebook. Every export is audited.

Formats
-------
``csv``          one row per rating (consensus scores as extra rows), streamed: bounded memory.
``wide``         one row per participant x time point, one column per dimension and composite
                 (:func:`annotate.services.outcomes.summaries.recording_scores`; not available blinded).
``xlsx``         sheets ``ratings``, ``segments`` (one row per film segment x rater), ``wide``
                 (masked/full only), ``codebook``, ``study info``; header frozen, columns sized.
``sav``/``dta``  SPSS / Stata: one table (``wide`` by default, ``segments`` when blinded, or
                 ``ratings``) with variable labels and value labels from the scheme's anchors.
``parquet``      one table as ``sav`` (default ``ratings``), typed columns.
``reliability``  a zip: per dimension ``<dimension>.csv``, rows = segments, columns = raters,
                 ``NA`` where a rater did not score, as R's irr and psych expect (always blinded);
                 the long table the Reliability page analyses, annotate's numbers for it, and
                 ``reproduce.R`` + README with the R code (lme4, irr, psych) for each statistic.
``history``      every change of a score or note: who, when, old, new, why (CSV, streamed).
``codebook``     every variable with label, range, direction and anchors (CSV; Markdown via ``variant="md"``).

Lossless: every CSV is RFC 4180 (CRLF; a field holding CR, LF, a quote or a comma is quoted), numbers
are written at full precision (:func:`annotate.reports.csvio.format_number`), text byte for byte. No
text cell can start a formula: in CSV by the neutralisation rule of :mod:`annotate.reports.csvio`
(one ``'``, removed again by our importers), in xlsx text is a string cell, never a formula, with
Excel's quote-prefix style on the cells that rule would guard (no ``'`` added to the data).
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
import math
import re
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlencode

import pandas as pd
from sqlalchemy.orm import Session

from annotate.db.models import Study
from annotate.reports.csvio import csv_writer, format_number, guard, needs_guard, safe_cell, text_row
from annotate.services.accounts import audit
from annotate.services.actor import Actor, require_role
from annotate.services.errors import ServiceError
from annotate.services.exchange import columnar
from annotate.services.exchange.tables import (
    BATCH,
    CODEBOOK_COLUMNS,
    HISTORY_COLUMNS,
    RATINGS_COLUMNS,
    allocation_map,
    codebook_markdown,
    codebook_rows,
    columns_for,
    iter_consensus,
    iter_history,
    iter_ratings,
    reliability_matrices,
    resolve_mode,
    segment_columns,
    segment_records,
    segment_table,
    text_cell,
    wide_table,
)
from annotate.services.policy import READ_ROLES
from annotate.services.studies.setup import get_study, scheme_model

FORMATS = ("csv", "wide", "xlsx", "sav", "dta", "parquet", "reliability", "history", "codebook")
# Where the web server serves these files (annotate.web.exports); pages link there.
EXPORT_PATH = "/api/export"


def export_url(study_key: str, fmt: str, mode: str, *, table: str | None = None, analysis_set: str = "itt") -> str:
    """The address of one export (relative to the server), for a page's download link.

    Examples
    --------
    >>> export_url("T 1&", "sav", "masked", table="wide")
    '/api/export?study=T+1%26&format=sav&mode=masked&table=wide&set=itt'
    """
    query = {"study": study_key, "format": fmt, "mode": mode}
    if table:
        query["table"] = table
    query["set"] = analysis_set
    return f"{EXPORT_PATH}?{urlencode(query)}"


TABLES = ("wide", "segments", "ratings")
MIME = {
    "csv": "text/csv",
    "wide": "text/csv",
    "history": "text/csv",
    "codebook": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "sav": "application/x-spss-sav",
    "dta": "application/x-stata-dta",
    "parquet": "application/vnd.apache.parquet",
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


_MEMO_LIMIT = 50_000  # distinct values remembered per column (film codes, times, notes repeat row after row)


def _write_csv(rows: Iterable[dict[str, Any]], columns: list[str], out: TextIO, *, header: bool = True) -> int:
    """RFC 4180 rows; each column's cell text is memoised, as the same values repeat across rows."""
    writer = csv_writer(out)
    if header:
        writer.writerow(columns)
    memos: list[dict[Any, str]] = [{} for _ in columns]
    pairs = list(zip(columns, memos, strict=True))
    n = 0
    for row in rows:
        cells = []
        for c, memo in pairs:
            v = row[c]
            try:
                cells.append(memo[v])
            except KeyError:
                if len(memo) >= _MEMO_LIMIT:
                    memo.clear()
                text = memo[v] = guard(text_cell(c, v))
                cells.append(text)
        writer.writerow(cells)
        n += 1
    return n


def write_ratings_csv(
    session: Session, actor: Actor, study_key: str, out: TextIO, mode: str = "auto"
) -> StreamedExport:
    """Stream all ratings of a study as tidy CSV into ``out`` (same content as
    :func:`ratings_csv`, in bounded memory)."""
    require_role(actor, *READ_ROLES)
    study = get_study(session, study_key)
    mode = resolve_mode(study, mode, "The full export")
    columns = columns_for(RATINGS_COLUMNS, mode)
    url = session.get_bind().engine.url.render_as_string(hide_password=False)
    if columnar.available(url):
        # The same bytes, column by column (annotate.services.exchange.columnar); consensus rows follow.
        session.commit()  # the columnar reader is another connection: it must see what this one wrote
        alloc = allocation_map(session, study, mode)
        n = columnar.write_rating_rows(url, study, mode, alloc, out)
        n += _write_csv(iter_consensus(session, study, mode, alloc), columns, out, header=False)
    else:
        n = _write_csv(iter_ratings(session, study, mode), columns, out)
    audit.record(session, actor, "export.csv", study_id=study.id, rows=n, mode=mode)
    return StreamedExport(n, mode)


def write_history_csv(
    session: Session, actor: Actor, study_key: str, out: TextIO, mode: str = "auto"
) -> StreamedExport:
    """Stream the rating history (every change of a score or a note: who, when, old, new, why)."""
    require_role(actor, *READ_ROLES)
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
        if df[col].dtype == bool or (
            df[col].dtype == object and set(df[col].dropna().map(type)) <= {bool} and df[col].notna().any()
        ):
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


def _table(
    session: Session,
    actor: Actor,
    study: Study,
    mode: str,
    table: str | None,
    default: str,
    rule: str,
    analysis_set: str,
) -> tuple[str, pd.DataFrame]:
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


def _sheet(wb, title: str, columns: list[str], rows: Iterator[list[Any]]) -> tuple[int, bool]:
    """Write one write-only sheet: header frozen, column widths from the header and the first 200 rows.
    Returns the number of rows and whether any text holds CR (see :func:`_keep_cr`)."""
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
    n, cr = 0, False
    for row in itertools.chain(head, rows):
        n += 1
        if n > EXCEL_MAX_ROWS:
            raise ServiceError(
                f"Sheet {title} has more rows than Excel allows ({EXCEL_MAX_ROWS:,}); export CSV or Parquet instead."
            )
        ws.append([_xlsx_cell(ws, v) for v in row])
        cr = cr or any(isinstance(v, str) and "\r" in v for v in row)
    return n, cr


_XLSX_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")  # XML cannot hold them: OOXML's _xHHHH_ escape


def _xlsx_cell(ws, value: Any) -> Any:
    """Text as a string cell (never a formula), with Excel's quote prefix where CSV would add ``'``;
    a float at full precision (openpyxl writes ``%.16g``, one digit short of a double)."""
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, float) and math.isfinite(value) and float(f"{value:.16g}") != value:
        cell = WriteOnlyCell(ws)
        cell.data_type = "n"
        cell._value = repr(value)  # written as is: the shortest text that reads back to this double
        return cell
    if not isinstance(value, str):
        return value

    cell = WriteOnlyCell(ws, value=_XLSX_CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", value))
    cell.data_type = "s"  # openpyxl would make "=..." a formula
    if needs_guard(value):
        cell.quotePrefix = True
    return cell


def _frame_rows(df: pd.DataFrame) -> Iterator[list[Any]]:
    for rec in df.itertuples(index=False):
        yield [
            None
            if v is None or v is pd.NaT or (isinstance(v, float) and v != v)
            else _excel_value("", v.to_pydatetime() if isinstance(v, pd.Timestamp) else v)
            for v in rec
        ]


def _segment_rows(session: Session, study: Study, mode: str, columns: list[str]) -> Iterator[list[Any]]:
    """The segments sheet streamed (:func:`segment_records`), cell for cell what
    ``_frame_rows(segment_table(...))`` gives: scores and composites as floats, missing as empty."""
    scheme = scheme_model(study.scheme)
    numeric = set(scheme.dimension_names()) | {c.name for c in scheme.composites}
    for row in segment_records(session, study, mode):
        cells = []
        for c in columns:
            v = row.get(c)
            if c in numeric:
                v = None if v is None or v != v else float(v)
            elif isinstance(v, float) and v != v:
                v = None
            cells.append(_excel_value("", v))
        yield cells


def _xlsx(session: Session, actor: Actor, study: Study, mode: str, rule: str, analysis_set: str) -> tuple[bytes, int]:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    columns = columns_for(RATINGS_COLUMNS, mode)

    def ratings() -> Iterator[list[Any]]:
        for r in iter_ratings(session, study, mode):
            yield [_excel_value(c, r[c]) for c in columns]

    n, cr = _sheet(wb, "ratings", columns, ratings())
    seg_columns = segment_columns(study, mode)
    crs = [cr, _sheet(wb, "segments", seg_columns, _segment_rows(session, study, mode, seg_columns))[1]]
    if mode != "blinded":
        wide = wide_table(session, actor, study, mode, rule=rule, analysis_set=analysis_set)
        crs.append(_sheet(wb, "wide", list(wide.columns), _frame_rows(wide))[1])
    _sheet(wb, "codebook", CODEBOOK_COLUMNS, ([r[c] for c in CODEBOOK_COLUMNS] for r in codebook_rows(study)))
    scheme = scheme_model(study.scheme)
    info: list[list[Any]] = [
        ["study", study.key],
        ["title", study.title],
        ["status", study.status],
        ["export mode", mode],
        ["scheme", f"{scheme.key} {scheme.version}"],
        ["scheme title", scheme.title],
        ["exported by", actor.username],
        ["ratings rows", n],
    ]
    if mode != "blinded":
        info += [
            ["arms", ", ".join(sorted(_shown_arms(study, mode)))],
            ["time points", ", ".join(t.name for t in study.timepoints)],
            ["aggregation rule (wide)", rule],
            ["analysis set (wide)", analysis_set],
        ]
    crs.append(_sheet(wb, "study info", ["field", "value"], iter(info))[1])
    # Through files, not BytesIO: getvalue() copies, and the CR rewrite would hold a second whole
    # workbook; at a million ratings the copies were most of a 556 MB peak. One copy is returned.
    with tempfile.TemporaryDirectory(prefix="annotate-xlsx-") as tmp:
        raw = Path(tmp) / "raw.xlsx"
        wb.save(raw)
        if any(crs):
            _keep_cr(raw, Path(tmp) / "cr.xlsx")
            raw = Path(tmp) / "cr.xlsx"
        return raw.read_bytes(), n


def _keep_cr(src_path: Path, dst_path: Path) -> None:
    """openpyxl writes CR in cell text as is, which every XML reader (Excel, openpyxl, pandas) reads as
    LF; rewrite it as the character reference ``&#13;`` in the sheets (CR occurs only in cell text).
    Streams from file to file, a megabyte at a time."""
    with zipfile.ZipFile(src_path) as src, zipfile.ZipFile(dst_path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            with src.open(info) as fin, dst.open(info, "w") as fout:
                sheet = info.filename.startswith("xl/worksheets/")
                while chunk := fin.read(1 << 20):
                    fout.write(chunk.replace(b"\r", b"&#13;") if sheet else chunk)


def _excel_value(column: str, value: Any) -> Any:
    """Excel has no time zones (openpyxl refuses aware datetimes): write UTC wall time."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
    if column == "changed_after_lock":
        return "yes" if value else ""
    return value


def _shown_arms(study: Study, mode: str) -> list[str]:
    from annotate.services.studies.gate import arm_labels

    return [] if mode == "blinded" else list(arm_labels(study).values())


_PARQUET_TYPES = {
    "segment": "int64",
    "segment_start_s": "float64",
    "segment_end_s": "float64",
    "value": "float64",
    "changed_after_lock": "bool",
    "created_at": "timestamp[us]",
    "updated_at": "timestamp[us]",
}


def _ratings_parquet(session: Session, study: Study, mode: str) -> tuple[bytes, int]:
    """The ratings table as Parquet, written in row groups as they are read (memory bounded by one
    batch; the same rows, values and text as the CSV). On SQLite the ratings come as typed Arrow
    columns (:mod:`annotate.services.exchange.columnar`), the consensus rows after them."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = columns_for(RATINGS_COLUMNS, mode)
    types = {"int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_(), "timestamp[us]": pa.timestamp("us")}
    schema = pa.schema([(c, types[_PARQUET_TYPES[c]] if c in _PARQUET_TYPES else pa.string()) for c in columns])
    buf = io.BytesIO()
    n = 0
    batch: dict[str, list[Any]] = {c: [] for c in columns}

    def flush(writer: Any) -> None:
        writer.write_table(pa.table({c: pa.array(batch[c], schema.field(c).type) for c in columns}, schema=schema))
        for v in batch.values():
            v.clear()

    url = session.get_bind().engine.url.render_as_string(hide_password=False)
    fast = columnar.available(url)
    if fast:
        session.commit()  # the columnar reader is another connection: it must see what this one wrote
    alloc = allocation_map(session, study, mode)
    with pq.ParquetWriter(buf, schema) as writer:
        if fast:
            for table in columnar.rating_tables(url, study, mode, alloc, schema):
                writer.write_table(table)
                n += table.num_rows
        rows = iter_consensus(session, study, mode, alloc) if fast else iter_ratings(session, study, mode)
        for r in rows:
            for c in columns:
                v = r[c]
                if isinstance(v, dt.datetime) and v.tzinfo is not None:
                    v = v.astimezone(dt.UTC).replace(tzinfo=None)
                batch[c].append(v)
            n += 1
            if n % BATCH == 0:
                flush(writer)
        if batch[columns[0]] or n == 0:
            flush(writer)
    return buf.getvalue(), n


def _reliability_zip(session: Session, actor: Actor, study: Study) -> tuple[bytes, int]:
    """Per dimension the units x raters matrix, the long table the Reliability page analyses
    (``<dimension>_long.csv``), annotate's numbers for it (``<dimension>_annotate.json``), and
    ``reproduce.R`` with the README telling how each statistic is reproduced in R."""
    from annotate.services.errors import NotEnoughData
    from annotate.services.reliability import reliability_json, reliability_ratings, reliability_report

    buf = io.BytesIO()
    n = 0
    analysed: list[str] = []
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for m in reliability_matrices(session, study):
            out = io.StringIO()
            w = csv_writer(out)
            w.writerow(["unit", *m.raters])
            for unit, values in zip(m.units, m.values, strict=True):
                w.writerow([unit, *("NA" if v is None else format_number(v) for v in values)])
            zf.writestr(f"{m.dimension}.csv", out.getvalue())
            n += len(m.units)
            long = reliability_ratings(session, actor, study.key, dimension=m.dimension)
            if long.empty:
                continue
            out = io.StringIO()
            w = csv_writer(out)
            w.writerow(["unit", "film", "rater", "score"])
            for unit, film, rater, score in long[["unit", "film", "rater", "score"]].itertuples(index=False):
                w.writerow([unit, film, rater, format_number(score)])
            zf.writestr(f"{m.dimension}_long.csv", out.getvalue())
            try:
                report = reliability_report(session, actor, study.key, dimension=m.dimension, seed=0)
            except NotEnoughData:
                continue
            zf.writestr(
                f"{m.dimension}_annotate.json", json.dumps(reliability_json(report.table), indent=2, allow_nan=False)
            )
            analysed.append(m.dimension)
        zf.writestr(
            "README.txt",
            _RELIABILITY_README.format(study=study.key, analysed=", ".join(analysed) or "none yet (no double-coding)"),
        )
        zf.writestr("reproduce.R", _REPRODUCE_R)
    return buf.getvalue(), n


_RELIABILITY_README = """Reliability of study {study}: the ratings, annotate's numbers, and how to reproduce them in R.

Files, per dimension
  <dimension>.csv            units x raters: rows are segments (film code _ segment number), columns
                             raters, NA where a rater did not score the segment. Primary and
                             second-rater (reliability) scores; consensus is not included.
  <dimension>_long.csv       what the Reliability page analyses: one row per finished rating of a
                             segment finished by two or more raters; columns unit, film, rater, score.
  <dimension>_annotate.json  annotate's statistics of that long table (the JSON of
                             `annotate stats reliability --study {study} --dimension <dimension> --json --seed 0`).
  reproduce.R                recomputes the numbers below from the long tables:
                             Rscript reproduce.R            (prints dimension, statistic, value)
Dimensions analysed: {analysed}.

In R (install.packages(c("lme4", "irr", "psych")) once):
  d <- read.csv("sensitivity_long.csv"); d$unit <- factor(d$unit); d$rater <- factor(d$rater)
  m <- read.csv("sensitivity.csv", row.names = 1)

Design (design.*): table(d$unit) gives the ratings per unit; complete = every rater rated every unit.

One-way ICC (icc_oneway; Shrout & Fleiss 1979 Case 1, unbalanced with k0, CI as Searle 1971):
  a <- anova(lm(score ~ unit, data = d)); msb <- a[1, 3]; msw <- a[2, 3]
  ni <- table(d$unit); n <- length(ni); N <- sum(ni); k0 <- (N - sum(ni^2) / N) / (n - 1)
  (msb - msw) / (msb + (k0 - 1) * msw)        # ICC(1);  (msb - msw) / msb is ICC(1,k)
  On a complete design: psych::ICC(m)  (ICC1, ICC1k) gives the same.

Variance components (variance_components; REML, as lme4), with the film as cluster:
  fit <- lme4::lmer(score ~ 1 + (1 | film) + (1 | unit) + (1 | rater), data = d, REML = TRUE)
  as.data.frame(lme4::VarCorr(fit))            # film = cluster, unit = segment within film
  Without films (or when every film has a single segment):
  lme4::lmer(score ~ 1 + (1 | unit) + (1 | rater), data = d, REML = TRUE)

ICCs of the incomplete design (icc_incomplete; ten Hove, Jorgensen & van der Ark 2022), with
  vu = film + unit variance, vr = rater, ve = residual, k = 1 / mean(1 / table(d$unit)):
  ICC(A,1) = vu / (vu + vr + ve)      ICC(C,1) = vu / (vu + ve)
  ICC(A,k) = vu / (vu + (vr + ve) / k)  ICC(C,k) = vu / (vu + ve / k)
  The 95% CIs are Monte Carlo (1,000 draws of the components from their REML sampling
  distribution, log scale, seed in monte_carlo.seed); a parametric bootstrap in R,
  lme4::bootMer(fit, FUN, nsim = 1000), gives comparable but not identical limits.

D-study (d_study; Brennan 2001): for n raters and m segments per film,
  Phi = vc / (vc + vu / m + vr / n + ve / (m * n)),  E rho^2 = vc / (vc + vu / m + ve / (m * n)).

Pairwise (pairwise; Cohen's kappa and agreement per rater pair on shared segments, averaged
  weighted by shared segments, Light 1971): for each pair, on its shared units,
  irr::kappa2(cbind(a, b), weight = "unweighted" | "equal" | "squared")   # equal = linear
  (on the full scale: give the scores as factors with every scale point as a level)
  exact: mean(a == b); within one point: mean(abs(a - b) <= 1).

Complete-case statistics (icc, cohen_kappa, krippendorff_alpha, ...; segments scored by every rater):
  irr::icc(m[complete.cases(m), ], model = "twoway", type = "agreement", unit = "single")   # ICC(2,1)
  psych::ICC(m, missing = FALSE)
  irr::kripp.alpha(t(as.matrix(m)), method = "interval")   # raters x units; NA allowed

Rater severity (raters): per rater, the mean over shared segments of (their score - the mean of
  the other raters' scores on the segment), with t.test(...)$conf.int as the 95% CI.
"""

_REPRODUCE_R = r"""# Recompute annotate's reliability statistics from <dimension>_long.csv (see README.txt).
# Prints: dimension <TAB> statistic <TAB> value, with statistic named as in <dimension>_annotate.json.
suppressPackageStartupMessages(library(lme4))
files <- commandArgs(TRUE)
if (!length(files)) files <- Sys.glob("*_long.csv")
for (f in files) {
  dimension <- sub("_long[.]csv$", "", basename(f))
  d <- read.csv(f, stringsAsFactors = FALSE)
  d$unit <- factor(d$unit); d$rater <- factor(d$rater); d$film <- factor(d$film)
  put <- function(name, value) cat(sprintf("%s	%s	%.10g
", dimension, name, value))
  ni <- table(d$unit); n <- length(ni); N <- sum(ni)
  a <- anova(lm(score ~ unit, data = d)); msb <- a[1, 3]; msw <- a[2, 3]
  k0 <- (N - sum(ni^2) / N) / (n - 1)
  put("icc_oneway.ICC(1).value", (msb - msw) / (msb + (k0 - 1) * msw))
  put("icc_oneway.ICC(1,k).value", (msb - msw) / msb)
  put("icc_oneway.ICC(1).k0", k0)
  nested <- any(table(d$film[!duplicated(d$unit)]) > 1)
  form <- if (nested) score ~ 1 + (1 | film) + (1 | unit) + (1 | rater) else score ~ 1 + (1 | unit) + (1 | rater)
  fit <- lmer(form, data = d, REML = TRUE, control = lmerControl(check.conv.singular = "ignore"))
  v <- as.data.frame(VarCorr(fit))
  get <- function(g) if (any(v$grp == g)) v$vcov[v$grp == g] else 0
  vc <- get("film"); vu <- get("unit"); vr <- get("rater"); ve <- get("Residual")
  put("variance_components.unit", vu); put("variance_components.rater", vr)
  put("variance_components.residual", ve)
  if (nested) put("variance_components.cluster", vc)
  k <- 1 / mean(1 / as.numeric(ni)); vt <- vu + vc
  put("icc_incomplete.ICC(A,1).value", vt / (vt + vr + ve))
  put("icc_incomplete.ICC(C,1).value", vt / (vt + ve))
  put("icc_incomplete.ICC(A,k).value", vt / (vt + (vr + ve) / k))
  put("icc_incomplete.ICC(C,k).value", vt / (vt + ve / k))
  for (nr in c(1, 2)) {
    phi <- if (nested) vc / (vc + vu + vr / nr + ve / nr) else vu / (vu + vr / nr + ve / nr)
    put(sprintf("d_study.phi.raters=%d.units=1", nr), phi)
  }
  w <- reshape(d[, c("unit", "rater", "score")], idvar = "unit", timevar = "rater", direction = "wide")
  s <- as.matrix(w[, -1]); colnames(s) <- sub("^score[.]", "", colnames(s))
  same <- 0; within <- 0; pairs <- 0
  for (i in seq_len(ncol(s) - 1)) for (j in (i + 1):ncol(s)) {
    ok <- !is.na(s[, i]) & !is.na(s[, j])
    same <- same + sum(s[ok, i] == s[ok, j]); within <- within + sum(abs(s[ok, i] - s[ok, j]) <= 1)
    pairs <- pairs + sum(ok)
  }
  put("pairwise.agreement.exact", same / pairs); put("pairwise.agreement.within_1", within / pairs)
  put("pairwise.n_pairs", pairs)
  for (r in colnames(s)) {
    dev <- c()
    for (u in seq_len(nrow(s))) {
      others <- s[u, colnames(s) != r]; others <- others[!is.na(others)]
      if (!is.na(s[u, r]) && length(others)) dev <- c(dev, s[u, r] - mean(others))
    }
    if (length(dev)) put(sprintf("raters.%s.mean_deviation", r), mean(dev))
  }
}
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
    require_role(actor, *READ_ROLES)
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
    elif fmt == "parquet" and (table or "ratings") == "ratings":
        data, rows = _ratings_parquet(session, study, mode)
        table = "ratings"
        name, detail = f"{stem}_{table}.{fmt}", {"table": table}
    elif fmt in ("sav", "dta", "parquet"):
        table, df = _table(
            session, actor, study, mode, table, "ratings" if fmt == "parquet" else "wide", rule, analysis_set
        )
        if fmt == "parquet":
            buf = io.BytesIO()
            df.to_parquet(buf, index=False)
            data = buf.getvalue()
        else:
            data = _statfile(df, study, fmt)
        rows, name, detail = len(df), f"{stem}_{table}.{fmt}", {"table": table}
    elif fmt == "reliability":
        data, rows = _reliability_zip(session, actor, study)
        name, mode = f"{study.key}_reliability.zip", "blinded"
    else:  # codebook
        if variant == "md":
            data, name = codebook_markdown(study).encode("utf-8"), f"{study.key}_codebook.md"
        else:
            out = io.StringIO()
            w = csv_writer(out)
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
    w = csv_writer(out)
    w.writerow(df.columns)
    for row in _frame_rows(df):
        w.writerow(text_row("yes" if v is True else "no" if v is False else v for v in row))
    return out.getvalue().encode("utf-8")


def ratings_csv(session: Session, actor: Actor, study_key: str, mode: str = "auto") -> str:
    """All ratings of a study as tidy CSV text (audited; formula-like cells neutralised).

    The in-memory form of :func:`write_ratings_csv` for pages and small studies; ``auto`` is
    ``full`` after unblinding and ``masked`` before.
    """
    out = io.StringIO()
    write_ratings_csv(session, actor, study_key, out, mode)
    return out.getvalue()
