"""The per-arm summaries page under streamlit.testing.v1.AppTest."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.services.outcomes.test_summaries import build_vipp, unblind

REAL_ARMS = ("VIPP-PMH", "Usual care")


def _page(actor: tuple) -> None:
    import streamlit as st

    from annotate.services.actor import Actor
    from annotate.ui import pages_summaries

    st.session_state["actor"] = Actor(*actor)
    pages_summaries.summaries_page()


def app(actor) -> AppTest:
    fields = (actor.user_id, actor.username, actor.display_name, actor.role)
    return AppTest.from_function(_page, args=(fields,), default_timeout=60).run()


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [t.value for t in at.title] + [e.value for e in at.error]
    parts += [i.value for i in at.info] + [c.value for c in at.caption] + [w.value for w in at.warning]
    return "\n".join(str(p) for p in parts)


@pytest.fixture
def vipp(env, session, settings, people):
    build_vipp(session, settings, people)
    return "VPMH"


def test_masked_before_unblinding(vipp, people):
    at = app(people["res"])
    assert not at.exception, at.exception
    assert "Arms are masked (Arm A / Arm B) until the study is unblinded" in texts(at)
    descriptives = at.dataframe[0].value
    assert set(descriptives["arm"]) == {"Arm A", "Arm B"}
    blob = repr([e.proto for e in at.main])
    for word in REAL_ARMS:
        assert word not in blob, word
    assert "consensus score where raters differed" in texts(at)


def test_unblinded_table_threshold_plot_and_downloads(vipp, session, people):
    unblind(session, people["res"], vipp)
    at = app(people["res"])
    assert not at.exception, at.exception
    assert "masked" not in texts(at)
    at.number_input(key="sum_threshold_sensitivity").set_value(5).run()
    assert not at.exception, at.exception
    comparisons = at.dataframe[1].value.set_index("statistic")
    assert comparisons.loc["risk ratio (Katz)", "estimate"] == "1.94"
    assert comparisons.loc["risk ratio (Katz)", "95% CI"] == "0.67 to 5.63"
    assert comparisons.loc["events (score >= 5)", "estimate"] == "9/17 vs 3/11"
    assert comparisons.loc["risk ratio (Katz)", "treatment − control"] == "VIPP-PMH − Usual care"
    within = at.dataframe[2].value
    assert list(within["arm"].unique()) == list(REAL_ARMS)
    assert len(at.get("vega_lite_chart")) == 1
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels[:2] == ["Outcome table (CSV)", "Scores per family and time point (CSV)"]
    assert labels[2] in ("Plot (PNG)", "Plot (HTML)")
    assert "--threshold 5" in texts(at)
    at.radio(key="sum_rule").set_value("primary_only").run()
    assert not at.exception, at.exception
    assert "primary rater only" in texts(at)
    comparisons = at.dataframe[1].value.set_index("statistic")
    assert comparisons.loc["events (score >= 5)", "estimate"] == "8/17 vs 3/11"  # v00 is an event by consensus only
    at.radio(key="sum_set").set_value("per-protocol").run()
    assert not at.exception, at.exception
    assert at.metric[0].value == "25"
    comparisons = at.dataframe[1].value.set_index("statistic")
    assert comparisons.loc["events (score >= 5)", "estimate"] == "6/12 vs 2/8"  # i % 4 == 0 left out


def test_rater_is_refused(vipp, people):
    at = app(people["r1"])
    assert not at.exception
    assert "needs the researcher or analyst role" in texts(at)


def test_download_builds_the_csv_when_clicked_and_audits_it(vipp, session, people):
    """The download callables run on another thread; they carry the actor and open their own session."""
    from sqlalchemy import select

    from annotate.db.models import AuditLog
    from annotate.services.outcomes.summaries import outcome_table
    from annotate.ui import pages_summaries

    table = outcome_table(session, people["res"], vipp, dimension="sensitivity", threshold=5)
    session.commit()
    pages_summaries.st.session_state["actor"] = people["res"]
    build = pages_summaries._csv_download(vipp, table, "table")
    text = build()
    assert text.startswith("section,arm,timepoint,") and "risk ratio (Katz)" in text and "Arm A" in text
    session.expire_all()
    assert session.scalar(select(AuditLog.action).order_by(AuditLog.id.desc())) == "export.summary_table"


def test_event_study_shows_coded_events_per_masked_arm(env, session, settings, people, tmp_path) -> None:
    from tests.services.events.conftest import code_study, make_event_study

    make_event_study(session, settings, people, tmp_path)
    code_study(session, people)
    at = app(people["res"])
    assert not at.exception, at.exception
    assert "Coded events per arm" in [s.value for s in at.subheader]
    table = at.dataframe[-1].value
    assert set(table["arm"]) == {"Arm A", "Arm B"} and "now_moment" in set(table["code"])
    assert set(table.loc[table["code"] == "now_moment", "rate / min"]) == {"1.00"}
    assert set(table.loc[table["code"] == "now_moment", "share of time"]) == {""}  # a point has no share
    assert "VIPP" not in repr([e.proto for e in at.main])  # ("Control" is also the comparison's label)
