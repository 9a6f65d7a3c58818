"""timing_agreement and timing_json: hand-worked tables, the JSON contract, bootstrap, summaries."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest

from annotate.stats.timing import timing_agreement, timing_json, timing_json_text
from annotate.stats.timing_input import TimingInputError, read_timing_events
from annotate.stats.timing_summary import arm_summaries, code_summaries

COLUMNS = ["session", "rater", "group", "code", "onset", "offset"]


def frame(rows: Sequence[tuple[object, ...]], length: float | None = None) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=COLUMNS)
    if length is not None:
        out["session_length"] = length
    return out


def test_event_table_by_hand() -> None:
    # gaze group, codes look/away; second rater misses one look and adds one away; 20 s session
    rows = [
        ("s1", "ann", "gaze", "look", 1.0, 3.0),
        ("s1", "ann", "gaze", "away", 3.0, 6.0),
        ("s1", "ann", "gaze", "look", 6.0, 9.0),
        ("s1", "ben", "gaze", "look", 1.4, 3.2),
        ("s1", "ben", "gaze", "look", 3.3, 6.5),
        ("s1", "ben", "gaze", "away", 12.0, 14.0),
    ]
    ev = timing_agreement(frame(rows, 20.0), tolerance=0.5, curve=()).groups["gaze"].event
    # pairs: (look 1.0, look 1.4), (away 3.0, look 3.3); ann's look 6.0 and ben's away 12 unmatched
    # codes sort as away, look; none-none = floor(20 / 1) - 2 pairs - 2 unmatched = 16
    assert ev.table.labels == ("away", "look", "none")
    assert ev.table.counts == ((0, 1, 0), (0, 1, 1), (1, 0, 16))
    assert (ev.n_matched, ev.n_unmatched) == (2, (1, 1))
    po, pe = 17 / 20, (1 * 1 + 2 * 2 + 17 * 17) / 400
    assert ev.table.po == pytest.approx(po) and ev.table.kappa == pytest.approx((po - pe) / (1 - pe))
    assert ev.f1.per_code == {"away": 0.0, "look": 0.5} and ev.f1.pooled == pytest.approx(2 / 6)
    assert ev.onset_diff.median == pytest.approx(0.35) and ev.onset_diff.p90 == pytest.approx(0.39)
    assert ev.offset_diff.median == pytest.approx(0.35)  # |3.2 - 3| and |6.5 - 6| over state pairs


def test_time_unit_rules_midpoint_points_and_combined_codes() -> None:
    rows = [
        ("s1", "a", "g", "x", 0.25, 0.75),  # covers unit 0 (midpoint 0.5), not unit... u = 1
        ("s1", "a", "g", "y", 0.0, 2.0),  # units 0 and 1
        ("s1", "a", "g", "p", 2.9, None),  # point: unit 2
        ("s1", "b", "g", "y", 0.6, 2.0),  # onset after unit 0's midpoint: unit 1 only
        ("s1", "b", "g", "p", 3.0, None),  # unit 3
    ]
    tu = timing_agreement(frame(rows, 4.0), tolerance=1.0, unit=1.0, curve=()).groups["g"].time_unit
    # a: [x+y, y, p, none]; b: [none, y, none, p]  -> agreement in 1 of 4 units
    assert tu.n_units == 4 and tu.po == pytest.approx(0.25)
    pe = (1 * 0 + 1 * 1 + 1 * 1 + 1 * 2) / 16  # x+y:1/0, y:1/1, p:1/1, none:1/2
    assert tu.pe == pytest.approx(pe) and tu.kappa == pytest.approx((0.25 - pe) / (1 - pe))


def test_grid_boundaries_snap_to_what_was_written() -> None:
    # state from 0.35 (midpoint of unit 3) to 0.45 (midpoint of unit 4): covers unit 3 only
    rows = [("s", "a", "g", "x", 0.35, 0.45), ("s", "b", "g", "x", 0.35, 0.45)]
    tu = timing_agreement(frame(rows, 1.0), 0.5, unit=0.1, curve=()).groups["g"].time_unit
    assert tu.n_units == 10 and tu.po == 1.0 and tu.kappa == 1.0


def test_three_raters_give_three_pairs_first_in_text_order() -> None:
    rows = [("s", r, "g", "x", 1.0 + d, None) for r, d in (("c", 0.0), ("a", 0.1), ("b", 5.0))]
    result = timing_agreement(frame(rows, 10.0), tolerance=1.0, curve=())
    ev = result.groups["g"].event
    # pairs (a,b), (a,c), (b,c): matched 1 (a-c); a-b and b-c leave two lone events each
    assert ev.n_matched == 1 and ev.n_unmatched == (2, 2)
    assert result.n_sessions == 1


def test_sessions_with_one_rater_are_left_out() -> None:
    rows = [("s1", "a", "g", "x", 1.0, None), ("s1", "b", "g", "x", 1.0, None), ("s2", "a", "g", "x", 1.0, None)]
    result = timing_agreement(frame(rows, 10.0), 1.0, curve=())
    assert result.n_sessions == 1 and result.groups["g"].event.n_unmatched == (0, 0)


def test_groups_absent_means_each_code_is_its_own_group() -> None:
    data = pd.DataFrame(
        {
            "session": "s",
            "rater": ["a", "b", "a"],
            "code": ["x", "x", "y"],
            "onset": [1.0, 1.1, 5.0],
            "offset": None,
            "session_length": 10.0,
        }
    )
    result = timing_agreement(data, 0.5, curve=())
    assert list(result.groups) == ["x", "y"]
    assert result.groups["y"].event.n_unmatched == (1, 0)


def json_keys(value: object) -> object:
    if isinstance(value, dict):
        return {k: json_keys(v) for k, v in value.items()}
    return type(value).__name__


def test_json_has_exactly_the_contract_shape_and_no_nan() -> None:
    rows = [
        ("s1", "a", "g", "x", 1.0, 2.0),
        ("s1", "b", "g", "x", 1.2, 2.5),
        ("s1", "b", "g", "y", 5.0, None),
        ("s2", "a", "g", "x", 3.0, 4.0),
        ("s2", "b", "g", "x", 3.1, 4.0),
    ]
    out = timing_json(timing_agreement(frame(rows, 10.0), 0.5, boris_interval=1.0, bootstrap=50, seed=3))
    assert set(out) == {"tolerance", "unit", "n_sessions", "groups"}
    g = out["groups"]["g"]
    assert set(g) == {"codes", "event", "time_unit", "curve", "boris_grid"}
    assert set(g["event"]) == {
        "kappa",
        "po",
        "pe",
        "n_matched",
        "n_unmatched",
        "table",
        "onset_diff",
        "offset_diff",
        "f1",
        "f1_all",
        "ci95",
    }
    assert set(g["event"]["table"]) == {"labels", "counts"} and g["event"]["table"]["labels"] == ["x", "y", "none"]
    assert set(g["event"]["onset_diff"]) == set(g["event"]["offset_diff"]) == {"median", "p90"}
    assert set(g["time_unit"]) == {"kappa", "po", "pe", "n_units", "ci95"}
    assert [set(p) for p in g["curve"]] == [{"tolerance", "kappa", "f1"}] * 6
    assert set(g["boris_grid"]) == {"interval", "kappa"}
    assert g["event"]["f1"]["y"] == 0.0 and len(g["event"]["ci95"]) == 2
    assert g["time_unit"]["n_units"] == 200 and out["n_sessions"] == 2
    text = timing_json_text(timing_agreement(frame(rows, 10.0), 0.5))
    assert "NaN" not in text and "boris_grid" not in text
    assert json.loads(text)["groups"]["g"]["event"]["ci95"] is None


def test_undefined_values_are_none_with_a_note() -> None:
    rows = [("s", "a", "g", "x", 0.0, 10.0), ("s", "b", "g", "x", 0.0, 10.0)]
    g = timing_agreement(frame(rows), 5.0, curve=()).groups["g"]
    assert g.event.kappa is None and g.event.table.note is not None and "chance agreement is 1" in g.event.table.note
    assert g.time_unit.kappa is None and g.time_unit.note is not None
    assert timing_json(timing_agreement(frame(rows), 5.0, curve=()))["groups"]["g"]["event"]["kappa"] is None
    point_rows = [("s", "a", "g", "x", 1.0, None), ("s", "b", "g", "x", 1.0, None)]
    spread = timing_agreement(frame(point_rows, 10.0), 1.0, curve=()).groups["g"].event.offset_diff
    assert spread.median is None and spread.note == "no matched pairs of two states"


def test_bootstrap_is_seeded_and_brackets_the_estimate() -> None:
    rng = np.random.default_rng(5)
    rows = []
    for s in range(30):
        times = np.sort(rng.uniform(0, 60, 12))
        for t in times:
            rows.append((f"s{s}", "a", "g", "x", float(t), None))
            if rng.random() < 0.85:
                rows.append((f"s{s}", "b", "g", "x", float(t + rng.normal(0, 0.3)) if t > 1 else float(t), None))
    data = frame(rows, 62.0)
    one = timing_agreement(data, 0.5, bootstrap=300, seed=42)
    two = timing_agreement(data, 0.5, bootstrap=300, seed=42)
    ev = one.groups["g"].event
    assert ev.ci95 == two.groups["g"].event.ci95
    assert ev.ci95 is not None and ev.ci95.low is not None and ev.ci95.high is not None and ev.kappa is not None
    assert ev.ci95.low <= ev.kappa <= ev.ci95.high and ev.ci95.n_valid == 300
    tu = one.groups["g"].time_unit
    assert tu.ci95 is not None and tu.ci95.low is not None and tu.ci95.high is not None and tu.kappa is not None
    assert tu.ci95.low <= tu.kappa <= tu.ci95.high


def test_parameters_are_checked() -> None:
    rows = [("s", "a", "g", "x", 1.0, None), ("s", "b", "g", "x", 1.0, None)]
    for kwargs, fragment in [
        ({"tolerance": 0}, "tolerance must be a positive"),
        ({"tolerance": 1, "unit": -1}, "unit must be"),
        ({"tolerance": 1, "curve": (1, math.nan)}, "each curve tolerance"),
        ({"tolerance": 1, "bootstrap": -5}, "bootstrap must be"),
        ({"tolerance": 1, "seed": 1.5}, "seed must be"),
    ]:
        with pytest.raises(TimingInputError, match=fragment):
            timing_agreement(frame(rows, 5.0), **kwargs)  # type: ignore[arg-type]


def test_accepts_a_csv_path_and_an_event_table(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rows = [("s", "a", "g", "x", 1.0, None), ("s", "b", "g", "x", 1.2, None)]
    path = tmp_path / "e.csv"
    frame(rows, 5.0).to_csv(path, index=False)
    from_path = timing_json(timing_agreement(str(path), 0.5))
    from_table = timing_json(timing_agreement(read_timing_events(frame(rows, 5.0)), 0.5))
    assert from_path == from_table


def test_code_and_arm_summaries() -> None:
    rows = [
        ("s1", "a", "gaze", "look", 0.0, 30.0),
        ("s1", "a", "gaze", "look", 20.0, 40.0),
        ("s1", "a", "voc", "coo", 5.0, None),
        ("s1", "b", "voc", "coo", 6.0, None),
        ("s2", "a", "gaze", "look", 0.0, 60.0),
        ("s2", "b", "voc", "coo", 1.0, None),
    ]
    table = read_timing_events(frame(rows, 120.0))
    rows_out = {(r.session, r.rater, r.code): r for r in code_summaries(table)}
    look = rows_out[("s1", "a", "look")]
    assert look.share_of_time == pytest.approx(40 / 120)  # union of 0-30 and 20-40
    assert look.mean_bout_s == 25.0 and look.rate_per_min == 1.0
    assert rows_out[("s1", "b", "look")].n_events == 0 and rows_out[("s1", "b", "look")].mean_bout_s is None
    arms = {(r.arm, r.code): r for r in arm_summaries(code_summaries(table), {"s1": "ctl", "s2": "vipp"})}
    # s1: raters a (2 bouts/2 min) and b (0) average to 0.5 per min
    assert arms[("ctl", "look")].rate_per_min == pytest.approx(0.5)
    assert arms[("vipp", "look")].share_of_time == pytest.approx(0.25)
    with pytest.raises(TimingInputError, match="no arm given for session"):
        arm_summaries(code_summaries(table), {"s1": "ctl"})
