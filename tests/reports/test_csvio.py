"""The CSV writer and reader: RFC 4180 records, the reversible neutralisation rule, full-precision
numbers; checked against independent readers (pandas, Python's csv module)."""

from __future__ import annotations

import csv
import io
import math
import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotate.reports.csvio import (
    CsvFormatError,
    csv_text,
    format_number,
    guard,
    needs_guard,
    read_csv_rows,
    text_row,
    unguard,
)

PROFILE = settings(max_examples=150, derandomize=True, deadline=None)
ADVERSARIAL = [
    "fine\r=1+2",
    "a\r\nb",
    "a\nb",
    "\r",
    "\n",
    "\t=1",
    "  leading and trailing  ",
    'Mother said "stop", then smiled',
    '""',
    '"',
    "a,b;c\td",
    "=1+1",
    "+1",
    "-3",
    "-3 apples",
    "@SUM(A1)",
    "'=1+1 was a joke",
    "'",
    "''",
    "'tis",
    "＝1+1",
    "日本語のメモ",
    "مرحبا",
    "😀👶🏽👨‍👩‍👧",
    "x" * 10_000,
    "",
    " ",
]
# Any text a person can type or paste: every code point but surrogates (not valid UTF-8 alone).
TEXT = st.one_of(
    st.sampled_from(ADVERSARIAL),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=200),
    st.text(st.sampled_from(list("\r\n\t \"',;=+-@'a＝😀")), max_size=40),
    st.builds(lambda s, n: (s or "x") * n, st.text(max_size=5), st.integers(1, 2000)),
)
FLOATS = st.floats(allow_nan=False, allow_infinity=False)


# ---------------------------------------------------------------- the four findings, as examples


def test_bare_cr_is_quoted_so_the_record_stays_one_row():
    text = csv_text(["film", "note"], [["K7M2QX", "fine\r=1+2"]])
    assert text == 'film,note\r\nK7M2QX,"fine\r=1+2"\r\n'
    assert len(pd.read_csv(io.StringIO(text), dtype=str)) == 1
    assert list(csv.reader(io.StringIO(text, newline=""))) == [["film", "note"], ["K7M2QX", "fine\r=1+2"]]


def test_quoted_note_past_the_first_4kb_is_read_exactly():
    plain = "".join(f"CODE{i},{i},plain note {i}\r\n" for i in range(300))
    assert len(plain) > 4096
    data = "film,segment,note\r\n" + plain + 'CODE9,1,"Mother said ""stop"", then smiled"\r\n'
    rows = read_csv_rows(data, "Ratings file", ["film"], verbatim=["note"])
    assert rows[-1] == {"film": "CODE9", "segment": "1", "note": 'Mother said "stop", then smiled'}


def test_doubled_quotes_in_an_id_do_not_shift_columns():
    rows = read_csv_rows('participant,arm\r\n"P""1",A\r\nP2,B\r\n', "Participants file", ["participant", "arm"])
    assert rows == [{"participant": 'P"1', "arm": "A"}, {"participant": "P2", "arm": "B"}]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("a,b\r\n1,2\r\n1,2,3\r\n", r"row 3 has 3 cells, more than the 2 columns"),
        ("a,b\r\n1\r\n", r"row 2 has 1 cells, fewer than the 2 columns"),
        ('a,b\r\n1,"x"y\r\n', r"record 2 .*malformed"),
        ('a,b\r\n1,"never closed\r\n', r"malformed"),
    ],
)
def test_surplus_missing_and_malformed_cells_are_refused_naming_the_row(data, message):
    with pytest.raises(CsvFormatError, match=message):
        read_csv_rows(data, "Ratings file", ["a"])


def test_delimiter_comes_from_the_header_only():
    rows = read_csv_rows("film;note\r\nK1;a, b, c\r\n", "x", [], verbatim=True)
    assert rows == [{"film": "K1", "note": "a, b, c"}]
    rows = read_csv_rows("film\tnote\nK1\tsemi;colon, comma\n", "x", [], verbatim=True)
    assert rows == [{"film": "K1", "note": "semi;colon, comma"}]
    # a comma header with semicolons in the data is still comma-separated
    assert read_csv_rows("film,note\nK1,a;b;c;d\n", "x", [], verbatim=True) == [{"film": "K1", "note": "a;b;c;d"}]


