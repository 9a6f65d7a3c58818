"""Media layer: probe films, make browser proxies, thumbnails, segments, synthetic films.

Pure functions over files (PyAV with its bundled FFmpeg, and OpenCV); nothing here
imports the database, services or Streamlit. See DESIGN.md, "Media path".

Examples
--------
>>> from annotate.media import plan_segments
>>> len(plan_segments(10.0, 5.0))
2
"""

from annotate.media.errors import MediaError, UnreadableMediaError
from annotate.media.probe import ProbeResult, probe
from annotate.media.proxy import ProxySettings, make_proxy, output_frame_rate, output_size
from annotate.media.segments import SegmentSpan, plan_segments
from annotate.media.synthetic import generate_sample_media, make_broken_files, make_synthetic_film
from annotate.media.thumbs import frame_at, make_thumbnails

__all__ = [
    "MediaError",
    "UnreadableMediaError",
    "ProbeResult",
    "probe",
    "ProxySettings",
    "make_proxy",
    "output_frame_rate",
    "output_size",
    "SegmentSpan",
    "plan_segments",
    "generate_sample_media",
    "make_broken_files",
    "make_synthetic_film",
    "frame_at",
    "make_thumbnails",
]
