"""Media layer: probe films, make browser proxies, thumbnails, segments, clips and packages.

Synthetic test and demo films are made by ``tests/support/synthetic.py`` (not shipped).

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
from annotate.media.thumbs import frame_at, make_thumbnails

__all__ = [
    "MediaError",
    "ProbeResult",
    "ProxySettings",
    "SegmentSpan",
    "UnreadableMediaError",
    "frame_at",
    "make_proxy",
    "make_thumbnails",
    "output_frame_rate",
    "output_size",
    "plan_segments",
    "probe",
]
