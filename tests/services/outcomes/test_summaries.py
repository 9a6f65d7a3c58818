"""Per-arm summaries from the database (annotate.services.outcomes.summaries): scoring rules, composites,
analysis sets, masking, and the VIPP-PMH month-5 risk ratio end to end."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import select

from annotate.db.models import Assignment, ConsensusTask, Participant, Recording, Segment, Study
from annotate.reports.arms import arms_json
from annotate.services import accounts, rating, studies
from annotate.services.errors import NotEnoughData, PermissionDenied, ServiceError
from annotate.services.outcomes.summaries import (
    SCORE_COLUMNS,
    describe_rule,
    outcome_table,
    recording_scores,
    summary_options,
)
from tests.support.signing import sign as _sign

SENS, INTR, POS = "sensitivity_nondistress", "intrusiveness", "positive_regard"
COMPOSITE = "sensitivity_composite"

# ------------------------------------------------------------------ building synthetic studies


def build_study(session, settings, res, key, *, scheme, arms, timepoints, families, films, n_segments=2):
    """A study with participants (CSV text ``families``) and ready assessment films (no media work).

    ``films`` lists (participant, time point); returns {(participant, time point): [segment ids]}.
    """
    studies.create_study(
        session, res, settings, key, arms=arms, timepoints=timepoints, scheme_key=scheme, segment_seconds=60
    )
    studies.import_participants(session, res, key, families)
    study = session.scalar(select(Study).where(Study.key == key))
    pmap = {p.external_id: p for p in session.scalars(select(Participant).where(Participant.study_id == study.id))}
    tmap = {t.name: t for t in study.timepoints}
    segments = {}
    for i, (pid, tp) in enumerate(films):
        rec = Recording(
            study_id=study.id,
            participant_id=pmap[pid].id,
            timepoint_id=tmap[tp].id,
            purpose="assessment",
            blind_code=f"{key[:4]}{i:04d}",
            original_name=f"{pid}_{tp}.mp4",
            status="ready",
            duration_s=60.0 * n_segments,
        )
        session.add(rec)
        session.flush()
        segs = [
            Segment(recording_id=rec.id, index=k, start_s=60.0 * k, end_s=60.0 * (k + 1)) for k in range(n_segments)
        ]
        session.add_all(segs)
        session.flush()
        segments[(pid, tp)] = [s.id for s in segs]
    if study.status == "setup":
        study.status = "rating"
    session.commit()
    return segments


def assign(session, key, rater, segment_ids, purpose="primary"):
    study = session.scalar(select(Study).where(Study.key == key))
    start = len(list(session.scalars(select(Assignment.id).where(Assignment.rater_id == rater.user_id))))
    made = []
    for k, sid in enumerate(segment_ids):
        a = Assignment(
            study_id=study.id,
            rater_id=rater.user_id,
            segment_id=sid,
            scheme_id=study.scheme_id,
            purpose=purpose,
            order_index=start + k,
        )
        session.add(a)
        made.append(a)
    session.flush()
    return {a.segment_id: a.id for a in made}


def score(session, rater, assignment_of, values, *, done=True):
    """``values``: {segment id: {dimension: value}}; saves as the rater and marks done."""
    for sid, dims in values.items():
        for dim, v in dims.items():
            rating.save_rating(session, rater, assignment_of[sid], dim, v, expected_version=0)
        if done:
            rating.mark_done(session, rater, assignment_of[sid])
    session.commit()


def unblind(session, res, key):
    if session.scalar(select(Study.status).where(Study.key == key)) == "setup":
        studies.set_status(session, res, key, "rating")
    studies.set_status(session, res, key, "locked", signature=_sign(session, res))
    studies.set_status(session, res, key, "unblinded", "primary analysis", signature=_sign(session, res))
    session.commit()


# ------------------------------------------------------------------ the small NICHD study T1


def t1_segments(session) -> dict[tuple[str, str], list[int]]:
    out: dict[tuple[str, str], list[int]] = {}
    rows = session.execute(
        select(Participant.external_id, Recording.timepoint_id, Segment.id)
        .join(Recording, Segment.recording_id == Recording.id)
        .join(Participant, Recording.participant_id == Participant.id)
        .where(Recording.purpose == "assessment")
        .order_by(Segment.id)
    ).all()
    study = session.scalar(select(Study).where(Study.key == "T1"))
    names = {t.id: t.name for t in study.timepoints}
    for pid, tid, sid in rows:
        out.setdefault((pid, names[tid]), []).append(sid)
    return out


def vec(s, i, p):
    return {SENS: s, INTR: i, POS: p}


@pytest.fixture
def r3(session):
    a = accounts.create_user(session, None, "r3", "r3-password", "rater")
    session.commit()
    return a


@pytest.fixture
def rated(session, settings, people, study, r3):
    """T1 rated: r1 primary everywhere; r2 second rater on P01 baseline (consensus on segment 1 for
    sensitivity 3 and intrusiveness 2); r2 unfinished on P02; r3 calibration (ignored) on P01 month5."""
    segs = t1_segments(session)
    r1, r2 = people["r1"], people["r2"]
    everything = [s for ids in segs.values() for s in ids]
    a1 = assign(session, "T1", r1, everything)
    values = {}
    for (pid, tp), (v0, v1) in {
        ("P01", "baseline"): (vec(1, 4, 2), vec(2, 2, 3)),
        ("P01", "month5"): (vec(3, 1, 4), vec(4, 1, 4)),
        ("P02", "baseline"): (vec(2, 3, 2), vec(2, 3, 3)),
        ("P03", "month5"): (vec(3, 2, 3), vec(4, 2, 3)),
    }.items():
        values[segs[(pid, tp)][0]], values[segs[(pid, tp)][1]] = v0, v1
    score(session, r1, a1, values)
    b0, b1 = segs[("P01", "baseline")]
    a2 = assign(session, "T1", r2, [b0, b1, segs[("P02", "baseline")][0]], purpose="reliability")
    score(session, r2, a2, {b0: vec(4, 1, 2), b1: vec(3, 2, 4)})
    score(session, r2, a2, {segs[("P02", "baseline")][0]: {SENS: 4}}, done=False)
    a3 = assign(session, "T1", r3, [segs[("P01", "month5")][0]], purpose="calibration")
    score(session, r3, a3, {segs[("P01", "month5")][0]: vec(1, 4, 1)})
    tasks = {t.dimension: t for t in session.scalars(select(ConsensusTask))}
    assert set(tasks) == {SENS, INTR}  # 3 points apart; positive regard agreed
    rating.resolve_consensus(session, r1, tasks[SENS].id, 3, "discussed")
    rating.resolve_consensus(session, r1, tasks[INTR].id, 2, "discussed")
    session.commit()
    return segs


def unmask(session, frame: pd.DataFrame, study_key: str = "T1") -> pd.DataFrame:
    """A masked frame with its study pseudonyms (S-…) turned back into participant ids; the test
    knows the allocation, a masked table alone does not (see test_masked_rows_carry_pseudonyms)."""
    study = session.scalar(select(Study).where(Study.key == study_key))
    pseudo = studies.pseudonymizer(study)
    back = {pseudo(p.external_id): p.external_id for p in session.scalars(select(Participant))}
    return frame.assign(participant=frame["participant"].map(lambda v: back.get(v, v)))


def by_key(frame: pd.DataFrame, session=None) -> dict[tuple[str, str], tuple]:
    if session is not None:
        frame = unmask(session, frame)
    return {(r.participant, r.timepoint): (r.score, r.n_segments, r.n_ratings) for r in frame.itertuples()}


def test_consensus_beats_the_mean_and_primary_only_takes_the_first_rater(session, people, rated):
    res = people["res"]
    frame = recording_scores(session, res, "T1", dimension=SENS)
    assert list(frame.columns) == SCORE_COLUMNS
    # P01 baseline: segment 1 has consensus 3 (raters 1 and 4), segment 2 the raters' mean 2.5.
    # r3's calibration score and r2's unfinished P02 score are not used.
    assert by_key(frame, session) == {
        ("P01", "baseline"): (2.75, 2, 4),
        ("P02", "baseline"): (2.0, 2, 2),
        ("P01", "month5"): (3.5, 2, 2),
        ("P03", "month5"): (3.5, 2, 2),
    }
    primary = recording_scores(session, res, "T1", dimension=SENS, rule="primary_only")
    assert by_key(primary, session)[("P01", "baseline")] == (1.5, 2, 2)
    assert "consensus score where raters differed" in describe_rule("consensus_else_mean")
    with pytest.raises(ServiceError, match="Unknown scoring rule"):
        recording_scores(session, res, "T1", dimension=SENS, rule="median")
    with pytest.raises(ServiceError, match="no dimension or composite 'warmth'"):
        recording_scores(session, res, "T1", dimension="warmth")
    with pytest.raises(PermissionDenied):
        recording_scores(session, people["r1"], "T1", dimension=SENS)


def test_composite_reverses_intrusiveness_and_uses_consensus_parts(session, people, rated):
    res = people["res"]
    frame = recording_scores(session, res, "T1", dimension=COMPOSITE)
    got = by_key(frame, session)
    # sum of sensitivity + (5 - intrusiveness) + positive regard, per rater and segment:
    # P01 baseline segment 1, consensus 3 and 2 for both raters: 3 + 3 + 2 = 8;
    # segment 2: r1 2 + 3 + 3 = 8, r2 3 + 3 + 4 = 10 -> 9; film: 8.5.
    assert got[("P01", "baseline")] == (8.5, 2, 4)
    assert got[("P01", "month5")] == (11.5, 2, 2)  # (3+4+4 + 4+4+4) / 2
    assert got[("P02", "baseline")] == (6.5, 2, 2)
    primary = by_key(recording_scores(session, res, "T1", dimension=COMPOSITE, rule="primary_only"), session)
    assert primary[("P01", "baseline")] == (6.0, 2, 2)  # r1 alone: (1 + 1 + 2) and (2 + 3 + 3)
    unblind(session, res, "T1")
    table = outcome_table(session, res, "T1", dimension=COMPOSITE)
    assert "intrusiveness" in table.rule_text.lower() and "(reversed)" in table.rule_text
    assert table.dimension_label.startswith("Maternal sensitivity composite")


def test_per_protocol_set_and_covariate_columns(session, people, rated):
    res = people["res"]
    studies.import_participants(
        session,
        res,
        "T1",
        "participant,arm,per_protocol,age,site\nP01,VIPP,yes,31,north\nP02,Control,no,28,south\nP03,VIPP,,35,north\n",
    )
    session.commit()
    itt = unmask(session, recording_scores(session, res, "T1", dimension=SENS))
    assert list(itt.columns) == SCORE_COLUMNS + ["age", "site"]
    assert set(itt["participant"]) == {"P01", "P02", "P03"}
    assert itt.set_index(["participant", "timepoint"]).loc[("P02", "baseline"), "age"] == 28.0
    pp = unmask(session, recording_scores(session, res, "T1", dimension=SENS, analysis_set="per-protocol"))
    assert set(pp["participant"]) == {"P01"} and pp["per_protocol"].tolist() == [True, True]
    with pytest.raises(ServiceError, match="Unknown analysis set"):
        recording_scores(session, res, "T1", dimension=SENS, analysis_set="as-treated")
    opts = summary_options(session, res, "T1")
    assert opts.covariates == ("age", "site") and opts.n_per_protocol == 1
    assert [o.name for o in opts.outcomes] == [SENS, INTR, POS, COMPOSITE]
    assert (opts.outcomes[-1].min, opts.outcomes[-1].max) == (3.0, 12.0)
    assert set(opts.arms) == {"Arm A", "Arm B"} and not opts.unblinded


def test_masked_before_unblinding_and_real_names_after(session, people, rated):
    res = people["res"]
    masked = recording_scores(session, res, "T1", dimension=SENS)
    assert set(masked["arm"]) == {"Arm A", "Arm B"}
    # Masked rows name participants by study pseudonyms, never by the ids of the allocation.
    assert not set(masked["participant"]) & {"P01", "P02", "P03"}
    assert all(p.startswith("S-") for p in masked["participant"])
    arm_of = dict(zip(unmask(session, masked)["participant"], masked["arm"], strict=False))
    assert arm_of["P01"] == arm_of["P03"] != arm_of["P02"]
    # Rows follow the masks, never the study's arm order (which would reveal the first arm).
    for _tp, block in masked.groupby("timepoint", sort=False):
        assert list(block["arm"]) == sorted(block["arm"])
    with pytest.raises(PermissionDenied, match="only after unblinding"):
        recording_scores(session, res, "T1", dimension=SENS, masked=False)
    table = outcome_table(session, res, "T1", dimension=SENS)
    assert table.masked and {d["arm"] for d in arms_json(table.report)["descriptives"]} == {"Arm A", "Arm B"}
    with pytest.raises(PermissionDenied):
        outcome_table(session, res, "T1", dimension=SENS, masked=False)
    mask = studies.arm_labels(session.scalar(select(Study).where(Study.key == "T1")))
    unblind(session, res, "T1")
    real = recording_scores(session, res, "T1", dimension=SENS)
    assert dict(zip(real["participant"], real["arm"], strict=False)) == {"P01": "VIPP", "P02": "Control", "P03": "VIPP"}
    again = unmask(session, recording_scores(session, res, "T1", dimension=SENS, masked=True))
    assert dict(zip(again["participant"], again["arm"], strict=False)) == {
        "P01": mask["VIPP"],
        "P02": mask["Control"],
        "P03": mask["VIPP"],
    }
    table = outcome_table(session, res, "T1", dimension=SENS, threshold=3)
    assert not table.masked and table.baseline == "baseline"
    (c,) = arms_json(table.report)["comparisons"]
    assert (c["timepoint"], c["treatment"], c["control"], c["n_treatment"], c["n_control"]) == (
        "month5",
        "VIPP",
        "Control",
        2,
        0,
    )
    assert table.n_participants == 3
    means = table.means.set_index(["arm", "timepoint"])
    assert means.loc[("VIPP", "month5"), "mean"] == 3.5 and means.loc[("VIPP", "month5"), "n"] == 2


def test_nothing_rated_is_not_enough_data(session, people, study):
    assert recording_scores(session, people["res"], "T1", dimension=SENS).empty
    with pytest.raises(NotEnoughData, match="No Sensitivity to non-distress scores"):
        outcome_table(session, people["res"], "T1", dimension=SENS)


# ------------------------------------------------------------------ single arm, missing follow-up


def test_single_arm_pre_post_with_a_missing_follow_up(session, settings, people):
    res, r1 = people["res"], people["r1"]
    families = "participant,arm\n" + "".join(f"m{i},Group\n" for i in range(5))
    films = [(f"m{i}", "pre") for i in range(5)] + [(f"m{i}", "post") for i in range(4)]  # m4 lost at follow-up
    segs = build_study(
        session,
        settings,
        res,
        "PILOT",
        scheme="ainsworth_sensitivity",
        arms="Group",
        timepoints="pre,post",
        families=families,
        films=films,
        n_segments=1,
    )
    a = assign(session, "PILOT", r1, [s for ids in segs.values() for s in ids])
    pre, post = [3, 4, 5, 5, 2], [5, 5, 6, 8]
    values = {segs[(f"m{i}", "pre")][0]: {"sensitivity": v} for i, v in enumerate(pre)}
    values.update({segs[(f"m{i}", "post")][0]: {"sensitivity": v} for i, v in enumerate(post)})
    score(session, r1, a, values)
    unblind(session, res, "PILOT")
    table = outcome_table(session, res, "PILOT", dimension="sensitivity")
    assert arms_json(table.report)["comparisons"] == []
    assert [(d["timepoint"], d["n"]) for d in arms_json(table.report)["descriptives"]] == [("pre", 5), ("post", 4)]
    (w,) = arms_json(table.report)["within_arm"]
    assert (w["arm"], w["from"], w["to"], w["n_pairs"], w["mean_change"]) == ("Group", "pre", "post", 4, 1.75)
    assert round(w["p"], 4) == 0.0354  # the paired t test of annotate.stats.effects_models' example
    with pytest.raises(ServiceError, match="only one arm"):
        outcome_table(session, res, "PILOT", dimension="sensitivity", treatment="Group")


# ------------------------------------------------------------------ VIPP-PMH month 5, end to end

VIPP_FAMILIES = [("v", "VIPP-PMH", 17, 9, 3), ("u", "Usual care", 11, 3, 3)]  # prefix, arm, n month5, events, lost


def build_vipp(session, settings, people):
    """VIPP-PMH-like: 9/17 vs 3/11 families >= 5 at month 5; 3 per arm without a month-5 film.

    Each film has two segments. Event families score (5, 6) -> 5.5; others (4, 5) -> 4.5. The first
    intervention event family's first month-5 segment is double-coded 3 vs 7 with consensus 6, so it
    is an event only under the consensus rule (the raters' mean 5 would give (5 + 4) / 2 = 4.5).
    """
    res, r1, r2 = people["res"], people["r1"], people["r2"]
    lines, films = ["participant,arm,per_protocol,age"], []
    for prefix, arm, n5, _events, lost in VIPP_FAMILIES:
        for i in range(n5 + lost):
            lines.append(f"{prefix}{i:02d},{arm},{'yes' if i % 4 else 'no'},{25 + i}")
            films.append((f"{prefix}{i:02d}", "baseline"))
            if i < n5:
                films.append((f"{prefix}{i:02d}", "month5"))
    segs = build_study(
        session,
        settings,
        res,
        "VPMH",
        scheme="ainsworth_sensitivity",
        arms="VIPP-PMH,Usual care",
        timepoints="baseline,month5",
        families="\n".join(lines) + "\n",
        films=films,
    )
    a1 = assign(session, "VPMH", r1, [s for ids in segs.values() for s in ids])
    values = {}
    for prefix, _arm, n5, events, lost in VIPP_FAMILIES:
        for i in range(n5 + lost):
            pid = f"{prefix}{i:02d}"
            b0, b1 = segs[(pid, "baseline")]
            values[b0], values[b1] = {"sensitivity": 3 + i % 3}, {"sensitivity": 4}
            if i < n5:
                m0, m1 = segs[(pid, "month5")]
                values[m0], values[m1] = (
                    ({"sensitivity": 5}, {"sensitivity": 6}) if i < events else ({"sensitivity": 4}, {"sensitivity": 5})
                )
    tricky = segs[("v00", "month5")]
    values[tricky[0]], values[tricky[1]] = {"sensitivity": 3}, {"sensitivity": 4}
    score(session, r1, a1, values)
    a2 = assign(session, "VPMH", r2, [tricky[0]], purpose="reliability")
    score(session, r2, a2, {tricky[0]: {"sensitivity": 7}})
    task = session.scalar(select(ConsensusTask))
    rating.resolve_consensus(session, r1, task.id, 6, "agreed after discussion")
    session.commit()
    return segs


@pytest.fixture
def vipp(session, settings, people):
    build_vipp(session, settings, people)
    unblind(session, people["res"], "VPMH")
    return "VPMH"


def test_vipp_pmh_month5_risk_ratio_from_the_database(session, people, vipp):
    res = people["res"]
    table = outcome_table(session, res, vipp, dimension="sensitivity", threshold=5, covariates=["age"])
    (c,) = arms_json(table.report)["comparisons"]
    assert (c["treatment"], c["control"], c["n_treatment"], c["n_control"]) == ("VIPP-PMH", "Usual care", 17, 11)
    t = c["threshold"]
    assert (t["treatment_events"], t["treatment_n"], t["control_events"], t["control_n"]) == (9, 17, 3, 11)
    rr = t["risk_ratio"]
    assert round(rr["value"], 2) == 1.94 and [round(v, 2) for v in rr["ci95"]] == [0.67, 5.63]
    assert c["ancova"]["n"] == 28
    assert table.n_participants == 34 and table.baseline == "baseline"
    # Under the primary rater alone the double-coded family falls below the threshold: 8/17.
    primary = outcome_table(session, res, vipp, dimension="sensitivity", threshold=5, rule="primary_only")
    assert arms_json(primary.report)["comparisons"][0]["threshold"]["treatment_events"] == 8
    pp = outcome_table(session, res, vipp, dimension="sensitivity", analysis_set="per-protocol", threshold=5)
    assert pp.n_participants == 34 - 5 - 4  # i % 4 == 0 is "no": 5 of 20 and 4 of 14
    with pytest.raises(ServiceError, match="Unknown covariate"):
        outcome_table(session, res, vipp, dimension="sensitivity", covariates=["income"])
    with pytest.raises(ServiceError, match="no time point 'month 8'"):
        outcome_table(session, res, vipp, dimension="sensitivity", baseline="month 8")
    with pytest.raises(ServiceError, match="unknown treatment arm"):
        outcome_table(session, res, vipp, dimension="sensitivity", treatment="VIPP")
