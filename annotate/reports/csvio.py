"""CSV in and out, lossless: the RFC 4180 writer and strict reader shared by every export and import.

Writing (:func:`csv_writer`, :func:`write_rows`)
    RFC 4180: records end with CRLF; a field holding CR, LF, a quote or the delimiter is quoted and
    its quotes doubled, so one record is one row for R's ``read.csv``, pandas and Python's ``csv``.
    Numbers are written by :func:`format_number` (full precision).

The neutralisation rule (stated once; :func:`guard` and :func:`unguard`)
    A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula, also after
    leading CR, LF, TAB or spaces. Our CSV exports put one ``'`` in front of a text whose first
    character after any leading CR, LF, TAB or space is ``=``, ``+``, ``-`` or ``@`` (a plain number
    such as ``-5`` or ``+1.5e3`` excepted), and in front of a text that itself starts with ``'``.
    Every importer of ours (:func:`read_csv_rows`) removes exactly one leading ``'`` where this rule
    added it, i.e. from a cell whose remainder the rule would guard; any other ``'`` is data. So
    ``unguard(guard(s)) == s`` for every text ``s``: a note typed as ``'=1+1 was a joke`` comes back
    as typed. (In xlsx no ``'`` is added: text stays a string cell, see the exports.)

Reading (:func:`read_csv_rows`)
    UTF-8 with or without BOM (other encodings are refused, naming the one detected); the delimiter
    (comma, semicolon or TAB) is taken from the header row only; quotes follow RFC 4180 (no
    guessing); a malformed record, a surplus or a missing cell is an error naming the row, and
    nothing is returned. Cells are kept byte for byte except where the caller asks to trim.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Collection, Iterable
from typing import Any, TextIO

from annotate.errors import InputError

LINE_END = "\r\n"
DELIMITERS = (",", ";", "\t")
_GUARD_FROM = re.compile(r"^[\r\n\t ]*[=+\-@]")
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}


class CsvFormatError(InputError):
    """An uploaded CSV cannot be read as a table; the message names the file and what to fix."""


# ---------------------------------------------------------------- numbers and the neutralisation rule


def format_number(value: float | int) -> str:
    """A number as the shortest text that reads back to the same float (Python's ``repr``), whole
    numbers without ``.0``.

    Examples
    --------
    >>> format_number(3.0), format_number(7), format_number(0.1 + 0.2), format_number(1e22), format_number(-0.0)
    ('3', '7', '0.30000000000000004', '1e+22', '-0')
    >>> all(float(format_number(x)) == x for x in (1/3, 2.5e-300, 123456789.123, 60.0))
    True
    """
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isfinite(value) and value.is_integer() and abs(value) < 1e16:
        return "-0" if value == 0 and math.copysign(1.0, value) < 0 else str(int(value))
    return repr(value)


def needs_guard(text: str) -> bool:
    """Whether the neutralisation rule puts a ``'`` in front of ``text`` (module docstring).

    Examples
    --------
    >>> [needs_guard(t) for t in ("=1+1", " \\t@x", "-5", "-5 apples", "'quoted", "ok", "", "＝1")]
    [True, True, False, True, True, False, False, False]
    """
    if text.startswith("'"):
        return True
    return bool(_GUARD_FROM.match(text)) and not _NUMBER.match(text)


def guard(text: str) -> str:
    """``text`` neutralised for a spreadsheet by the rule in the module docstring.

    Examples
    --------
    >>> guard("=HYPERLINK(1)"), guard("-3"), guard("'=1+1 was a joke"), guard("fine")
    ("'=HYPERLINK(1)", '-3', "''=1+1 was a joke", 'fine')
    """
    return "'" + text if needs_guard(text) else text


def unguard(text: str) -> str:
    """Remove the one ``'`` that :func:`guard` added; any other text is returned unchanged.

    Examples
    --------
    >>> unguard("'=HYPERLINK(1)"), unguard("''=1+1 was a joke"), unguard("'tis"), unguard("-3")
    ('=HYPERLINK(1)', "'=1+1 was a joke", "'tis", '-3')
    """
    if text.startswith("'") and needs_guard(text[1:]):
        return text[1:]
    return text


def safe_cell(value: object) -> object:
    """A CSV cell value with text neutralised (:func:`guard`); other values unchanged.

    Examples
    --------
    >>> safe_cell("=HYPERLINK(1)"), safe_cell("-3"), safe_cell(-3), safe_cell("ok")
    ("'=HYPERLINK(1)", '-3', -3, 'ok')
    """
    if isinstance(value, str):
        return guard(value)
    return value


# ---------------------------------------------------------------- writing


def csv_writer(out: TextIO, delimiter: str = ",") -> Any:
    """Python's C writer set up for RFC 4180 (CRLF, minimal quoting, doubled quotes).

    With CRLF as the terminator the writer quotes any field holding CR or LF, not only LF.

    Examples
    --------
    >>> buf = io.StringIO()
    >>> _ = csv_writer(buf).writerow(["fine\\r=1+2", 'say "hi" now', "a,b", "plain"])
    >>> buf.getvalue()
    '"fine\\r=1+2","say ""hi"" now","a,b",plain\\r\\n'
    """
    return csv.writer(out, delimiter=delimiter, quotechar='"', doublequote=True, lineterminator=LINE_END)


def text_row(values: Iterable[object]) -> list[str]:
    """One record's cells as CSV text: None empty, numbers at full precision, text neutralised."""
    out = []
    for v in values:
        if v is None:
            out.append("")
        elif isinstance(v, str):
            out.append(guard(v))
        elif isinstance(v, float | int):
            out.append(format_number(v))
        else:
            out.append(guard(str(v)))
    return out


def write_rows(out: TextIO, header: list[str], rows: Iterable[Iterable[object]]) -> int:
    """Write a header and rows (through :func:`text_row`); returns the number of data rows."""
    w = csv_writer(out)
    w.writerow(header)
    n = 0
    for row in rows:
        w.writerow(text_row(row))
        n += 1
    return n


def csv_text(header: list[str], rows: Iterable[Iterable[object]]) -> str:
    """:func:`write_rows` into a string.

    Examples
    --------
    >>> print(csv_text(["note", "value"], [["=1", 2.5], ["two lines", None]]).replace("\\r\\n", "|"))
    note,value|'=1,2.5|two lines,|
    """
    buf = io.StringIO()
    write_rows(buf, header, rows)
    return buf.getvalue()


# ---------------------------------------------------------------- reading


def _decode(data: bytes | str, what: str) -> str:
    if isinstance(data, str):
        return data[1:] if data.startswith("\ufeff") else data
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CsvFormatError(f"{what}: the file is UTF-16; save it as CSV UTF-8 and import it again.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        try:
            data.decode("cp1252")
            seen = "Windows-1252 (Excel's plain 'CSV')"
        except UnicodeDecodeError:
            seen = "not UTF-8"
        raise CsvFormatError(
            f"{what}: the file is {seen}, not UTF-8 (byte {exc.start + 1} cannot be read as UTF-8); "
            "save it as 'CSV UTF-8' and import it again."
        ) from None
    return text[1:] if text.startswith("\ufeff") else text


def _records(text: str, delimiter: str, what: str) -> list[list[str]]:
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=delimiter,
        quotechar='"',
        doublequote=True,
        skipinitialspace=False,
        strict=True,
    )
    records: list[list[str]] = []
    try:
        for rec in reader:
            records.append(rec)
    except csv.Error as exc:
        raise CsvFormatError(
            f"{what}: record {len(records) + 1} (line {reader.line_num}) is malformed: {exc}. A cell holding "
            'a quote, a line break or the delimiter must be in double quotes, with its quotes doubled ("").'
        ) from None
    return records


def _header_delimiter(text: str, what: str) -> str:
    """The delimiter of the header row: the one of comma, semicolon, TAB that splits it into most cells."""
    best, cells = ",", 1
    for d in DELIMITERS:
        try:
            first = next(csv.reader(io.StringIO(text, newline=""), delimiter=d, strict=True), [])
        except csv.Error:
            continue
        if len(first) > cells:
            best, cells = d, len(first)
    return best


def read_csv_rows(
    data: bytes | str,
    what: str,
    required: list[str],
    *,
    verbatim: Collection[str] | bool = (),
) -> list[dict[str, str]]:
    """Parse CSV into dicts keyed by lower-cased, trimmed header names; check required columns.

    Rules in the module docstring. Each cell has our neutralising ``'`` removed (:func:`unguard`).
    Cells are trimmed of surrounding whitespace except in the columns named in ``verbatim``
    (``True``: every column), which are kept byte for byte. A blank record gives ``{}`` (callers
    skip it; the row numbers of later rows stay those a spreadsheet shows, header = row 1).

    Examples
    --------
    >>> read_csv_rows("Participant,Arm\\nP1,A\\n", "participants", ["participant", "arm"])
    [{'participant': 'P1', 'arm': 'A'}]
    >>> read_csv_rows('note;n\\r\\n"Mother said ""stop"", then smiled";1\\r\\n', "x", [], verbatim=["note"])
    [{'note': 'Mother said "stop", then smiled', 'n': '1'}]
    """
    text = _decode(data, what)
    if not text.strip():
        raise CsvFormatError(f"{what}: the file is empty; it needs a header row and data rows.")
    delimiter = _header_delimiter(text, what)
    records = _records(text, delimiter, what)
    header = records[0]
    names = [h.strip().lower() for h in header]
    missing = [c for c in required if c not in names]
    if missing:
        raise CsvFormatError(
            f"{what}: missing column(s) {', '.join(missing)}; the header row has "
            f"{', '.join(repr(n) for n in names) or 'no columns'}."
        )
    dupes = sorted({n for n in names if names.count(n) > 1 and n})
    if dupes:
        raise CsvFormatError(f"{what}: column(s) {', '.join(dupes)} appear more than once.")
    keep_all = verbatim is True
    keep = set() if isinstance(verbatim, bool) else {v.lower() for v in verbatim}
    rows: list[dict[str, str]] = []
    bad: list[str] = []
    for number, raw in enumerate(records[1:], start=2):
        if not raw or (len(raw) != len(names) and not any(cell.strip() for cell in raw)):
            rows.append({})  # a blank line
            continue
        if len(raw) != len(names):
            kind = "more" if len(raw) > len(names) else "fewer"
            bad.append(f"row {number} has {len(raw)} cells, {kind} than the {len(names)} columns of the header")
            continue
        if not any(cell.strip() for cell in raw):
            rows.append({})
            continue
        rows.append(
            {n: unguard(cell if keep_all or n in keep else cell.strip()) for n, cell in zip(names, raw, strict=True)}
        )
    if bad:
        shown = "; ".join(bad[:20]) + (f"; and {len(bad) - 20} more" if len(bad) > 20 else "")
        raise CsvFormatError(
            f"{what} ({_DELIMITER_NAMES[delimiter]}-separated, from the header): {shown}. Nothing was imported; "
            "put cells holding the delimiter in double quotes and import the file again."
        )
    return rows
