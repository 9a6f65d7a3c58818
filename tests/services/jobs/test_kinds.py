"""The other job kinds run by the same runner: a session package lands in the media store for
the clinician who asked only; a backup is written beside its target and renamed when complete,
so a killed attempt never leaves a half backup that looks like one."""

from __future__ import annotations

import zipfile
from io import BytesIO

import pytest

from annotate.db.models_jobs import Job
from annotate.services import clips, exchange, jobs
from annotate.services.actor import Actor
from annotate.services.errors import PermissionDenied
from annotate.store import open_store
from tests.services.clips.test_clips import STRENGTH, caseload  # noqa: F401  (fixture)

OWNER = Actor(None, "cli", "command line", "admin")


def test_session_package_job(session, settings, people, caseload):  # noqa: F811
    clin = people["clin"]
    a = clips.save_clip(session, clin, settings, caseload["F1"], 0.5, 3.6, tags=STRENGTH, caption="Well done 😀")
    clips.plan_session(session, clin, "F1", 3, [a.clip_id])
    session.commit()
    job = clips.enqueue_session_package(session, clin, settings, "F1", 3)
    assert jobs.execute(settings, job.id) == "done"
    session.expire_all()
    done = session.get(Job, job.id)
    assert done.result["key"].startswith("exports/") and done.progress == 1.0
    name, data = clips.package_download(session, clin, settings, job.id)
    assert name == "family-F1-session-3.zip"
    assert any(n.endswith(".mp4") for n in zipfile.ZipFile(BytesIO(data)).namelist())
    with pytest.raises(PermissionDenied):
        clips.package_download(session, people["res"], settings, job.id)
    report = open_store(settings).list_keys("exports/")
    assert report == [done.result["key"]]
    from annotate.services import films

    assert films.check_store(session, people["res"], settings).orphans == []  # the zip belongs to its job


def test_backup_job_is_complete_or_absent(session, settings, people, study, tmp_path):
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("the backup folder holds a SQLite database")
    target = tmp_path / "backups" / "nightly"
    job = exchange.enqueue_backup(session, OWNER, settings, target, with_media=True)
    # A killed earlier attempt left its hidden work folder: the job starts it again from nothing.
    stale = target.with_name(f".nightly.job{job.id}.partial")
    stale.mkdir(parents=True)
    (stale / "annotate.db").write_bytes(b"half a database")
    assert jobs.execute(settings, job.id) == "done"
    assert (target / "backup.json").is_file() and not stale.exists()
    assert (target / "media" / "proxies" / "fixture.mp4").is_file()
    again = exchange.enqueue_backup(session, OWNER, settings, target, with_media=False)
    assert jobs.execute(settings, again.id) == "failed"
    session.expire_all()
    assert "not empty" in session.get(Job, again.id).error
