"""Reliability of a study's ratings read from the database (annotate.services.reliability.study)."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from sqlalchemy import select

from annotate.db.models import Assignment, Segment
from annotate.errors import AnnotateError
from annotate.reports.reliability import reliability_from_frame, reliability_json
from annotate.services import accounts, assignments, rating
from annotate.services.errors import PermissionDenied, ServiceError
from annotate.services.reliability.study import (
    agreement_over_time,
    koo_li_band,
    reliability_options,
    reliability_ratings,
    reliability_report,
)


def summary_of(frame, **options):
    """The JSON of the reliability table of a long frame (what `annotate stats reliability --json` prints);
    the study's report uses the film as the cluster, so the frame's ``film`` column is the cluster here too."""
    if "film" in frame.columns:
        options.setdefault("cluster", "film")
    return reliability_json(reliability_from_frame(frame, **options))


SENS = "sensitivity_nondistress"
# Known scores of the 8 assessment segments (in segment id order) on the 1-4 NICHD scales.
SCORES = {
    "r1": {
        SENS: [1, 2, 3, 4, 2, 3, 1, 4],
        "intrusiveness": [4, 3, 2, 1, 3, 2, 4, 1],
        "positive_regard": [2, 3, 2, 3, 2, 3, 2, 3],
    },
    "r2": {
        SENS: [1, 3, 3, 4, 2, 2, 2, 4],
        "intrusiveness": [4, 3, 2, 1, 3, 2, 4, 2],
        "positive_regard": [2, 3, 3, 3, 2, 3, 2, 2],
    },
}
JANUARY = dt.datetime(2026, 1, 15, 10, 0, tzinfo=dt.UTC)
FEBRUARY = dt.datetime(2026, 2, 15, 10, 0, tzinfo=dt.UTC)


def assessment_segments(session) -> list[int]:
    from annotate.db.models import Recording

    return list(
        session.scalars(
            select(Segment.id).join(Recording).where(Recording.purpose == "assessment").order_by(Segment.id)
        )
    )


def rate(session, actor, scores: dict[str, list[int]], segment_ids: list[int], *, done_at=None, purpose=None) -> None:
    """Score and finish the rater's assignments on ``segment_ids`` (scores in that order)."""
    query = select(Assignment).where(Assignment.rater_id == actor.user_id, Assignment.segment_id.in_(segment_ids))
    if purpose:
        query = query.where(Assignment.purpose == purpose)
    by_segment = {a.segment_id: a for a in session.scalars(query)}
    for k, sid in enumerate(segment_ids):
        a = by_segment[sid]
        for dim, values in scores.items():
            rating.save_rating(session, actor, a.id, dim, values[k], expected_version=0)
        rating.mark_done(session, actor, a.id)
        if done_at is not None:
            a.done_at = done_at(k) if callable(done_at) else done_at
    session.commit()


@pytest.fixture
def double_coded(session, people, study):
    """r1 and r2 both finish all 8 segments: the first four in January, the last four in February."""
    assignments.assign_segments(session, people["res"], study, ["r1", "r2"], mode="all", seed=1)
    session.commit()
    segs = assessment_segments(session)
    for name in ("r1", "r2"):
        rate(session, people[name], SCORES[name], segs, done_at=lambda k: JANUARY if k < 4 else FEBRUARY)
    return segs


def expected_frame(dim: str, raters=("r1", "r2"), segs=None) -> pd.DataFrame:
    rows = []
    for name in raters:
        for k, value in enumerate(SCORES[name][dim]):
            if segs is None or k in segs:
                rows.append((f"seg{k}", name, value, f"CODE{k // 2}"))  # two segments per film
    return pd.DataFrame(rows, columns=["unit", "rater", "score", "film"])


def test_summary_equals_the_csv_summary_of_the_same_ratings(session, people, double_coded):
    report = reliability_report(session, people["res"], "T1", dimension=SENS)
    expected = summary_of(expected_frame(SENS), categories=[1, 2, 3, 4], level="interval")
    assert reliability_json(report.table) == expected
    assert reliability_json(report.table) == summary_of(report.ratings, categories=report.categories, level="interval")
    assert (
        reliability_json(report.table)["n_units"],
        reliability_json(report.table)["n_raters"],
        reliability_json(report.table)["n_ratings"],
    ) == (8, 2, 16)
    assert reliability_json(report.table)["percent_agreement"]["exact"] == 0.625
    assert report.n_segments == 8
    json.dumps(reliability_json(report.table), allow_nan=False)


def test_ratings_frame_is_long_blind_and_complete(session, people, double_coded):
    frame = reliability_ratings(session, people["res"], "T1", dimension=SENS)
    assert list(frame.columns) == ["unit", "segment_id", "rater", "score", "rated_at", "purpose", "film"]
    assert (frame["unit"].str.split("-").str[0] == frame["film"]).all()
    assert len(frame) == 16 and set(frame["rater"]) == {"r1", "r2"}
    assert frame["unit"].str.match(r"^CODE\d-\d$").all()
    r1 = frame[frame["rater"] == "r1"].set_index("segment_id")["score"]
    assert [r1[s] for s in double_coded] == SCORES["r1"][SENS]


