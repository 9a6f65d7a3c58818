"""Per-arm summaries: from a study's segment ratings to one score per family and time point,
and from those scores to the trial's outcome table (CONSORT item 17).

Rules (each printed with every table, see :func:`describe_rule`):

* only assessment films of randomised participants with a time point count, and only ratings
  of assignments marked done with purpose ``primary`` or ``reliability`` (calibration ratings
  belong to certification and never count; a rater who holds both on one segment counts once,
  with the primary one);
* rule ``consensus_else_mean``: a segment rated by several raters counts once, with the resolved
  consensus value where the raters differed by more than the study's tolerance, else the mean
  of its raters;
* rule ``primary_only``: a segment counts with its primary rater's value only (the done
  ``primary`` assignment with the lowest id, the same rater the consensus workflow treats as
  primary); second raters' and consensus values are not used, and a segment whose primary
  rater has not finished is left out;
* a composite of the scheme (e.g. NICHD-3 sensitivity with intrusiveness reversed) is computed
  for each rater and segment from that rater's dimension values with
  :meth:`annotate.schemes.Composite.compute`, any resolved consensus value of a part dimension
  taking the place of the raters' values; the per-rater composites are then averaged like a
  dimension. Composites are sums or weighted means, so this equals the composite of the
  per-segment dimension scores;
* the score of a family at a time point is the mean over the segments of its film(s) at that
  time point (a family filmed twice at one time point pools both films' segments);
  a time point without a rated segment has no row (an absent row is a missing score);
* analysis sets: ``itt`` keeps every randomised participant with data, as observed;
  ``per-protocol`` keeps participants whose per-protocol flag is yes (no or blank: left out);
* arms are shown by name only after unblinding; before, they are masked as "Arm A", "Arm B", …
  (:func:`annotate.services.studies.gate.arm_labels`) and rows and arms are ordered by the
  mask, so no order gives the allocation away.

The statistics are those of :func:`annotate.reports.arms.arms_summary` (the JSON of
``annotate stats arms``), which cites its formulas in :mod:`annotate.stats.effects`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from annotate.db.models import Participant, Study
from annotate.reports.arms import ArmsReport, arms_summary
from annotate.schemes import Composite, SchemeError
from annotate.schemes import Scheme as SchemeModel
from annotate.services.accounts import audit
from annotate.services.actor import Actor, require_role
from annotate.services.errors import NotEnoughData, ServiceError
from annotate.services.outcomes.scoring import load_done_ratings, scores_from
from annotate.services.policy import READ_ROLES, StudyStatus
from annotate.services.studies.gate import arm_labels, arm_mask, pseudonymizer, require_unblinded
from annotate.services.studies.revision import cached
from annotate.services.studies.setup import get_study, study_scheme
from annotate.stats.effects import EffectsInputError, paired_change

RULES = ("consensus_else_mean", "primary_only")
ANALYSIS_SETS = ("itt", "per-protocol")
SCORE_COLUMNS = ["participant", "arm", "timepoint", "score", "n_segments", "n_ratings", "per_protocol"]
MEANS_COLUMNS = ["arm", "timepoint", "n", "mean", "ci95_low", "ci95_high"]
_RULE_TEXT = {
    "consensus_else_mean": (
        "Score per family and time point: mean over the film's segments; a double-coded segment counts once, "
        "with its consensus score where raters differed, else the mean of its raters."
    ),
    "primary_only": (
        "Score per family and time point: mean over the film's segments, each scored by its primary rater only "
        "(second raters' and consensus scores are not used; a segment the primary rater has not finished is left out)."
    ),
}
_SET_TEXT = {
    "itt": "Analysis set: all randomised participants with data (ITT as observed).",
    "per-protocol": "Analysis set: per-protocol (participants flagged per_protocol = yes).",
}
_COMMON_TEXT = "Only segments marked done count; calibration ratings never do."


@dataclass(frozen=True)
class OutcomeChoice:
    name: str
    label: str
    kind: str  # "dimension" | "composite"
    min: float
    max: float
    step: float


@dataclass(frozen=True)
class SummaryOptions:
    """What the summaries page offers for one study."""

    study_key: str
    status: str
    unblinded: bool
    scheme_key: str
    scheme_version: str
    outcomes: tuple[OutcomeChoice, ...]
    covariates: tuple[str, ...]
    timepoints: tuple[str, ...]
    arms: tuple[str, ...]  # names after unblinding, else the masks in label order
    n_per_protocol: int  # participants flagged per-protocol
    has_events: bool = False  # the scheme codes events: the page adds the per-arm event summaries


@dataclass(frozen=True, eq=False)
class OutcomeTable:
    """The outcome table of one dimension or composite (``arms_json(report)`` = ``annotate stats arms --json``)."""

    report: ArmsReport
    rule_text: str
    n_participants: int
    masked: bool
    dimension: str = ""
    dimension_label: str = ""
    rule: str = "consensus_else_mean"
    analysis_set: str = "itt"
    baseline: str | None = None
    threshold: float | None = None
    covariates: tuple[str, ...] = ()
    scores: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)  # recording_scores rows
    means: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)  # MEANS_COLUMNS


def describe_rule(rule: str) -> str:
    """The sentence printed with every table: how segment ratings become one score.

    Examples
    --------
    >>> describe_rule("primary_only")[:48]
    'Score per family and time point: mean over the f'
    >>> describe_rule("mean")
    Traceback (most recent call last):
    ...
    annotate.services.errors.ServiceError: Unknown scoring rule 'mean'; choose consensus_else_mean or primary_only.
    """
    return _RULE_TEXT[_check_rule(rule)]


def _check_rule(rule: str) -> str:
    if rule not in RULES:
        raise ServiceError(f"Unknown scoring rule {rule!r}; choose {' or '.join(RULES)}.")
    return rule


def _check_set(analysis_set: str) -> str:
    normal = str(analysis_set).strip().lower().replace("_", "-")
    if normal not in ANALYSIS_SETS:
        raise ServiceError(f"Unknown analysis set {analysis_set!r}; choose itt or per-protocol.")
    return normal


def _outcome(model: SchemeModel, name: str) -> tuple[str, Composite | None, list[str]]:
    """(label, composite or None, dimension names needed) of a dimension or composite name."""
    if name in model.dimension_names():
        return model.dimension(name).label, None, [name]
    try:
        comp = model.composite(name)
    except SchemeError:
        valid = model.dimension_names() + [c.name for c in model.composites]
        raise ServiceError(
            f"Scheme {model.key} has no dimension or composite {name!r}; choose one of {', '.join(valid)}."
        ) from None
    return comp.label, comp, [p.dimension for p in comp.parts]


def _composite_text(model: SchemeModel, comp: Composite) -> str:
    parts = [
        f"{model.dimension(p.dimension).label}{' (reversed)' if p.reverse else ''}"
        + (f" x {p.weight:g}" if p.weight != 1 else "")
        for p in comp.parts
    ]
    how = "sum" if comp.method == "sum" else "weighted mean"
    return (
        f"{comp.label}: {how} of {', '.join(parts)}, computed for each rater and segment "
        "(consensus values in place of the raters' where there is one), then averaged like a dimension."
    )


def _labels_for(study: Study, masked: bool | None) -> tuple[bool, dict[str, str], list[str]]:
    """(masked, arm name -> shown label, labels in display order)."""
    if masked is None:
        masked = not StudyStatus(study.status).is_unblinded
    if not masked:
        require_unblinded(study, "A per-arm summary with real arm names")
        names = [a.name for a in study.arms]
        return False, {n: n for n in names}, names
    labels = arm_mask(study)
    return True, labels, sorted(labels.values())


def recording_scores(
    session: Session,
    actor: Actor,
    study_key: str,
    *,
    dimension: str,
    rule: str = "consensus_else_mean",
    analysis_set: str = "itt",
    masked: bool | None = None,
    scheme: str | None = None,
) -> pd.DataFrame:
    """One score per participant and time point from the study's done ratings.

    Parameters
    ----------
    session, actor
        A researcher (or admin).
    study_key : str
    dimension : str
        A dimension or a composite of the scheme.
    rule : {"consensus_else_mean", "primary_only"}
        How a segment with several raters is scored (see the module docstring).
    analysis_set : {"itt", "per-protocol"}
    masked : bool, optional
        ``True``: arms as "Arm A", "Arm B", … (the default before unblinding); ``False``: real
        arm names, only after unblinding (else :class:`PermissionDenied`). Default: real names
        after unblinding, masked before.
    scheme : str, optional
        Scheme key, default the study's scheme.

    Returns
    -------
    pandas.DataFrame
        Columns ``participant, arm, timepoint, score, n_segments, n_ratings, per_protocol`` and
        one column per participant covariate (named as imported; one that clashes with a fixed
        column is called ``covariate:<name>``). Rows are ordered by time point (study order),
        arm (study order, or label order when masked) and participant; a participant x time
        point without a rated segment has no row. Empty (with these columns) when nothing is rated.

    Examples
    --------
    >>> recording_scores(None, Actor(3, "rob", "Rob", "rater"), "T1", dimension="x")
    Traceback (most recent call last):
    ...
    annotate.services.errors.PermissionDenied: This needs the researcher or analyst role; rob is a rater.
    """
    frames = recording_scores_of(
        session,
        actor,
        study_key,
        outcomes=[dimension],
        rule=rule,
        analysis_set=analysis_set,
        masked=masked,
        scheme=scheme,
    )
    return frames[dimension]


def recording_scores_of(
    session: Session,
    actor: Actor,
    study_key: str,
    *,
    outcomes: Sequence[str],
    rule: str = "consensus_else_mean",
    analysis_set: str = "itt",
    masked: bool | None = None,
    scheme: str | None = None,
) -> dict[str, pd.DataFrame]:
    """:func:`recording_scores` of several dimensions or composites from one read of the ratings
    (the wide export asks for all of them); outcome name -> its frame."""
    require_role(actor, *READ_ROLES)
    rule = _check_rule(rule)
    analysis_set = _check_set(analysis_set)
    study = get_study(session, study_key)
    scheme_row, model = study_scheme(session, study, scheme)
    asked = {name: _outcome(model, name) for name in dict.fromkeys(outcomes)}
    masked, shown, arm_order = _labels_for(study, masked)
    for name in asked:
        audit.record(
            session,
            actor,
            "allocation.view" if not masked else "allocation.view_masked",
            study_id=study.id,
            view="outcome scores",
            dimension=name,
            masked=masked,
        )
    participants = list(
        session.scalars(select(Participant).where(Participant.study_id == study.id).order_by(Participant.id))
    )
    covariate_keys = list(dict.fromkeys(k for p in participants for k in (p.covariates or {})))
    covariate_column = {k: f"covariate:{k}" if k in SCORE_COLUMNS else k for k in covariate_keys}
    done = load_done_ratings(session, study, scheme_row.id, [d for _l, _c, needed in asked.values() for d in needed])
    by_id = {p.id: p for p in participants}
    tp_order = {t.id: (t.ordinal, t.name) for t in study.timepoints}
    arm_rank = {label: i for i, label in enumerate(arm_order)}
    # Masked: participants by their study-specific pseudonyms (rows sorted by them, not by the ids).
    shown_id = pseudonymizer(study) if masked else (lambda pid: pid)
    columns = SCORE_COLUMNS + [covariate_column[k] for k in covariate_keys]
    frames = {}
    for name, (_label, comp, _needed) in asked.items():
        scores = scores_from(done, model, name, comp, rule)
        records = _score_records(scores, by_id, tp_order, arm_rank, shown, shown_id, analysis_set, covariate_column)
        frame = pd.DataFrame([r for _, r in sorted(records, key=lambda x: x[0])], columns=columns)
        frames[name] = frame.astype({"score": float, "n_segments": int, "n_ratings": int})
    return frames


def _score_records(scores, by_id, tp_order, arm_rank, shown, shown_id, analysis_set, covariate_column) -> list:
    """(sort key, row) of each family and time point with a score."""
    covariate_keys = list(covariate_column)
    records = []
    for (pid, tid), (score, n_segments, n_ratings) in scores.items():
        p = by_id.get(pid)
        if p is None or tid not in tp_order:
            continue
        if analysis_set == "per-protocol" and p.per_protocol is not True:
            continue
        label = shown[p.arm.name]
        record = {
            "participant": shown_id(p.external_id),
            "arm": label,
            "timepoint": tp_order[tid][1],
            "score": score,
            "n_segments": n_segments,
            "n_ratings": n_ratings,
            "per_protocol": p.per_protocol,
        }
        record.update({covariate_column[k]: (p.covariates or {}).get(k) for k in covariate_keys})
        records.append(((tp_order[tid][0], arm_rank[label], record["participant"]), record))
    return records


def summary_options(session: Session, actor: Actor, study_key: str) -> SummaryOptions:
    """Outcomes (dimensions, then composites), covariates, time points and arm labels of a study."""
    require_role(actor, *READ_ROLES)
    study = get_study(session, study_key)
    model = study_scheme(session, study)[1]
    outcomes = [OutcomeChoice(d.name, d.label, "dimension", d.min, d.max, d.step) for d in model.dimensions]
    for c in model.composites:
        low, high = c.value_range(model)
        outcomes.append(OutcomeChoice(c.name, c.label, "composite", low, high, 0.5))
    participants = list(session.scalars(select(Participant).where(Participant.study_id == study.id)))
    unblinded = StudyStatus(study.status).is_unblinded
    return SummaryOptions(
        study_key=study.key,
        status=study.status,
        unblinded=unblinded,
        scheme_key=study.scheme.key,
        scheme_version=study.scheme.version,
        outcomes=tuple(outcomes),
        covariates=tuple(
            dict.fromkeys(k for p in sorted(participants, key=lambda p: p.id) for k in (p.covariates or {}))
        ),
        timepoints=tuple(t.name for t in study.timepoints),
        arms=tuple(a.name for a in study.arms) if unblinded else tuple(sorted(arm_labels(study).values())),
        n_per_protocol=sum(p.per_protocol is True for p in participants),
        has_events=bool(model.event_groups),
    )


def _arm_means(frame: pd.DataFrame, arms: list[str], timepoints: list[str]) -> pd.DataFrame:
    rows = []
    for a in arms:
        for t in timepoints:
            x = frame.loc[(frame["arm"] == a) & (frame["timepoint"] == t), "score"].to_numpy(dtype=float)
            if x.size == 0:
                continue
            # The paired interval of x against zero is Student's one-sample t interval of the mean.
            ci = paired_change(np.zeros_like(x), x)
            rows.append((a, t, int(x.size), float(x.mean()), ci.ci95_low, ci.ci95_high))
    return pd.DataFrame(rows, columns=MEANS_COLUMNS)


def _default_pair(present: list[str], treatment: str | None, control: str | None) -> tuple[str | None, str | None]:
    if treatment is None and control is None and len(present) >= 2:
        return present[0], present[1]
    return treatment, control


def outcome_table(
    session: Session,
    actor: Actor,
    study_key: str,
    *,
    dimension: str,
    rule: str = "consensus_else_mean",
    analysis_set: str = "itt",
    threshold: float | None = None,
    covariates: Sequence[str] = (),
    baseline: str | None = None,
    treatment: str | None = None,
    control: str | None = None,
    masked: bool | None = None,
    scheme: str | None = None,
) -> OutcomeTable:
    """The outcome table of one dimension or composite: per-arm descriptives, comparisons, change.

    Scores come from :func:`recording_scores`; the statistics and the JSON are those of
    :func:`annotate.reports.arms.arms_summary`. Before unblinding the arms are masked
    (``masked`` defaults to that; ``masked=False`` is refused until the study is unblinded).

    Defaults: ``baseline`` = the study's first time point when it has two or more (a
    single-time-point study has none, so every time point is compared) and when that time
    point has data; ``baseline=""`` asks for none (no ANCOVA, no within-arm change); ``treatment``/``control`` = the study's first and second arm that have data
    (when masked: "Arm A" and "Arm B"). Names given while masked are the masks ("Arm A").

    Examples
    --------
    >>> outcome_table(None, Actor(3, "rob", "Rob", "rater"), "T1", dimension="x")
    Traceback (most recent call last):
    ...
    annotate.services.errors.PermissionDenied: This needs the researcher or analyst role; rob is a rater.
    """
    require_role(actor, *READ_ROLES)
    study = get_study(session, study_key)
    args = (
        actor.user_id,
        actor.role,
        dimension,
        rule,
        analysis_set,
        threshold,
        tuple(covariates),
        baseline,
        treatment,
        control,
        masked,
        scheme,
    )

    def compute() -> OutcomeTable:
        return _outcome_table(
            session,
            actor,
            study_key,
            dimension=dimension,
            rule=rule,
            analysis_set=analysis_set,
            threshold=threshold,
            covariates=covariates,
            baseline=baseline,
            treatment=treatment,
            control=control,
            masked=masked,
            scheme=scheme,
        )

    # The same data and options give the same table: a rerun of the page does not recompute it.
    return cached(session, study, "outcome_table", args, compute)


def _outcome_table(
    session: Session,
    actor: Actor,
    study_key: str,
    *,
    dimension: str,
    rule: str,
    analysis_set: str,
    threshold: float | None,
    covariates: Sequence[str],
    baseline: str | None,
    treatment: str | None,
    control: str | None,
    masked: bool | None,
    scheme: str | None,
) -> OutcomeTable:
    require_role(actor, *READ_ROLES)
    analysis_set = _check_set(analysis_set)
    study = get_study(session, study_key)
    model = study_scheme(session, study, scheme)[1]
    label, comp, _needed = _outcome(model, dimension)
    frame = recording_scores(
        session,
        actor,
        study_key,
        dimension=dimension,
        rule=rule,
        analysis_set=analysis_set,
        masked=masked,
        scheme=scheme,
    )
    masked, _shown, arm_order = _labels_for(study, masked)
    if frame.empty:
        which = "" if analysis_set == "itt" else " among per-protocol participants"
        raise NotEnoughData(
            f"No {label} scores in {study.key} yet{which}: summaries need assessment segments marked done by their raters."
        )
    timepoints = [t.name for t in study.timepoints]
    present_tps = set(frame["timepoint"])
    explicit_none = baseline == ""
    baseline = None if explicit_none else baseline
    if baseline is not None and baseline not in timepoints:
        raise ServiceError(
            f"Study {study.key} has no time point {baseline!r}; its time points are {', '.join(timepoints)}."
        )
    if baseline is None and not explicit_none and len(timepoints) >= 2 and timepoints[0] in present_tps:
        baseline = timepoints[0]
    if baseline is not None and baseline not in present_tps:
        raise NotEnoughData(f"No {label} scores at the baseline {baseline!r} yet; choose another baseline or none.")
    fixed = set(SCORE_COLUMNS)
    known = [c for c in frame.columns if c not in fixed]
    covariates = list(dict.fromkeys(c.strip() for c in covariates if c.strip()))
    unknown = [c for c in covariates if c not in known]
    if unknown:
        raise ServiceError(
            f"Unknown covariate(s) {', '.join(unknown)}; the participants' covariates are {', '.join(known) or 'none'}."
        )
    present_arms = [a for a in arm_order if a in set(frame["arm"])]
    treatment, control = _default_pair(present_arms, treatment, control)
    try:
        report = arms_summary(
            frame,
            baseline=baseline,
            treatment=treatment,
            control=control,
            threshold=threshold,
            covariates=covariates,
        )
    except EffectsInputError as exc:
        raise ServiceError(f"{label}: {exc}") from None
    text = [describe_rule(rule)]
    if comp is not None:
        text.append(_composite_text(model, comp))
    text += [_SET_TEXT[analysis_set], _COMMON_TEXT]
    return OutcomeTable(
        report=report,
        rule_text=" ".join(text),
        n_participants=int(frame["participant"].nunique()),
        masked=masked,
        dimension=dimension,
        dimension_label=label,
        rule=rule,
        analysis_set=analysis_set,
        baseline=baseline,
        threshold=None if threshold is None else float(threshold),
        covariates=tuple(covariates),
        scores=frame,
        means=_arm_means(frame, present_arms, [t for t in timepoints if t in present_tps]),
    )


__all__ = [
    "ANALYSIS_SETS",
    "RULES",
    "OutcomeChoice",
    "OutcomeTable",
    "SummaryOptions",
    "describe_rule",
    "outcome_table",
    "recording_scores",
    "summary_options",
]
