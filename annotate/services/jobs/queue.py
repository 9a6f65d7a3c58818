"""The queue: Huey, with its SQLite storage in the data folder by default (no service to run) or
Redis when ``ANNOTATE_JOBS_URL=redis://…`` (several machines share it). Messages carry only a
job id; the ``job`` table holds the rest (see :mod:`annotate.services.jobs.state`).
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from sqlalchemy import select

from annotate.config import Settings
from annotate.db.engine import session_factory
from annotate.db.models import Recording
from annotate.db.models_jobs import Job
from annotate.services.errors import ServiceError
from annotate.services.jobs import runner, state

log = logging.getLogger(__name__)


def queue_location(settings: Settings) -> str:
    """Where the queue lives: the Redis URL, or the embedded SQLite file of the data folder."""
    return settings.jobs_url or str(settings.data_dir / "jobs.huey")


@lru_cache(maxsize=8)
def _huey(settings: Settings) -> tuple[Any, Callable[[int], Any]]:
    from huey import RedisHuey, SqliteHuey

    url = settings.jobs_url
    if url and url.startswith(("redis://", "rediss://", "unix://")):
        huey = RedisHuey(settings.jobs_queue, url=url, results=False)
    elif url:
        raise ServiceError(f"ANNOTATE_JOBS_URL={url!r} is not understood: use redis://host:6379/0, or unset it.")
    else:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        huey = SqliteHuey(settings.jobs_queue, filename=str(settings.data_dir / "jobs.huey"), results=False)

    @huey.task(name="annotate.run_job")
    def run_job(job_id: int) -> None:
        runner.execute(settings, job_id)

    return huey, run_job


def huey_for(settings: Settings) -> Any:
    return _huey(settings)[0]


def send(settings: Settings, job_id: int) -> None:
    """Put a (committed) job's id on the queue."""
    _huey(settings)[1](job_id)


def pending_messages(settings: Settings) -> int:
    return int(huey_for(settings).pending_count())


def recover(settings: Settings) -> state.Recovered:
    """Queue again the jobs of dead workers, fail those out of attempts (undoing their partial
    work), resend lost messages, mark films left ``processing`` without a live job as failed,
    and remove scratch folders of jobs that are not running. Safe to run from every worker."""
    sessions = session_factory(settings.database_url)
    with sessions() as s:
        got = state.expired(s, settings.job_lease_seconds)
        busy = select(Job.recording_id).where(Job.state.in_(state.ACTIVE), Job.recording_id.is_not(None))
        stuck = s.scalars(select(Recording).where(Recording.status == "processing", Recording.id.not_in(busy))).all()
        for rec in stuck:
            last = s.scalar(select(Job).where(Job.recording_id == rec.id).order_by(Job.id.desc()).limit(1))
            rec.status = "failed"
            rec.error = rec.error or (
                last.error
                if last is not None and last.error
                else "Its ingest was interrupted (the program stopped mid-way); remove the film and ingest it again."
            )
            log.warning("film %s was left processing without a live job; marked failed", rec.blind_code)
        s.commit()
        # Snapshot for the scratch clean-up below: job id -> (attempts, running?)
        attempts_of = {
            job_id: (n, st == "running") for job_id, n, st in s.execute(select(Job.id, Job.attempts, Job.state)).all()
        }
    if got.failed:
        runner.fail_for_good(settings, got.failed)
    for job_id in got.requeued + got.resent:
        send(settings, job_id)
    root = runner.scratch_root(settings)
    if root.is_dir():
        for d in root.iterdir():
            if d.is_dir() and _scratch_is_over(d.name, attempts_of):
                shutil.rmtree(d, ignore_errors=True)
    if got.requeued or got.failed or got.resent:
        log.warning("recovered jobs: requeued %s, failed %s, resent %s", got.requeued, got.failed, got.resent)
    return got


def _scratch_is_over(name: str, attempts_of: dict[int, tuple[int, bool]]) -> bool:
    """Whether a scratch folder belongs to an attempt that is over, by the snapshot ``attempts_of``.
    An attempt newer than the snapshot (claimed since) is kept; see :func:`runner.scratch_dir`."""
    parsed = runner.parse_scratch_name(name)
    if parsed is None:
        return True  # not ours, or the layout of an older version
    job_id, attempt = parsed
    if job_id not in attempts_of:  # removed since, or committed after the snapshot
        return bool(attempts_of) and job_id < max(attempts_of)
    attempts, running = attempts_of[job_id]
    return attempt < attempts or (attempt == attempts and not running)


def _reaper(settings: Settings, stop: threading.Event) -> None:
    interval = max(1.0, settings.job_lease_seconds / 4)
    while not stop.wait(interval):
        try:
            recover(settings)
        except Exception:
            log.exception("job recovery failed; trying again in %.0f s", interval)


def run_worker(settings: Settings, concurrency: int = 1) -> None:
    """Run a Huey consumer with ``concurrency`` threads plus the recovery loop until SIGINT/SIGTERM.
    Recovers first: work of a dead worker is queued again."""
    from huey.consumer import Consumer

    recover(settings)
    consumer = Consumer(huey_for(settings), workers=concurrency, worker_type="thread", periodic=False, max_delay=1.0)
    halt = threading.Event()
    reaper = threading.Thread(target=_reaper, args=(settings, halt), name="job-recovery", daemon=True)
    reaper.start()
    try:
        consumer.run()
    finally:
        halt.set()
