"""Speed of annotate's timing agreement (issue 19) against mir_eval's onset matching.

Data (seeded): 1,000 sessions of 600 s x 2 raters x 200 events each, in four groups like the
shipped ethogram: infant gaze (alternating states, 80 events), maternal touch (states, 40),
vocalisation (points, 60) and now moments (points, 20). The second rater's onsets are the
first's plus N(0, 0.4 s) noise, with 5% of events dropped and 5% spurious ones added.

Rows:

* full result: ``timing_agreement`` from the DataFrame (validation included) at w = 1 s, the
  curve at 0.25, 0.5, 1, 2, 3, 5 s, time-unit kappa at 0.1 s, 1,000 bootstrap resamples, then
  ``timing_json_text``;
* onset matching alone at one tolerance for every (session, group) problem: ours
  (``match_sorted_batch``, most pairs then least total |Δ|) against ``mir_eval.util.match_events``
  (most pairs only) called per problem; the pair counts must agree;
* the same with all 200 events of a session in one group (the worst case for the band).

Run: ``python bench/bench_timing.py`` (needs ``mir_eval`` in the venv).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import mir_eval
import numpy as np
import pandas as pd

from annotate.stats.timing import timing_agreement, timing_json_text
from annotate.stats.timing_input import read_timing_events
from annotate.stats.timing_match import match_sorted_batch
from annotate.stats.timing_tables import pair_problems

N_SESSIONS, LENGTH, SEED, N_RESAMPLES = 1000, 600.0, 2024, 1000
GROUPS = (  # (group, codes, kind, events per rater and session)
    ("infant_gaze", ("gaze_parent", "gaze_away"), "alternating", 80),
    ("maternal_touch", ("touch_affectionate", "touch_functional"), "state", 40),
    ("vocalisation", ("vocal_infant", "vocal_parent"), "point", 60),
    ("now_moment", ("now_moment",), "point", 20),
)


def make_events(single_group: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    parts = []
    for group, codes, kind, n in GROUPS:
        onset = np.sort(rng.uniform(0, LENGTH - 5, (N_SESSIONS, n)), axis=1)
        if kind == "alternating":
            code = np.tile(np.arange(n) % 2, (N_SESSIONS, 1))
            offset = np.concatenate([onset[:, 1:], np.full((N_SESSIONS, 1), LENGTH)], axis=1)
        else:
            code = rng.integers(0, len(codes), (N_SESSIONS, n))
            offset = onset + rng.uniform(0.5, 4, (N_SESSIONS, n)) if kind == "state" else np.full_like(onset, np.nan)
        session = np.repeat(np.arange(N_SESSIONS), n)
        for rater in ("r1", "r2"):
            on, off, keep = onset.ravel(), offset.ravel(), np.ones(onset.size, dtype=bool)
            if rater == "r2":
                noise = rng.normal(0, 0.4, on.size)
                on = np.clip(on + noise, 0, LENGTH - 1)
                off = np.where(
                    np.isnan(off), np.nan, np.clip(np.maximum(off + rng.normal(0, 0.4, on.size), on), 0, LENGTH)
                )
                keep = rng.random(on.size) > 0.05
                extra = rng.random(on.size) < 0.05
                extra_on = rng.uniform(0, LENGTH - 5, int(extra.sum()))
                extra_off = (
                    np.full(extra_on.size, np.nan)
                    if kind == "point"
                    else np.minimum(extra_on + rng.uniform(0.5, 4, extra_on.size), LENGTH)
                )
                parts.append(
                    pd.DataFrame(
                        {
                            "session": session[extra],
                            "rater": rater,
                            "group": group,
                            "code": np.asarray(codes, dtype=object)[code.ravel()[extra]],
                            "onset": extra_on,
                            "offset": extra_off,
                        }
                    )
                )
            parts.append(
                pd.DataFrame(
                    {
                        "session": session[keep],
                        "rater": rater,
                        "group": group,
                        "code": np.asarray(codes, dtype=object)[code.ravel()[keep]],
                        "onset": on[keep],
                        "offset": off[keep],
                    }
                )
            )
    frame = pd.concat(parts, ignore_index=True)
    frame["session"] = "s" + frame["session"].astype(str)
    frame["session_length"] = LENGTH
    if single_group:
        frame["group"] = "all"
    return frame


def seconds(fn: Callable[[], object], repeats: int = 3) -> float:
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return float(best)


def matching_rows(frame: pd.DataFrame, label: str, tolerance: float = 1.0) -> tuple[str, float, float, str]:
    table = read_timing_events(frame)
    problems = pair_problems(table)
    a, b = table.onset[problems.first_events], table.onset[problems.second_events]
    ours = seconds(lambda: match_sorted_batch(a, problems.first_ptr, b, problems.second_ptr, tolerance))
    ia, _ = match_sorted_batch(a, problems.first_ptr, b, problems.second_ptr, tolerance)
    slices = [
        (a[problems.first_ptr[p] : problems.first_ptr[p + 1]], b[problems.second_ptr[p] : problems.second_ptr[p + 1]])
        for p in range(problems.n_problems)
    ]
    counts: list[int] = []

    def peer() -> None:
        counts.clear()
        counts.extend(len(mir_eval.util.match_events(x, y, tolerance)) for x, y in slices)

    theirs = seconds(peer, repeats=1)
    same = "yes" if sum(counts) == ia.size else f"NO ({ia.size} vs {sum(counts)})"
    return f"onset matching w={tolerance:g} s, {label} ({problems.n_problems} problems)", ours, theirs, same


def main() -> None:
    frame = make_events()
    n_events = len(frame)
    rows: list[tuple[str, float, float | None, str]] = []

    def full() -> str:
        result = timing_agreement(frame, tolerance=1.0, unit=0.1, bootstrap=N_RESAMPLES, seed=1)
        return timing_json_text(result)

    rows.append(("full JSON: 4 groups, curve x6, time unit 0.1 s, 1000 bootstrap", seconds(full), None, "-"))
    rows.append(matching_rows(frame, "4 groups"))
    single = make_events(single_group=True)
    rows.append(matching_rows(single, "1 group of 200"))
    rows.append(
        (
            "full JSON, the same events in 1 group",
            seconds(
                lambda: timing_json_text(timing_agreement(single, tolerance=1.0, bootstrap=N_RESAMPLES, seed=1)),
                repeats=1,
            ),
            None,
            "-",
        )
    )

    print(f"{N_SESSIONS} sessions x 2 raters x 200 events ({n_events} rows), {LENGTH:g} s sessions")
    print(f"{'task':<72}{'ours s':>9}{'mir_eval s':>12}{'ratio':>8}  same pairs")
    for name, ours, peer, same in rows:
        ratio = f"{peer / ours:7.1f}x" if peer is not None else "       -"
        peer_text = f"{peer:12.3f}" if peer is not None else f"{'-':>12}"
        print(f"{name:<72}{ours:9.3f}{peer_text}{ratio}  {same}")


if __name__ == "__main__":
    main()
