"""Films and the media store: ingest (probe, copy under a random name, proxy, thumbnails,
segments), the film list, signed media URLs, the check made on every media request, and
derived media (activity curves).

The names below are the capability's public API; callers import the package, not its modules.
"""

from __future__ import annotations

from annotate.services.films.access import (
    proxy_for,
)
from annotate.services.films.activity import (
    cached_activity,
)
from annotate.services.films.ingest import (
    VIDEO_SUFFIXES,
    IngestItem,
    IngestOutcome,
    QueuedFilm,
    RecordingInfo,
    enqueue_ingest,
    enqueue_uploads,
    expand_paths,
    ingest,
    items_from_manifest,
    items_from_pattern,
    list_recordings,
    new_blind_code,
    sha256_file,
)
from annotate.services.films.store_admin import StoreReport, check_store, remove_film
from annotate.services.films.tokens import (
    MediaGrant,
    sign_media_url,
    verify_media_token,
)

__all__ = [
    "VIDEO_SUFFIXES",
    "IngestItem",
    "IngestOutcome",
    "MediaGrant",
    "QueuedFilm",
    "RecordingInfo",
    "StoreReport",
    "cached_activity",
    "check_store",
    "enqueue_ingest",
    "enqueue_uploads",
    "expand_paths",
    "ingest",
    "items_from_manifest",
    "items_from_pattern",
    "list_recordings",
    "new_blind_code",
    "proxy_for",
    "remove_film",
    "sha256_file",
    "sign_media_url",
    "verify_media_token",
]
