"""A study's timing agreement for the researcher's page: the statistics and the match explainer.

:func:`timing_report` reads the done events (:func:`annotate.services.events.study.study_events`),
computes :func:`annotate.stats.timing.timing_agreement` on them, and lists every matched pair
and every unmatched event of the event-based kappa as an :class:`ExplainRow`, with film times,
so a researcher can open the film at that moment and see both raters' codes. The matching is
the statistics' own (:func:`annotate.stats.timing_match.match_onsets` on the same
segment-relative onsets, sorted by onset then code), so the rows add up to the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

from sqlalchemy.orm import Session

from annotate.config import Settings
from annotate.services.actor import Actor, require_role
from annotate.services.errors import NotEnoughData
from annotate.services.events.study import StudyEventRow, study_events, timing_frame
from annotate.services.films.tokens import sign_media_url
from annotate.stats.timing import DEFAULT_CURVE, TimingAgreement, timing_agreement
from annotate.stats.timing_input import NONE_LABEL, read_timing_events
from annotate.stats.timing_match import match_onsets


@dataclass(frozen=True)
class ExplainRow:
    """One matched pair, or one unmatched event, of the event-based kappa (film times, seconds)."""

    group: str
    blind_code: str
    segment: int
    first_rater: str
    second_rater: str
    first_code: str  # "none" when only the second rater coded an event here
    second_code: str
    first_onset: float | None
    second_onset: float | None

    @property
    def at(self) -> float:
        """Where to open the film: the earlier onset."""
        return min(t for t in (self.first_onset, self.second_onset) if t is not None)

    @property
    def onset_diff(self) -> float | None:
        """Second minus first onset of a pair; None for an unmatched event."""
        if self.first_onset is None or self.second_onset is None:
            return None
        return self.second_onset - self.first_onset

    @property
    def outcome(self) -> str:
        if self.first_code == NONE_LABEL:
            return f"only {self.second_rater}"
        if self.second_code == NONE_LABEL:
            return f"only {self.first_rater}"
        return "same code" if self.first_code == self.second_code else "different codes"


@dataclass(frozen=True)
class TimingReport:
    study: str
    scheme_key: str
    scheme_version: str
    result: TimingAgreement
    explainer: tuple[ExplainRow, ...]


def _sorted(rows: Sequence[StudyEventRow]) -> list[StudyEventRow]:
    return sorted(rows, key=lambda r: (r.onset - r.segment_start, r.code))


def explain_matches(rows: Sequence[StudyEventRow], tolerance: float) -> tuple[ExplainRow, ...]:
    """Every pair and unmatched event, per group, session and pair of raters (sorted as text)."""
    by: dict[tuple[str, int, str], dict[str, list[StudyEventRow]]] = {}
    for r in rows:
        by.setdefault((r.blind_code, r.segment, r.group), {}).setdefault(r.rater, []).append(r)
    out: list[ExplainRow] = []
    for (film, segment, group), raters in sorted(by.items()):
        for first, second in combinations(sorted(raters), 2):
            a, b = _sorted(raters[first]), _sorted(raters[second])
            m = match_onsets([r.onset - r.segment_start for r in a], [r.onset - r.segment_start for r in b], tolerance)
            paired_a = {i for i, _ in m.pairs}
            paired_b = {j for _, j in m.pairs}
            for i, j in m.pairs:
                out.append(
                    ExplainRow(group, film, segment, first, second, a[i].code, b[j].code, a[i].onset, b[j].onset)
                )
            for i, r in enumerate(a):
                if i not in paired_a:
                    out.append(ExplainRow(group, film, segment, first, second, r.code, NONE_LABEL, r.onset, None))
            for j, r in enumerate(b):
                if j not in paired_b:
                    out.append(ExplainRow(group, film, segment, first, second, NONE_LABEL, r.code, None, r.onset))
    out.sort(key=lambda x: (x.group, x.blind_code, x.segment, x.first_rater, x.second_rater, x.at))
    return tuple(out)


def timing_report(
    session: Session,
    actor: Actor,
    study_key: str,
    *,
    scheme: str | None = None,
    tolerance: float = 1.0,
    unit: float | None = None,
    curve: Sequence[float] = DEFAULT_CURVE,
    bootstrap: int = 0,
    seed: int | None = None,
) -> TimingReport:
    """Timing agreement of a study's done events (unit: one frame unless given) and the explainer."""
    events = study_events(session, actor, study_key, scheme=scheme)
    if not events.rows:
        raise NotEnoughData(
            f"Study {study_key} has no done event coding on scheme {events.scheme_key} yet; "
            "timing agreement needs items coded by two raters and marked done."
        )
    frame = timing_frame(events.rows)
    frame["offset"] = frame["offset"].astype(float)
    result = timing_agreement(
        read_timing_events(frame),
        tolerance=tolerance,
        unit=unit if unit is not None else events.frame_s,
        curve=curve,
        bootstrap=bootstrap,
        seed=seed,
    )
    return TimingReport(
        events.study, events.scheme_key, events.scheme_version, result, explain_matches(events.rows, tolerance)
    )


def film_url(session: Session, actor: Actor, settings: Settings, blind_code: str) -> str:
    """A signed media URL of the film for the researcher's explainer (the media route re-checks access)."""
    require_role(actor, "researcher")
    return sign_media_url(settings.secret_key(), blind_code, actor.account_id, settings.media_token_minutes)
