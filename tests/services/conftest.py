"""A small study with ready recordings inserted directly (no media work), for service tests."""

from __future__ import annotations

import pytest

from annotate.db.models import Recording, Segment
from annotate.services import studies


@pytest.fixture
def study(session, settings, people, tmp_path):
    res = people["res"]
    studies.create_study(
        session, res, settings, "T1", arms="VIPP,Control", timepoints="baseline,month5",
        scheme_key="nichd_sensitivity_intrusiveness", segment_seconds=60,
    )
    studies.import_participants(
        session, res, "T1", "participant,arm,clinician\nP01,VIPP,clin\nP02,Control,\nP03,VIPP,\n"
    )
    parts = {p: pid for p, pid in zip(["P01", "P02", "P03"], range(3))}
    from sqlalchemy import select

    from annotate.db.models import Participant, Study

    st = session.scalar(select(Study).where(Study.key == "T1"))
    pmap = {p.external_id: p for p in session.scalars(select(Participant))}
    proxy = tmp_path / "proxy.mp4"
    proxy.write_bytes(b"\x00" * 4096)
    codes = []
    for i, (pid, tp, purpose) in enumerate(
        [("P01", 0, "assessment"), ("P01", 1, "assessment"), ("P02", 0, "assessment"), ("P03", 1, "assessment"), ("P01", None, "intervention")]
    ):
        rec = Recording(
            study_id=st.id, participant_id=pmap[pid].id,
            timepoint_id=st.timepoints[tp].id if tp is not None else None,
            purpose=purpose, blind_code=f"CODE{i}", original_name=f"IMG_2024_{pid}.mov",
            proxy_path=str(proxy), status="ready", duration_s=120.0, fps=25.0, width=640, height=480, has_audio=True,
            session_no=1 if purpose == "intervention" else None,
        )
        session.add(rec)
        session.flush()
        for k in range(2):
            session.add(Segment(recording_id=rec.id, index=k, start_s=60.0 * k, end_s=60.0 * (k + 1)))
        codes.append(rec.blind_code)
    session.commit()
    del parts
    return "T1"
