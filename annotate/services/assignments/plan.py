"""Planning who rates what: a pure function over plain data (no database), so it can be tested
on large synthetic studies and reproduced from its seed.

Rules (the trial's methods paragraph):

1. Every film gets one primary rater; all its segments go to that rater.
2. A planned share of segments (default 20%) also gets a second, independent rater. The share is
   drawn at random *within each arm x time point stratum*, so reliability does not come from one
   arm; whole films are drawn first and one film is split for the remainder, so each stratum's
   share is the target to within one segment.
3. Where feasible no rater sees two time points of one family (a child's growth gives the time
   point away). With R raters and T time points a family has R - T spare raters, so at most that
   many of its films are double-coded; families are chosen so this holds, and the plan reports
   any family for which it could not.
4. Loads (segments per rater, existing assignments included) are balanced by a local search that
   swaps raters' roles within a family, which never breaks rule 3.
5. Each rater's queue is shuffled so arms and time points interleave (no stratum twice in a row
   where another is available); primary and reliability items look the same to the rater.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

Stratum = tuple[str, str]  # (arm, time point)


@dataclass(frozen=True)
class FilmUnit:
    recording_id: int
    family: str
    arm: str
    timepoint: str
    segment_ids: tuple[int, ...]

    @property
    def stratum(self) -> Stratum:
        return (self.arm, self.timepoint)


@dataclass(frozen=True)
class ExistingState:
    """What earlier runs already assigned (extending must not disturb it)."""

    load: dict[int, int] = field(default_factory=dict)  # rater -> segments assigned
    family_timepoints: dict[tuple[str, int], set[str]] = field(default_factory=dict)  # (family, rater) -> tps
    reliability_segments: dict[Stratum, int] = field(default_factory=dict)
    stratum_segments: dict[Stratum, int] = field(default_factory=dict)  # already-assigned segments per stratum
    excluded: set[tuple[int, int]] = field(default_factory=set)  # (recording, rater): e.g. seen as calibration


@dataclass(frozen=True)
class PlannedItem:
    rater: int
    segment_id: int
    recording_id: int
    purpose: str  # primary | reliability
    stratum: Stratum


@dataclass(frozen=True)
class AssignmentPlan:
    items: list[PlannedItem]
    relaxed_families: list[str]  # families where one rater sees two time points (infeasible otherwise)
    share_by_stratum: dict[Stratum, float]  # double-coded share after this plan, existing included
    load: dict[int, int]  # final segments per rater

    def queue(self, rater: int) -> list[PlannedItem]:
        return [i for i in self.items if i.rater == rater]


@dataclass
class _Role:
    family: str
    timepoint: str
    recording_id: int
    segments: list[int]
    purpose: str
    primary_role: _Role | None = None  # for reliability roles: the film's primary role
    rater: int | None = None


def plan_assignments(
    films: Sequence[FilmUnit],
    raters: Sequence[int],
    *,
    share: float,
    seed: int,
    one_timepoint_per_family: bool = True,
    existing: ExistingState | None = None,
) -> AssignmentPlan:
    """Plan primary and reliability assignments for ``films`` (films not yet assigned).

    Examples
    --------
    >>> films = [FilmUnit(i, f"F{i // 2}", "A" if i % 4 < 2 else "B", f"t{i % 2}", (10 * i, 10 * i + 1))
    ...          for i in range(8)]
    >>> plan = plan_assignments(films, [1, 2, 3], share=0.25, seed=1)
    >>> sorted(plan.load.values())
    [6, 7, 7]
    >>> plan.share_by_stratum[("A", "t0")]
    0.25
    """
    if not raters:
        raise ValueError("Choose at least one rater.")
    if len(set(raters)) != len(raters):
        raise ValueError("A rater is listed twice.")
    if not 0 <= share <= 1:
        raise ValueError(f"The double-coded share must be between 0 and 1 (e.g. 0.2); got {share}.")
    if share > 0 and len(raters) < 2:
        raise ValueError("Double-coding needs at least two raters; add a rater or set the share to 0.")
    existing = existing or ExistingState()
    rng = random.Random(seed)
    films = sorted(films, key=lambda f: f.recording_id)
    raters = sorted(raters)
    by_family: dict[str, list[FilmUnit]] = defaultdict(list)
    for f in films:
        by_family[f.family if one_timepoint_per_family else f"{f.family}#{f.recording_id}"].append(f)

    chosen = _choose_reliability(films, raters, share, rng, existing, one_timepoint_per_family)
    roles = _make_roles(films, chosen, one_timepoint_per_family)
    load = {r: existing.load.get(r, 0) for r in raters}
    locks: dict[tuple[str, int], set[str]] = defaultdict(set)
    for (fam, r), tps in existing.family_timepoints.items():
        locks[(fam, r)] |= set(tps)
    relaxed: set[str] = set()
    families = sorted({r.family for r in roles})
    rng.shuffle(families)
    fam_roles = {fam: [r for r in roles if r.family == fam] for fam in families}
    for fam in sorted(families, key=lambda fm: -sum(len(r.segments) for r in fam_roles[fm])):
        for role in sorted(fam_roles[fam], key=lambda r: (r.purpose != "primary", -len(r.segments))):
            cands = [r for r in raters if _eligible(r, role, locks, one_timepoint_per_family, existing.excluded)]
            if not cands:
                relaxed.add(fam)
                cands = [
                    r
                    for r in raters
                    if (role.primary_role is None or r != role.primary_role.rater)
                    and (role.recording_id, r) not in existing.excluded
                ] or list(raters)
            best = min(load[c] for c in cands)
            role.rater = rng.choice([c for c in cands if load[c] == best])
            load[role.rater] += len(role.segments)
            locks[(fam, role.rater)].add(role.timepoint)
    _balance(fam_roles, raters, load, existing.family_timepoints, one_timepoint_per_family, existing.excluded)
    _fine_balance(roles, {f.recording_id: f for f in films}, raters, load, rng)

    items = [
        PlannedItem(_rater_of(role), sid, role.recording_id, role.purpose, _stratum_of(role, films))
        for role in roles
        for sid in role.segments
    ]
    shares = _shares(films, items, existing)
    real_relaxed = sorted({fam.split("#")[0] for fam in relaxed}) if one_timepoint_per_family else []
    return AssignmentPlan(items=items, relaxed_families=real_relaxed, share_by_stratum=shares, load=load)


def _rater_of(role: _Role) -> int:
    """The rater given to a role (every role has one once the raters are drawn)."""
    if role.rater is None:
        raise RuntimeError(f"the {role.purpose} role of recording {role.recording_id} has no rater yet")
    return role.rater


def _stratum_of(role: _Role, films: Sequence[FilmUnit]) -> Stratum:
    film = next(f for f in films if f.recording_id == role.recording_id)
    return film.stratum


def _choose_reliability(
    films: Sequence[FilmUnit],
    raters: Sequence[int],
    share: float,
    rng: random.Random,
    existing: ExistingState,
    one_tp: bool,
) -> dict[int, list[int]]:
    """recording id -> double-coded segment ids, per stratum to within one segment of the share."""
    strata: dict[Stratum, list[FilmUnit]] = defaultdict(list)
    for f in films:
        strata[f.stratum].append(f)
    need = {}
    for s, fs in strata.items():
        total = existing.stratum_segments.get(s, 0) + sum(len(f.segment_ids) for f in fs)
        # Half up, not Python's round-half-even: a stratum owed half a segment gets one.
        need[s] = max(0, math.floor(share * total + 0.5) - existing.reliability_segments.get(s, 0))
    n_tp = defaultdict(set)
    for f in films:
        n_tp[f.family].add(f.timepoint)
    for (fam, _r), tps in existing.family_timepoints.items():
        n_tp[fam] |= tps
    # Spare raters per family: how many of its films may be double-coded without a rater seeing
    # two of its time points. No spare at all means the rule cannot hold; then it is not applied.
    spare = {fam: (len(raters) - len(tps) if one_tp else len(raters)) for fam, tps in n_tp.items()}
    used: defaultdict[str, int] = defaultdict(int)
    pools = {s: rng.sample(fs, len(fs)) for s, fs in sorted(strata.items())}
    chosen: dict[int, list[int]] = {}
    order = sorted(pools)
    while any(need[s] > 0 and pools[s] for s in order):
        rng.shuffle(order)
        for s in order:
            if need[s] <= 0 or not pools[s]:
                continue
            # Prefer films of families with spare raters left; then the least-used family.
            pools[s].sort(key=lambda f: (spare[f.family] > 0 and used[f.family] >= spare[f.family], used[f.family]))
            film = pools[s].pop(0)
            segs = list(film.segment_ids)
            take = segs if len(segs) <= need[s] else sorted(rng.sample(segs, need[s]))
            chosen[film.recording_id] = take
            used[film.family] += 1
            need[s] -= len(take)
    return chosen


def _make_roles(films: Sequence[FilmUnit], chosen: dict[int, list[int]], one_tp: bool) -> list[_Role]:
    roles = []
    for f in films:
        fam = f.family if one_tp else f"{f.family}#{f.recording_id}"
        primary = _Role(fam, f.timepoint, f.recording_id, list(f.segment_ids), "primary")
        roles.append(primary)
        if chosen.get(f.recording_id):
            roles.append(_Role(fam, f.timepoint, f.recording_id, chosen[f.recording_id], "reliability", primary))
    return roles


def _eligible(rater: int, role: _Role, locks, one_tp: bool, excluded: set[tuple[int, int]]) -> bool:
    if role.primary_role is not None and role.primary_role.rater == rater:
        return False
    if (role.recording_id, rater) in excluded:
        return False
    if one_tp:
        tps = locks.get((role.family, rater), set())
        return not tps or tps == {role.timepoint}
    return True


def _balance(
    fam_roles: dict[str, list[_Role]],
    raters,
    load,
    existing_locks,
    one_tp,
    excluded=frozenset(),
    max_rounds: int = 20000,
) -> None:
    """Swap two raters' roles within a family until loads are within one segment (or no swap helps).

    A swap is a permutation of the family's raters, so "primary and second rater differ" and "one
    time point per rater" still hold after it; only locks from earlier runs need checking.
    """
    for _ in range(max_rounds):
        hi = max(raters, key=lambda r: (load[r], r))
        lo = min(raters, key=lambda r: (load[r], r))
        gap = load[hi] - load[lo]
        if gap <= 1:
            return
        best = None
        for fam, roles in fam_roles.items():
            delta = sum(len(r.segments) for r in roles if r.rater == hi) - sum(
                len(r.segments) for r in roles if r.rater == lo
            )
            if 0 < delta < gap and (best is None or abs(gap - 2 * delta) < abs(gap - 2 * best[1])):
                swapped_ok = not any(
                    (r.recording_id, lo if r.rater == hi else hi) in excluded for r in roles if r.rater in (hi, lo)
                )
                if swapped_ok and (not one_tp or _compatible_with_earlier(roles, hi, lo, existing_locks, fam)):
                    best = (fam, delta)
        if best is None:
            return
        fam, delta = best
        for r in fam_roles[fam]:
            r.rater = lo if r.rater == hi else hi if r.rater == lo else r.rater
        load[hi] -= delta
        load[lo] += delta


def _fine_balance(roles: list[_Role], film_of: dict[int, FilmUnit], raters, load, rng: random.Random) -> None:
    """Close what swaps cannot: move single double-coded segments between two second-rater chunks
    of the same stratum (one shrinks, one grows, so the stratum's share is unchanged), along a path
    of raters from the busiest to the least busy. Roles keep their raters, so rule 3 still holds."""
    rel = [r for r in roles if r.purpose == "reliability"]
    stratum = {id(r): film_of[r.recording_id].stratum for r in rel}
    for _ in range(10 * len(raters) * max(1, len(rel))):
        hi = max(raters, key=lambda r: (load[r], r))
        lo = min(raters, key=lambda r: (load[r], r))
        if load[hi] - load[lo] <= 1:
            return
        # Edges a -> b: a chunk of a can shrink while a chunk of b in the same stratum can grow.
        edges: dict[int, list[tuple[int, _Role, _Role]]] = defaultdict(list)
        for x in rel:
            if len(x.segments) <= 1:
                continue
            for y in rel:
                if (
                    y is not x
                    and y.rater != x.rater
                    and stratum[id(y)] == stratum[id(x)]
                    and len(y.segments) < len(film_of[y.recording_id].segment_ids)
                ):
                    edges[_rater_of(x)].append((_rater_of(y), x, y))
        path = _path(edges, hi, lo)
        if path is None:
            return
        for _a, x, y in path:
            x.segments.remove(rng.choice(x.segments))
            y.segments.append(rng.choice(sorted(set(film_of[y.recording_id].segment_ids) - set(y.segments))))
            y.segments.sort()
        load[hi] -= 1
        load[lo] += 1


def _path(edges, start: int, goal: int):
    """Breadth-first path of (rater, shrinking chunk, growing chunk) steps from start to goal."""
    prev: dict[int, tuple[int, _Role, _Role] | None] = {start: None}
    queue = [start]
    while queue:
        a = queue.pop(0)
        if a == goal:
            steps = []
            step = prev[a]
            while step is not None:
                steps.append(step)
                step = prev[step[0]]
            return list(reversed(steps))
        for b, x, y in edges.get(a, []):
            if b not in prev:
                prev[b] = (a, x, y)
                queue.append(b)
    return None


def _compatible_with_earlier(roles: list[_Role], a: int, b: int, existing_locks, fam: str) -> bool:
    for x, y in ((a, b), (b, a)):
        earlier = existing_locks.get((fam, x), set())
        if earlier and len(earlier | {r.timepoint for r in roles if r.rater == y}) > 1:
            return False
    return True


def _shares(films: Sequence[FilmUnit], items: list[PlannedItem], existing: ExistingState) -> dict[Stratum, float]:
    total: dict[Stratum, int] = defaultdict(int)
    for f in films:
        total[f.stratum] += len(f.segment_ids)
    rel: dict[Stratum, int] = defaultdict(int)
    for i in items:
        if i.purpose == "reliability":
            rel[i.stratum] += 1
    out = {}
    for s in set(total) | set(existing.stratum_segments):
        n = total[s] + existing.stratum_segments.get(s, 0)
        out[s] = (rel[s] + existing.reliability_segments.get(s, 0)) / n if n else 0.0
    return out


def interleave(items: Sequence[PlannedItem], key: Hashable = None, *, seed: int) -> list[PlannedItem]:
    """Shuffle a rater's items so strata interleave: never the same stratum twice in a row while
    another stratum still has items, otherwise random (weighted by what is left).

    Examples
    --------
    >>> its = [PlannedItem(1, i, i, "primary", ("A" if i < 3 else "B", "t0")) for i in range(6)]
    >>> [i.stratum[0] for i in interleave(its, seed=3)]
    ['B', 'A', 'B', 'A', 'B', 'A']
    """
    rng = random.Random(seed)
    groups: dict[Stratum, list[PlannedItem]] = defaultdict(list)
    for it in sorted(items, key=lambda i: (i.stratum, i.segment_id, i.purpose)):
        groups[it.stratum].append(it)
    for g in groups.values():
        rng.shuffle(g)
    out: list[PlannedItem] = []
    last = None
    while any(groups.values()):
        avail = [s for s in sorted(groups) if groups[s] and s != last] or [s for s in sorted(groups) if groups[s]]
        # Weighted by what is left, so a big stratum does not pile up at the end.
        weights = [len(groups[s]) for s in avail]
        top = max(weights)
        pick = rng.choices(avail, weights=[w + (top if w == top else 0) for w in weights])[0]
        out.append(groups[pick].pop())
        last = pick
    return out
