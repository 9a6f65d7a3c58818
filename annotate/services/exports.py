"""The ratings export as text: one row per rating (consensus scores as extra rows).

Three modes: ``blinded`` (film codes only: no participant, arm or time point; any time),
``masked`` (participant and time point, arms as Arm A / Arm B; before unblinding) and ``full``
(real arm names; only after unblinding). The rows are produced once, by the streaming writer in
:mod:`annotate.services.export_formats`; this is its in-memory form for pages and small studies.
"""

from __future__ import annotations

import io

from sqlalchemy.orm import Session

from annotate.services.actor import Actor
from annotate.services.export_formats import write_ratings_csv


def ratings_csv(session: Session, actor: Actor, study_key: str, mode: str = "auto") -> str:
    """All ratings of a study as tidy CSV text (audited; formula-like cells neutralised).

    ``auto`` is ``full`` after unblinding and ``masked`` before.
    """
    out = io.StringIO()
    write_ratings_csv(session, actor, study_key, out, mode)
    return out.getvalue()
