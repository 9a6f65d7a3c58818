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


def test_backup_job_into_a_bucket_restarts_its_own_half_backup(session, settings, people, study, s3_env):
    """A bucket has no rename: the job's marker object lets a retry recognise (and clear) what a
    killed attempt left, and a prefix holding anything else is never touched."""
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("the backup holds a SQLite database")
    import dataclasses

    import boto3

    from annotate.store.backup_place import open_backup_place

    settings = dataclasses.replace(settings, s3_endpoint=s3_env["ANNOTATE_S3_ENDPOINT"])  # media stay in the folder
    bucket = s3_env["ANNOTATE_MEDIA_URL"].split("/")[2]
    url = f"s3://{bucket}/backups/nightly"
    place = open_backup_place(url, s3_env["ANNOTATE_S3_ENDPOINT"])
    job = exchange.enqueue_backup(session, OWNER, settings, url, with_media=True)
    place.put_bytes(".job", str(job.id).encode())  # what a SIGKILLed attempt leaves: its marker ...
    place.put_bytes("annotate.db", b"half a database")  # ... and half a copy, but no backup.json
    assert jobs.execute(settings, job.id) == "done"
    assert place.exists("backup.json") and place.media.exists("proxies/fixture.mp4")
    assert place.get_bytes("annotate.db")[:16] == b"SQLite format 3\x00"
    db_bytes = place.get_bytes("annotate.db")
    session.expire_all()
    session.get(Job, job.id).state = "queued"  # as if the worker died after the backup, before its bookkeeping
    session.commit()
    assert jobs.execute(settings, job.id) == "done"
    assert place.get_bytes("annotate.db") == db_bytes  # the finished backup is kept as it is
    again = exchange.enqueue_backup(session, OWNER, settings, url, with_media=False)
    assert jobs.execute(settings, again.id) == "failed"
    session.expire_all()
    assert "not empty" in session.get(Job, again.id).error
    assert place.exists("backup.json")  # the other job's failure removed nothing of the first backup
    client = boto3.client("s3", endpoint_url=s3_env["ANNOTATE_S3_ENDPOINT"])
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix="backups/")["Contents"]]
    assert all(k.startswith("backups/nightly/") for k in keys)
