"""Exports as jobs: the ratings of a large study as xlsx, SPSS or CSV take a minute; a worker
writes the file into the media store (``exports/<hex>.<ext>``) and the researcher who asked
downloads it from the Data page whenever it is ready, with the tab closed meanwhile.

Idempotent: the store key is fixed when the job is queued and an attempt overwrites it; a failed
job leaves no file. The CSV formats are written to a scratch file line by line (no whole file in
memory), the others are the bytes of :func:`exports.export_file`. Permission and the export mode
are checked when the job is queued and again when the worker runs it (as the asking account).
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy.orm import Session

from annotate.config import Settings
from annotate.db.models_jobs import Job
from annotate.services import jobs
from annotate.services.accounts import actor_by_id
from annotate.services.actor import Actor, require_role
from annotate.services.errors import ServiceError
from annotate.services.exchange.exports import FORMATS, MIME, export_file, write_history_csv, write_ratings_csv
from annotate.services.exchange.tables import resolve_mode
from annotate.services.jobs import JobContext
from annotate.services.policy import READ_ROLES
from annotate.services.studies.setup import get_study

KIND = "export"
_SUFFIX = {"csv": "csv", "wide": "csv", "history": "csv", "codebook": "csv", "reliability": "zip"}
_STREAMED = {"csv": (write_ratings_csv, "ratings"), "history": (write_history_csv, "history")}


def enqueue_export(
    session: Session,
    actor: Actor,
    settings: Settings,
    study_key: str,
    fmt: str,
    mode: str,
    *,
    table: str | None = None,
    analysis_set: str = "itt",
) -> Job:
    """Queue one export of ``study_key`` for ``actor`` (who may read the study in that mode)."""
    require_role(actor, *READ_ROLES)
    if fmt not in FORMATS:
        raise ServiceError(f"Export format must be one of {', '.join(FORMATS)}; got {fmt!r}.")
    study = get_study(session, study_key)
    mode = resolve_mode(study, mode, f"The full {fmt} export")
    payload = {
        "study": study.key,
        "format": fmt,
        "mode": mode,
        "table": table,
        "analysis_set": analysis_set,
        "key": f"exports/{secrets.token_hex(16)}.{_SUFFIX.get(fmt, fmt)}",
    }
    return jobs.enqueue(session, settings, KIND, payload, study_id=study.id, created_by=actor.user_id)


def run_export(ctx: JobContext) -> dict[str, Any]:
    p = ctx.payload
    with ctx.sessions() as s:
        actor = actor_by_id(s, ctx.created_by, f"The account that asked for job {ctx.job_id} no longer exists.")
        ctx.progress(0.05, f"writing the {p['format']} export")
        if p["format"] in _STREAMED:
            writer, stem = _STREAMED[p["format"]]
            path = ctx.scratch / "export.csv"
            with path.open("w", encoding="utf-8", newline="") as out:
                rows = writer(s, actor, p["study"], out, p["mode"]).rows
            name, mime = f"{p['study']}_{p['mode']}_{stem}.csv", MIME[p["format"]]
        else:
            f = export_file(
                s, actor, p["study"], p["format"], p["mode"], table=p.get("table"), analysis_set=p["analysis_set"]
            )
            path = ctx.scratch / "export.bin"
            path.write_bytes(f.data)
            rows, name, mime = f.rows, f.filename, f.mime
        s.commit()  # the audit entry of the export
    ctx.progress(0.95, "storing the file")
    ctx.store.put_file(path, p["key"], move=True)
    return {"key": p["key"], "name": name, "mime": mime, "rows": rows}


def run_export_failed(ctx: JobContext, reason: str) -> None:
    ctx.store.delete(ctx.payload["key"])