def test_encodings_utf8_with_or_without_bom_others_refused_by_name():
    assert read_csv_rows("\ufeffa,b\n1,é\n".encode(), "x", ["a"]) == [{"a": "1", "b": "é"}]
    assert read_csv_rows("a,b\n1,é\n".encode(), "x", ["a"]) == [{"a": "1", "b": "é"}]
    with pytest.raises(CsvFormatError, match=r"Windows-1252.*not UTF-8"):
        read_csv_rows("a,b\n1,é\n".encode("cp1252"), "Ratings file", ["a"])
    with pytest.raises(CsvFormatError, match="UTF-16"):
        read_csv_rows("a,b\n1,2\n".encode("utf-16"), "Ratings file", ["a"])


def test_whitespace_is_kept_in_verbatim_columns_and_trimmed_in_others():
    data = 'film,note\r\n  K1  ,"  two\tspaces  "\r\n'
    assert read_csv_rows(data, "x", [], verbatim=["note"]) == [{"film": "K1", "note": "  two\tspaces  "}]


def test_neutralisation_examples_of_the_rule():
    assert [guard(t) for t in ("=1", "\r\n =1", "-5", "+1.5e3", "-5 apples", "'x", "＝1", "ok")] == [
        "'=1",
        "'\r\n =1",
        "-5",
        "+1.5e3",
        "'-5 apples",
        "''x",
        "＝1",
        "ok",
    ]
    assert unguard("'x") == "'x"  # a quote our rule did not add is data
    assert unguard("''x") == "'x"


def test_numbers_at_full_precision():
    assert [format_number(v) for v in (3.0, 0.1 + 0.2, 1 / 3, 60.125, -0.0, 1e300)] == [
        "3",
        "0.30000000000000004",
        "0.3333333333333333",
        "60.125",
        "-0",
        "1e+300",
    ]
    assert text_row([None, 2.5, 7, "=x"]) == ["", "2.5", "7", "'=x"]


# ---------------------------------------------------------------- properties


@PROFILE
@given(TEXT)
def test_property_guard_is_reversed_exactly_and_makes_text_spreadsheet_safe(text):
    assert unguard(guard(text)) == text
    shown = guard(text)
    if re.match(r"[\r\n\t ]*[=+\-@]", text):  # a spreadsheet would run it: quoted unless a plain number
        assert shown.startswith("'") or re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", text)
    assert shown.startswith("'") == needs_guard(text)


@PROFILE
@given(st.lists(st.tuples(TEXT, TEXT, FLOATS), min_size=1, max_size=8))
def test_property_any_text_and_float_round_trip_through_writer_reader_and_independent_readers(rows):
    header = ["note", "participant", "value"]
    text = csv_text(header, rows)
    # ours: the same text back, and the same bytes when written again
    back = read_csv_rows(text, "x", header, verbatim=True)
    assert [(r["note"], r["participant"], float(r["value"])) for r in back] == rows
    assert csv_text(header, [(r["note"], r["participant"], float(r["value"])) for r in back]) == text
    # Python's csv module: one record per row, cells as written (guard included)
    recs = list(csv.reader(io.StringIO(text, newline="")))
    assert recs[1:] == [[guard(n), guard(p), format_number(v)] for n, p, v in rows]
    # pandas: the same records and exactly the same floats
    df = pd.read_csv(
        io.BytesIO(text.encode("utf-8")),
        dtype={"note": str, "participant": str},
        keep_default_na=False,
    )
    assert len(df) == len(rows)
    assert [unguard(n) for n in df["note"]] == [n for n, _, _ in rows]
    assert [unguard(p) for p in df["participant"]] == [p for _, p, _ in rows]
    assert [float(v) for v in df["value"]] == [v for _, _, v in rows]


@PROFILE
@given(FLOATS)
def test_property_every_float_reads_back_identically(x):
    s = format_number(x)
    assert float(s) == x and math.copysign(1, float(s)) == math.copysign(1, x)
    assert not needs_guard(s)  # numbers are never given a quote
