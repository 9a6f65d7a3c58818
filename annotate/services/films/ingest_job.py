"""The ingest job of one film: probe, checksum, copy the original into the media store, browser
proxy, thumbnails, activity curve (intervention films), segments → ``ready``.

Idempotent: every key it writes is fixed in the job's payload, so a second run overwrites the same
keys; a film already ``ready`` is left alone. Temporary files live in the job's scratch folder,
which the runner empties before and after every attempt. When the job fails for good (or is
cancelled) :func:`run_ingest_failed` removes what it wrote and marks the film ``failed`` with the reason.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

from annotate.db.models import Recording, Segment, Study
from annotate.media import ProxySettings, make_proxy, make_thumbnails, plan_segments, probe
from annotate.services.errors import NotFound, ServiceError
from annotate.services.films.activity import compute_activity, curve_bytes
from annotate.services.films.ingest import sha256_file
from annotate.services.jobs import JobContext
from annotate.store import proxy_key, thumbs_prefix

log = logging.getLogger(__name__)


def encoder_threads(configured: int | None) -> int:
    """Threads per transcode: the configured number, else the cores shared by this worker's jobs."""
    if configured:
        return configured
    per = os.environ.get("ANNOTATE_WORKER_CONCURRENCY")
    cores = os.cpu_count() or 1
    return max(1, cores // max(1, int(per))) if per else 0


@contextlib.contextmanager
def _source(ctx: JobContext) -> Iterator[Path]:
    key = ctx.payload.get("incoming")
    if key:
        with ctx.store.readable(key, ctx.scratch) as path:
            yield path
        return
    src = Path(ctx.payload["source"])
    if not src.is_file():
        raise ServiceError(
            f"The file {src} cannot be read on the worker {ctx.worker.split(':')[0]}: run the worker where the "
            "films are, or upload them through the Films page."
        )
    yield src


def run_ingest(ctx: JobContext) -> dict[str, Any]:
    with ctx.sessions() as s:
        rec = s.get(Recording, ctx.recording_id) if ctx.recording_id else None
        if rec is None:
            raise NotFound(f"The film of job {ctx.job_id} was removed.")
        if rec.status == "ready" and rec.proxy_path and ctx.store.exists(rec.proxy_path):
            return {"film": rec.blind_code}  # an earlier attempt finished; only its bookkeeping was lost
        code, purpose, sha = rec.blind_code, rec.purpose, rec.original_sha256
        study = s.get(Study, rec.study_id)
        segment_seconds = study.segment_seconds if study else 60.0
    store, name = ctx.store, ctx.payload["name"]
    okey, pkey, tprefix = ctx.payload["original"], proxy_key(name), thumbs_prefix(name)
    ctx.progress(0.0, "checking the film")
    with _source(ctx) as src:
        info = probe(src)
        if sha is None:
            sha = sha256_file(src)
        with ctx.sessions() as s:
            twin = s.scalar(
                select(Recording.blind_code).where(
                    Recording.study_id == (study.id if study else None),
                    Recording.original_sha256 == sha,
                    Recording.status == "ready",
                    Recording.id != ctx.recording_id,
                )
            )
        if twin:
            raise ServiceError(f"This file was already ingested as film {twin}; remove this record.")
        ctx.progress(0.05, "copying the original into the media store")
        store.put_file(src, okey)
        local_proxy = ctx.scratch / "proxy.mp4"
        ctx.progress(0.1, "making the browser copy")
        out = make_proxy(
            src,
            local_proxy,
            ProxySettings(threads=encoder_threads(ctx.settings.encoder_threads)),
            progress=lambda f: ctx.progress(0.1 + 0.8 * f, "making the browser copy"),
        )
    ctx.progress(0.92, "thumbnails")
    for thumb in make_thumbnails(local_proxy, ctx.scratch / "thumbs"):
        store.put_file(thumb, f"{tprefix}/{thumb.name}", move=True)
    if purpose == "intervention":
        ctx.progress(0.95, "activity curve")
        store.put_bytes(f"{tprefix}/activity.npz", curve_bytes(compute_activity(local_proxy, code)))
    ctx.progress(0.98, "saving the browser copy")
    store.put_file(local_proxy, pkey, move=True)
    with ctx.sessions() as s:
        rec = s.get(Recording, ctx.recording_id)
        if rec is None:
            raise NotFound(f"The film of job {ctx.job_id} was removed.")
        rec.original_path, rec.proxy_path, rec.thumbs_dir = okey, pkey, tprefix
        rec.original_sha256 = sha
        rec.size_bytes = info.size_bytes
        rec.source_codec = info.video_codec
        rec.duration_s = out.duration_s
        rec.fps = out.fps
        rec.width, rec.height = out.display_width, out.display_height
        rec.has_audio = out.has_audio
        s.execute(delete(Segment).where(Segment.recording_id == rec.id))
        for span in plan_segments(out.duration_s, segment_seconds):
            s.add(Segment(recording_id=rec.id, index=span.index, start_s=span.start_s, end_s=span.end_s))
        rec.status, rec.error = "ready", None
        s.commit()
    if ctx.payload.get("incoming"):
        store.delete(ctx.payload["incoming"])
    log.info("film %s ready", code)
    return {"film": code}


def run_ingest_failed(ctx: JobContext, reason: str) -> None:
    """Undo a film's partial ingest and mark it failed with ``reason`` (never left ``processing``)."""
    name = ctx.payload.get("name")
    with ctx.sessions() as s:
        rec = s.get(Recording, ctx.recording_id) if ctx.recording_id else None
        if rec is not None and rec.status == "ready":
            return
        for key in (ctx.payload.get("original"), proxy_key(name) if name else None):
            if key:
                ctx.store.delete(key)
        if name:
            ctx.store.delete_prefix(thumbs_prefix(name))
        if rec is not None:
            rec.status, rec.error = "failed", reason
            rec.original_path = rec.proxy_path = rec.thumbs_dir = None
            s.commit()
            log.warning("film %s failed: %s", rec.blind_code, reason)
