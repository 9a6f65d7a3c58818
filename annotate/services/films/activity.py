"""Derived media of a film: its activity curve (motion and loudness), kept in the media store
beside its thumbnails (``thumbs/<name>/activity.npz``)."""

from __future__ import annotations

import io
import logging
import tempfile
from pathlib import Path

import numpy as np

from annotate.config import get_settings
from annotate.db.models import Recording
from annotate.media import MediaError
from annotate.media.activity import ActivityCurve, activity_curve
from annotate.services.errors import ServiceError
from annotate.store import MediaStore, StoreError, open_store

log = logging.getLogger(__name__)


def curve_bytes(curve: ActivityCurve) -> bytes:
    buf = io.BytesIO()
    np.savez(
        buf,
        times=curve.times,
        motion=curve.motion,
        fps=curve.fps,
        step_s=curve.step_s,
        has_loudness=curve.loudness is not None,
        loudness=curve.loudness if curve.loudness is not None else np.zeros(0),
    )
    return buf.getvalue()


def compute_activity(proxy: Path, blind_code: str) -> ActivityCurve:
    try:
        return activity_curve(proxy)
    except MediaError as exc:
        log.exception("film %s: activity curve failed", blind_code)
        raise ServiceError(f"The activity curve of film {blind_code} could not be made: {exc}") from None


def cached_activity(rec: Recording, store: MediaStore | None = None) -> ActivityCurve:
    """The film's activity curve, computed once and kept in the media store: it costs a full
    decode of the film, far too much for every page rerun."""
    settings = get_settings()
    store = store or open_store(settings)
    cache = f"{rec.thumbs_dir}/activity.npz" if rec.thumbs_dir else None
    if cache is not None and store.exists(cache):
        with np.load(io.BytesIO(store.get_bytes(cache))) as z:
            loud = z["loudness"] if z["has_loudness"] else None
            return ActivityCurve(z["times"], z["motion"], loud, float(z["fps"]), float(z["step_s"]))
    if not rec.proxy_path:
        raise ServiceError(f"Film {rec.blind_code} has no browser copy yet; wait for its ingest job.")
    try:
        with (
            tempfile.TemporaryDirectory(prefix="annotate-activity-") as tmp,
            store.readable(rec.proxy_path, Path(tmp)) as proxy,
        ):
            curve = compute_activity(proxy, rec.blind_code)
    except StoreError as exc:
        raise ServiceError(f"Film {rec.blind_code}: {exc}") from None
    if cache is not None:
        store.put_bytes(cache, curve_bytes(curve))
    return curve