def test_the_full_scale_is_used_even_when_points_are_unused(session, people, double_coded):
    report = reliability_report(session, people["res"], "T1", dimension="positive_regard")
    assert report.categories == (1.0, 2.0, 3.0, 4.0)
    assert reliability_json(report.table)["categories"] == [1, 2, 3, 4]
    used_only = summary_of(expected_frame("positive_regard"), level="interval")
    assert used_only["categories"] == [2, 3]
    # unused scale points change the chance agreement of AC2 (weighted kappas are invariant)
    assert reliability_json(report.table)["gwet_ac2"]["linear"] != pytest.approx(used_only["gwet_ac2"]["linear"])
    assert list(report.confusion[0].counts.index) == [1.0, 2.0, 3.0, 4.0]


def test_only_done_double_coded_segments_count(session, people, study):
    assignments.assign_segments(session, people["res"], study, ["r1", "r2"], mode="all", seed=1)
    session.commit()
    segs = assessment_segments(session)
    rate(session, people["r1"], {d: v[:5] for d, v in SCORES["r1"].items()}, segs[:5])
    rate(session, people["r2"], {d: v[:3] for d, v in SCORES["r2"].items()}, segs[:3])
    # r2 scores segment 4 but does not mark it done: it is not double-coded yet
    a = session.scalar(
        select(Assignment).where(Assignment.rater_id == people["r2"].user_id, Assignment.segment_id == segs[3])
    )
    rating.save_rating(session, people["r2"], a.id, SENS, 4, expected_version=0)
    session.commit()
    frame = reliability_ratings(session, people["res"], "T1", dimension=SENS)
    assert sorted(frame["segment_id"].unique()) == segs[:3]


def test_rater_pair_filter(session, people, double_coded):
    r3 = accounts.create_user(session, None, "r3", "r3-password", "rater")
    session.commit()
    assignments.assign_segments(session, people["res"], "T1", ["r3"], segment_ids=double_coded[:4], mode="all", seed=2)
    session.commit()
    r3_scores = {d: v[:4] for d, v in SCORES["r1"].items()}
    rate(session, r3, r3_scores, double_coded[:4])
    pair = reliability_report(session, people["res"], "T1", dimension=SENS, raters=("r1", "r3"))
    assert reliability_json(pair.table)["n_units"] == 4 and reliability_json(pair.table)["n_raters"] == 2
    assert set(pair.ratings["rater"]) == {"r1", "r3"}
    assert reliability_json(pair.table)["percent_agreement"]["exact"] == 1.0  # r3 copied r1
    assert (pair.bland_altman.rater_a, pair.bland_altman.rater_b) == ("r1", "r3")
    assert pair.bland_altman.result.mean_difference == 0.0
    everyone = reliability_report(session, people["res"], "T1", dimension=SENS)
    assert (
        reliability_json(everyone.table)["n_raters"] == 3
        and reliability_json(everyone.table)["cohen_kappa"]["unweighted"] is None
    )
    assert {(c.rater_a, c.rater_b) for c in everyone.confusion} == {("r1", "r2"), ("r1", "r3"), ("r2", "r3")}
    with pytest.raises(ServiceError, match="two different raters"):
        reliability_report(session, people["res"], "T1", dimension=SENS, raters=("r1", "r1"))


def test_period_filter(session, people, double_coded):
    feb = reliability_report(session, people["res"], "T1", dimension=SENS, since=dt.date(2026, 2, 1))
    assert sorted(feb.ratings["segment_id"].unique()) == double_coded[4:]
    jan = reliability_report(session, people["res"], "T1", dimension=SENS, until=dt.date(2026, 1, 15))
    assert sorted(jan.ratings["segment_id"].unique()) == double_coded[:4]  # a date includes the whole day
    expected = summary_of(expected_frame(SENS, segs=range(4)), categories=[1, 2, 3, 4], level="interval")
    assert reliability_json(jan.table) == expected
    with pytest.raises(ServiceError, match="No segment of T1"):
        reliability_report(session, people["res"], "T1", dimension=SENS, since=dt.date(2026, 3, 1))


def test_drift_by_month_and_by_block(session, people, double_coded):
    report = reliability_report(session, people["res"], "T1", dimension=SENS)
    drift = report.drift
    assert list(drift["period"]) == ["2026-01", "2026-02"]
    assert list(drift["n_segments"]) == [4, 4]
    # January: r1 1,2,3,4 vs r2 1,3,3,4 -> 3 of 4 exact; February: 2,3,1,4 vs 2,2,2,4 -> 2 of 4
    assert list(drift["exact"]) == [0.75, 0.5]
    assert list(drift["within_1"]) == [1.0, 1.0]
    assert drift["icc_a1"].notna().all()
    blocks = agreement_over_time(report.ratings, report.categories, 3)
    assert list(blocks["n_segments"]) == [3, 3, 2]
    with pytest.raises(AnnotateError, match="block size"):
        agreement_over_time(report.ratings, report.categories, 1)


