"""Clinicians' clips: the caseload (intervention films of their own families), marking and
tagging clips, planning a feedback session and exporting its package.

The names below are the capability's public API; callers import the package, not its modules.
"""

from __future__ import annotations

from annotate.services.clips.caseload import (
    CaseloadFilm,
    caseload_films,
)
from annotate.services.clips.clips import (
    VOCABULARY,
    ClipInfo,
    SessionPlan,
    delete_clip,
    export_session,
    family_clips,
    film_activity,
    film_thumbnails,
    plan_session,
    save_clip,
    session_plan,
    vocabulary,
)
from annotate.services.clips.package_job import enqueue_session_package, package_download

__all__ = [
    "VOCABULARY",
    "CaseloadFilm",
    "ClipInfo",
    "SessionPlan",
    "caseload_films",
    "delete_clip",
    "enqueue_session_package",
    "export_session",
    "family_clips",
    "film_activity",
    "film_thumbnails",
    "package_download",
    "plan_session",
    "save_clip",
    "session_plan",
    "vocabulary",
]
