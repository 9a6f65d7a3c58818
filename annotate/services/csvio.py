"""Reading CSV uploads and writing safe CSV cells (shared by imports and exports)."""

from __future__ import annotations

import csv
import io

from annotate.services.errors import ServiceError

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def read_csv_rows(data: bytes | str, what: str, required: list[str]) -> list[dict[str, str]]:
    """Parse CSV text into dicts with lower-cased, stripped headers; check required columns.

    Examples
    --------
    >>> read_csv_rows("Participant,Arm\\nP1,A\\n", "participants", ["participant", "arm"])
    [{'participant': 'P1', 'arm': 'A'}]
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError:
                raise ServiceError(
                    f"{what}: the file is not text (save it as CSV, UTF-8)."
                ) from None
    else:
        text = data.lstrip("\ufeff")
    if not text.strip():
        raise ServiceError(f"{what}: the file is empty; it needs a header row and data rows.")
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise ServiceError(f"{what}: cannot read the header row ({exc}).") from None
    names = [h.strip().lower() for h in header]
    missing = [c for c in required if c not in names]
    if missing:
        raise ServiceError(
            f"{what}: missing column(s) {', '.join(missing)}; the header row has "
            f"{', '.join(repr(n) for n in names) or 'no columns'}."
        )
    dupes = sorted({n for n in names if names.count(n) > 1 and n})
    if dupes:
        raise ServiceError(f"{what}: column(s) {', '.join(dupes)} appear more than once.")
    rows = []
    try:
        for raw in reader:
            if not any(cell.strip() for cell in raw):
                rows.append({})  # keep numbering; blank lines are skipped by callers
                continue
            rows.append({n: (raw[i].strip() if i < len(raw) else "") for i, n in enumerate(names)})
    except csv.Error as exc:
        raise ServiceError(f"{what}: the CSV is malformed near line {reader.line_num}: {exc}") from None
    return rows


def safe_cell(value: object) -> object:
    """Neutralise cells a spreadsheet would run as a formula (prefix with a quote).

    Examples
    --------
    >>> safe_cell("=HYPERLINK(1)"), safe_cell("-3"), safe_cell(-3), safe_cell("ok")
    ("'=HYPERLINK(1)", "'-3", -3, 'ok')
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
