"""Running one job: claim it, renew its lease while the handler works, record the outcome.

Handlers are registered by kind as ``module:function`` strings (so this package stays below the
capabilities whose work it runs). A handler is ``run(ctx) -> dict`` and may have a
``<function>_failed(ctx, reason)`` companion that undoes partial work (and marks the film failed)
when the job fails for good or is cancelled.
"""

from __future__ import annotations

import importlib
import logging
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from annotate.config import Settings
from annotate.db.engine import session_factory
from annotate.errors import AnnotateError
from annotate.services.jobs import state
from annotate.store import MediaStore, open_store

log = logging.getLogger(__name__)

HANDLERS: dict[str, str] = {
    "ingest": "annotate.services.films.ingest_job:run_ingest",
    "clip_package": "annotate.services.clips.package_job:run_clip_package",
    "backup": "annotate.services.exchange.backup_job:run_backup",
    "export": "annotate.services.exchange.export_job:run_export",
}


class JobLost(Exception):
    """The job was cancelled, or another worker took it over after this one's lease ran out."""


def scratch_root(settings: Settings) -> Path:
    return settings.data_dir / "tmp" / "jobs"


def scratch_dir(settings: Settings, job_id: int, attempt: int) -> Path:
    """The scratch folder of one attempt of a job, named ``<job>.<attempt>``.

    Why per attempt: the recovery loop of every worker removes scratch folders of attempts that
    are over, from a snapshot of the job table. A job requeued by one worker's recovery can be
    claimed by another worker before that snapshot's clean-up runs; with one folder per job the
    clean-up removed the new attempt's folder mid-transcode. Attempts only grow (each claim adds
    one), so a folder named after a newer attempt than the snapshot knows is never removed.
    """
    return scratch_root(settings) / f"{job_id}.{attempt}"


def parse_scratch_name(name: str) -> tuple[int, int] | None:
    """``(job_id, attempt)`` from a scratch folder's name, or None for any other name."""
    job, dot, attempt = name.partition(".")
    if not dot or not job.isdigit() or not attempt.isdigit():
        return None
    return int(job), int(attempt)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"


@dataclass
class JobContext:
    settings: Settings
    job_id: int
    kind: str
    payload: dict[str, Any]
    recording_id: int | None
    study_id: int | None
    created_by: int | None
    worker: str
    store: MediaStore
    scratch: Path
    sessions: sessionmaker[Session]
    echo: Callable[[float, str], None] | None = None
    lost: threading.Event = field(default_factory=threading.Event)
    _last: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def progress(self, fraction: float, message: str) -> None:
        """Record progress (at most twice a second); raises JobLost when the job was cancelled."""
        if self.lost.is_set():
            raise JobLost(f"job {self.job_id} was cancelled or taken over")
        if self.echo is not None:
            self.echo(fraction, message)
        t = time.monotonic()
        if t - self._last < 0.5 and fraction < 1.0:
            return
        self._last = t
        with self._lock, self.sessions() as s:
            ok = state.heartbeat(s, self.job_id, self.worker, self.settings.job_lease_seconds, fraction, message)
        if not ok:
            self.lost.set()
            raise JobLost(f"job {self.job_id} was cancelled or taken over")

    def beat(self) -> None:
        with self._lock, self.sessions() as s:
            if not state.heartbeat(s, self.job_id, self.worker, self.settings.job_lease_seconds, None, None):
                self.lost.set()


def _load(spec: str) -> tuple[Callable[[JobContext], dict[str, Any]], Callable[[JobContext, str], None] | None]:
    module, name = spec.split(":")
    mod = importlib.import_module(module)
    return getattr(mod, name), getattr(mod, f"{name}_failed", None)


def execute(settings: Settings, job_id: int, echo: Callable[[float, str], None] | None = None) -> str | None:
    """Run job ``job_id`` here if it is still queued; returns its final state (None: not ours).
    ``echo`` also receives the progress (the command line's bar when ingesting in-process)."""
    sessions = session_factory(settings.database_url)
    me = worker_name()
    with sessions() as s:
        if not state.claim(s, job_id, me, settings.job_lease_seconds):
            return None
        job = state.get(s, job_id)
        ctx = JobContext(
            settings,
            job.id,
            job.kind,
            dict(job.payload),
            job.recording_id,
            job.study_id,
            job.created_by,
            me,
            open_store(settings),
            scratch_dir(settings, job.id, job.attempts),
            sessions,
            echo,
        )
        attempts, max_attempts = job.attempts, job.max_attempts
    ctx.scratch.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()

    def pump() -> None:  # keeps the lease while a long step reports no progress
        while not stop.wait(settings.job_lease_seconds / 3):
            try:
                ctx.beat()
            except Exception:
                log.exception("job %d: heartbeat failed", job_id)

    beat = threading.Thread(target=pump, name=f"heartbeat-{job_id}", daemon=True)
    beat.start()
    log.info("job %d (%s) started on %s, attempt %d", job_id, ctx.kind, me, attempts)
    final: str | None
    try:
        run, failed = _load(HANDLERS[ctx.kind])
        try:
            result = run(ctx)
        except JobLost:
            log.warning("job %d stopped: it was cancelled or taken over", job_id)
            if failed is not None and _state_of(sessions, job_id) == "cancelled":
                failed(ctx, "the job was cancelled")
            return None
        except AnnotateError as exc:  # refused input: retrying would give the same answer
            log.warning("job %d (%s) failed: %s", job_id, ctx.kind, exc)
            if failed is not None:
                failed(ctx, str(exc))
            with sessions() as s:
                state.finish(s, job_id, me, "failed", str(exc), {})
            return "failed"
        except Exception as exc:
            log.exception("job %d (%s) raised", job_id, ctx.kind)
            reason = f"{type(exc).__name__}: {exc}"
            if attempts < max_attempts:
                with sessions() as s:
                    requeued = state.requeue(s, job_id, me, reason)
                if requeued:
                    from annotate.services.jobs.queue import send

                    send(settings, job_id)
                return "queued"
            if failed is not None:
                failed(ctx, reason)
            with sessions() as s:
                state.finish(s, job_id, me, "failed", reason, {})
            return "failed"
        with sessions() as s:
            final = "done" if state.finish(s, job_id, me, "done", None, result) else None
        log.info("job %d (%s) done", job_id, ctx.kind)
        return final
    finally:
        stop.set()
        beat.join(timeout=5)
        shutil.rmtree(ctx.scratch, ignore_errors=True)


def _state_of(sessions: sessionmaker[Session], job_id: int) -> str:
    with sessions() as s:
        return state.get(s, job_id).state


def fail_for_good(settings: Settings, job_ids: list[int]) -> None:
    """Run the undo hooks of jobs that :func:`state.expired` failed after their last attempt."""
    sessions = session_factory(settings.database_url)
    for job_id in job_ids:
        with sessions() as s:
            job = state.get(s, job_id)
            ctx = JobContext(
                settings,
                job.id,
                job.kind,
                dict(job.payload),
                job.recording_id,
                job.study_id,
                job.created_by,
                worker_name(),
                open_store(settings),
                scratch_dir(settings, job.id, job.attempts),
                sessions,
            )
            reason = job.error or "the worker stopped"
        _, failed = _load(HANDLERS[ctx.kind])
        if failed is not None:
            failed(ctx, reason)
