"""Published values reproduced by the timing-agreement code.

* BORIS issue #228 (github.com/olivierfriard/BORIS/issues/228, 2019): "move" onsets of two
  students, 155.105 169.855 264.855 and 156.405 170.852 264.606; BORIS's grid kappa is -0.038
  at a 2 s interval and 1 at 3 s. The user's expectation there (all three pairs match within
  2 s) is what the event-based kappa does.
* BORIS's own test suite (``tests/test_irr.py`` on ``tests/files/test.boris``): six kappas of
  the classic ``cohen_kappa`` on states and points at 1 s and 3 s. The events of the three
  observations are transcribed in ``fixtures/boris_test_irr_events.json``.
* mir_eval's onset regression fixtures (``tests/data/onset``): F-measure at the default
  +-50 ms window for ten reference/estimate pairs. For a one-code group our pooled F1,
  ``2 TP / (events of both)``, is that F-measure. Copied (MIT licence) into
  ``fixtures/mir_eval_onset_cases.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from annotate.stats.timing import timing_agreement
from annotate.stats.timing_boris import GridEvent, boris_grid_counts, boris_grid_kappa
from annotate.stats.timing_match import match_onsets

STUDENT_A = (155.105, 169.855, 264.855)
STUDENT_B = (156.405, 170.852, 264.606)
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def frame_228() -> pd.DataFrame:
    rows = [("obs", "A", "move", t, None) for t in STUDENT_A] + [("obs", "B", "move", t, None) for t in STUDENT_B]
    return pd.DataFrame(rows, columns=["session", "rater", "code", "onset", "offset"])


@pytest.mark.parametrize(("interval", "published"), [(2.0, -0.038), (3.0, 1.0)])
def test_boris_228_grid_kappa(interval: float, published: float) -> None:
    grid = timing_agreement(frame_228(), tolerance=1.0, curve=(), boris_interval=interval).groups["move"].boris_grid
    assert grid is not None and grid.kappa is not None
    assert round(grid.kappa, 3) == published


def test_boris_228_event_matching_meets_the_users_expectation() -> None:
    assert match_onsets(STUDENT_A, STUDENT_B, 2.0).n_matched == 3
    m = match_onsets(STUDENT_A, STUDENT_B, 1.0)
    assert m.pairs == ((1, 1), (2, 2))  # 1.3 s apart is outside 1 s; 0.997 s and 0.249 s are inside
    result = timing_agreement(frame_228(), tolerance=2.0, curve=(1.0, 2.0, 3.0)).groups["move"]
    assert result.event.n_matched == 3 and result.event.table.counts[0][0] == 3
    assert result.event.onset_diff.median == pytest.approx(0.997)
    # curve: monotone in the tolerance, unlike the grid kappa
    assert [p.f1 for p in result.curve] == pytest.approx([2 / 3, 1.0, 1.0])


BORIS_SUITE = [  # (observation 1, observation 2, subjects, behaviours, interval, K in BORIS tests/test_irr.py)
    ("observation #1", "observation #1", ["subject1", "subject2"], ["s", "p"], 1.0, 1.0),
    ("observation #1", "observation #2", ["subject1", "subject2"], ["s"], 1.0, -0.036),
    ("observation #2", "observation #2 (copy)", ["No focal subject", "subject1", "subject2"], ["s"], 1.0, 0.988),
    ("observation #2", "observation #2 (copy)", ["No focal subject", "subject1", "subject2"], ["s"], 3.0, 1.0),
    ("observation #2", "observation #2 (copy)", ["No focal subject", "subject1", "subject2"], ["p"], 1.0, 0.866),
    ("observation #2", "observation #2 (copy)", ["No focal subject", "subject1", "subject2"], ["p"], 3.0, 0.798),
]


@pytest.mark.parametrize(("obs1", "obs2", "subjects", "behaviours", "interval", "published"), BORIS_SUITE)
def test_boris_own_test_suite(
    obs1: str, obs2: str, subjects: list[str], behaviours: list[str], interval: float, published: float
) -> None:
    project = json.loads((FIXTURES / "boris_test_irr_events.json").read_text())
    behaviours_conf = project["behaviors_conf"].values()
    kinds = {b["code"]: "point" if "point" in b["type"].lower() else "state" for b in behaviours_conf}

    def events(obs: str, subject: str) -> list[GridEvent]:
        rows = [
            e
            for e in project["observations"][obs]["events"]
            if (e[1] or "No focal subject") == subject and e[2] in behaviours
        ]
        out: list[GridEvent] = []
        for code in behaviours:
            times = sorted(float(e[0]) for e in rows if e[2] == code)
            if kinds[code] == "point":
                out += [(code, t, None) for t in times]
            else:  # BORIS pairs a state's events as start, stop, start, stop, ...
                out += [(code, times[i], times[i + 1]) for i in range(0, len(times), 2)]
        return out

    per_subject = {s: (events(obs1, s), events(obs2, s)) for s in subjects}
    every = [e for a, b in per_subject.values() for e in a + b]
    span = (min(e[1] for e in every), max(e[1] if e[2] is None else e[2] for e in every))
    total: dict[tuple[str, str], int] = {}
    for subject, (a, b) in per_subject.items():
        for (ca, cb), n in boris_grid_counts(a, b, interval, span).items():
            key = tuple(c if c == "none" else f"{subject}/{c}" for c in (ca, cb))
            total[(key[0], key[1])] = total.get((key[0], key[1]), 0) + n
    kappa = boris_grid_kappa(total, interval).kappa
    assert kappa is not None and round(kappa, 3) == published


@pytest.mark.parametrize("case", range(10))
def test_mir_eval_onset_fixtures(case: int) -> None:
    expected = json.loads((FIXTURES / "mir_eval_onset_cases.json").read_text())["cases"][case]
    ref, est = np.asarray(expected["ref"], float), np.asarray(expected["est"], float)
    frame = pd.DataFrame(
        {
            "session": "s",
            "rater": ["ref"] * ref.size + ["est"] * est.size,
            "code": "onset",
            "onset": np.concatenate([ref, est]),
            "offset": np.nan,
        }
    )
    result = timing_agreement(frame, tolerance=0.05, curve=()).groups["onset"].event
    assert result.f1.pooled == pytest.approx(expected["F-measure"], abs=1e-12)