def test_koo_li_reading_of_icc_a1(session, people, double_coded):
    report = reliability_report(session, people["res"], "T1", dimension=SENS)
    icc = reliability_json(report.table)["icc"]["ICC(2,1)"]
    reading = report.koo_li
    assert reading.value == icc["value"] and (reading.ci95_low, reading.ci95_high) == tuple(icc["ci95"])
    assert reading.band == koo_li_band(icc["value"])
    assert reading.band_low == koo_li_band(icc["ci95"][0]) and reading.band_high == koo_li_band(icc["ci95"][1])
    assert [koo_li_band(v) for v in (0.49, 0.5, 0.74, 0.75, 0.9, 0.91)] == [
        "poor",
        "moderate",
        "moderate",
        "good",
        "good",
        "excellent",
    ]


def test_bootstrap_is_passed_through(session, people, double_coded):
    report = reliability_report(session, people["res"], "T1", dimension=SENS, bootstrap=1000, seed=5)
    assert (
        reliability_json(report.table)["bootstrap"]["seed"] == 5
        and reliability_json(report.table)["bootstrap"]["n_resamples"] == 1000
    )
    assert reliability_json(report.table) == summary_of(
        expected_frame(SENS), categories=[1, 2, 3, 4], level="interval", bootstrap=1000, seed=5
    )


def test_report_never_contains_allocation(session, people, double_coded):
    report = reliability_report(session, people["res"], "T1", dimension=SENS)
    blob = " ".join(
        [
            repr(report),
            json.dumps(reliability_json(report.table)),
            report.ratings.to_csv(),
            report.drift.to_csv(),
            report.bland_altman.pairs.to_csv(),
            *(c.counts.to_csv() for c in report.confusion),
        ]
    )
    for word in ["VIPP", "Control", "baseline", "month5", "P01", "P02", "P03", "IMG_2024"]:
        assert word not in blob, word


def test_raters_and_clinicians_are_refused(session, people, double_coded):
    for who in ("r1", "clin"):
        with pytest.raises(PermissionDenied):
            reliability_report(session, people[who], "T1", dimension=SENS)
        with pytest.raises(PermissionDenied):
            reliability_ratings(session, people[who], "T1", dimension=SENS)
        with pytest.raises(PermissionDenied):
            reliability_options(session, people[who], "T1")


def test_bad_choices_say_what_to_fix(session, people, double_coded):
    with pytest.raises(ServiceError, match="Choose a dimension"):
        reliability_report(session, people["res"], "T1", dimension=None)
    with pytest.raises(ServiceError, match="no dimension 'warmth'"):
        reliability_report(session, people["res"], "T1", dimension="warmth")
    with pytest.raises(ServiceError, match="No study 'T9'"):
        reliability_report(session, people["res"], "T9", dimension=SENS)
    with pytest.raises(ServiceError, match="period is empty"):
        reliability_ratings(
            session, people["res"], "T1", dimension=SENS, since=dt.date(2026, 2, 1), until=dt.date(2026, 1, 1)
        )
    with pytest.raises(ServiceError, match="Purposes"):
        reliability_ratings(session, people["res"], "T1", dimension=SENS, purposes=("practice",))


def test_options_list_dimensions_raters_and_span(session, people, double_coded):
    opts = reliability_options(session, people["res"], "T1")
    assert [d.name for d in opts.dimensions] == [SENS, "intrusiveness", "positive_regard"]
    assert (opts.dimensions[0].min, opts.dimensions[0].max, opts.dimensions[0].step) == (1, 4, 1)
    assert opts.raters == ("r1", "r2")
    assert (opts.first_done, opts.last_done) == (JANUARY, FEBRUARY)


def test_arrow_read_and_array_statistics_equal_the_row_path(session, people, double_coded, monkeypatch):
    """At scale the long table is read as Arrow batches and the statistics run in array operations
    (issue 16); the frame, every reported statistic and every view equal the row-by-row path's."""
    from annotate.db import arrow
    from annotate.reports import reliability as reports
    from annotate.services.reliability import study as reliability_study

    def report():
        r = reliability_study._reliability_report(
            session, people["res"], "T1", dimension=SENS, raters=None, since=None, until=None, bootstrap=0,
            seed=None, scheme=None, level="interval", drift_by="month", cluster="film", d_raters=(1, 2, 3, 4),
            d_units=None, n_draws=200,
        )  # fmt: skip
        return r, json.dumps(reliability_json(r.table), sort_keys=True)

    fast, fast_json = report()
    with monkeypatch.context() as m:
        m.setattr(arrow, "available", lambda url: False)  # SQLAlchemy rows
        m.setattr(reports, "_scores_of", reports._scores)  # typed per-value lists into the statistics
        slow, slow_json = report()
    assert arrow.available(session.get_bind().engine.url.render_as_string(hide_password=False))
    pd.testing.assert_frame_equal(fast.ratings, slow.ratings, check_exact=True)
    assert fast_json == slow_json
    pd.testing.assert_frame_equal(fast.drift, slow.drift, check_exact=True)
    assert [c.counts.to_dict() for c in fast.confusion] == [c.counts.to_dict() for c in slow.confusion]
    assert fast.bland_altman.result == slow.bland_altman.result
