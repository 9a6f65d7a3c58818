"""Validation of the timing-agreement events table: every bad input names its row or column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from annotate.errors import InputError
from annotate.stats.timing_input import TimingInputError, read_timing_events

GOOD = """session,rater,code,onset,offset
s1,ann,gaze,1.0,4.0
s1,ben,gaze,1.2,4.1
s1,ann,smile,5,
s1,ben,smile,5.3,
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "events.csv"
    path.write_text(text, encoding="utf-8")
    return path


def problem(tmp_path: Path, text: str) -> str:
    with pytest.raises(TimingInputError) as info:
        read_timing_events(write(tmp_path, text))
    assert isinstance(info.value, InputError) and isinstance(info.value, ValueError)
    return str(info.value)


def test_good_csv_reads_with_kinds_from_offset_presence(tmp_path: Path) -> None:
    events = read_timing_events(write(tmp_path, GOOD))
    assert events.kinds == {("gaze", "gaze"): "state", ("smile", "smile"): "point"}
    assert events.session_length.tolist() == [5.3]
    assert events.double_coded == ("s1",)
    assert events.has_group_column is False


def test_missing_column_is_named(tmp_path: Path) -> None:
    message = problem(tmp_path, GOOD.replace("offset\n", "stop\n", 1))
    assert "missing column offset" in message and "'stop'" in message


def test_text_where_a_number_belongs_names_row_and_column(tmp_path: Path) -> None:
    message = problem(tmp_path, GOOD.replace("1.2,4.1", "1.2,four"))
    assert message == ("events table: row 3: offset 'four' is not a number; write seconds as a number such as 12.5")


def test_negative_onset_names_the_row(tmp_path: Path) -> None:
    assert "row 4: onset -5 is negative" in problem(tmp_path, GOOD.replace("s1,ann,smile,5,", "s1,ann,smile,-5,"))


def test_offset_before_onset_names_the_row(tmp_path: Path) -> None:
    assert "row 2: offset 0.5 is before onset 1" in problem(tmp_path, GOOD.replace("1.0,4.0", "1.0,0.5"))


def test_empty_onset_and_identifiers_are_named(tmp_path: Path) -> None:
    message = problem(tmp_path, GOOD.replace("s1,ben,gaze,1.2", ",ben,gaze,").replace("ann,smile", ",smile"))
    assert "row 3: session is empty" in message
    assert "row 3: onset is empty" in message
    assert "row 4: rater is empty" in message


def test_fewer_than_two_raters_in_every_session(tmp_path: Path) -> None:
    text = GOOD.replace("s1,ben,gaze", "s2,ben,gaze").replace("s1,ben,smile", "s2,ben,smile")
    message = problem(tmp_path, text)
    assert "no session is coded by two or more raters" in message and "'s1', 's2'" in message


def test_code_used_as_point_and_state_names_both_rows(tmp_path: Path) -> None:
    message = problem(tmp_path, GOOD.replace("s1,ben,smile,5.3,", "s1,ben,smile,5.3,6"))
    assert "row 4: code 'smile' has no offset (a point event) but row 5 gives it one (a state)" in message


def test_reserved_code_none(tmp_path: Path) -> None:
    assert "code 'none' is reserved" in problem(tmp_path, GOOD.replace("ann,smile", "ann,none"))


def test_session_length_checks(tmp_path: Path) -> None:
    text = GOOD.replace("onset,offset\n", "onset,offset,session_length\n")
    lines = text.splitlines()
    with_len = "\n".join([lines[0]] + [line + ",60" for line in lines[1:]]) + "\n"
    assert read_timing_events(write(tmp_path, with_len)).session_length.tolist() == [60.0]
    varying = with_len.replace("1.2,4.1,60", "1.2,4.1,61")
    assert "row 3: session_length 61 differs from 60 in row 2" in problem(tmp_path, varying)
    short = with_len.replace(",60", ",5")
    assert "row 3: event ends" not in problem(tmp_path, short)
    assert "row 5: event ends at 5.3 s, after the end of session 's1' (session_length 5)" in problem(tmp_path, short)
    assert "row 2: session_length 'x' is not a number" in problem(tmp_path, with_len.replace("4.0,60", "4.0,x"))


def test_all_problems_are_reported_together_in_row_order(tmp_path: Path) -> None:
    text = GOOD.replace("1.0,4.0", "x,4.0").replace("5,\n", "-1,\n", 1)
    message = problem(tmp_path, text)
    assert message.startswith("events table: 2 problems:\n  row 2: onset 'x'")
    assert message.index("row 2:") < message.index("row 4:")


def test_dataframe_rows_are_numbered_like_a_spreadsheet() -> None:
    frame = pd.DataFrame(
        {
            "Session ": ["s1", "s1"],
            "RATER": ["a", "b"],
            "code": ["x", "x"],
            "onset": [1.0, np.inf],
            "offset": [None, None],
        }
    )
    with pytest.raises(TimingInputError, match=r"row 3: onset must be a finite number"):
        read_timing_events(frame)


def test_group_column_and_sorting_make_row_order_irrelevant(tmp_path: Path) -> None:
    frame = pd.read_csv(write(tmp_path, GOOD))
    frame["group"] = ["g1", "g1", "g2", "g2"]
    a = read_timing_events(frame)
    b = read_timing_events(frame.iloc[::-1].reset_index(drop=True))
    assert a.groups == ("g1", "g2") and a.codes == {"g1": ("gaze",), "g2": ("smile",)}
    for field in ("session_idx", "rater_idx", "group_idx", "code_idx", "onset"):
        assert np.array_equal(getattr(a, field), getattr(b, field))
    assert np.array_equal(a.offset, b.offset, equal_nan=True)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(TimingInputError, match="events file not found"):
        read_timing_events(tmp_path / "missing.csv")
