"""ELAN exchange: segments from an .eaf tier, and a blinded EAF 3.0 file per film with scores as tiers."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile

import pytest
from sqlalchemy import select

from annotate.db.models import Recording
from annotate.services import exchange
from annotate.services.errors import ImportRejected, ServiceError

RATINGS = """film,segment,rater,dimension,value,purpose,note
CODE0,1,r1,sensitivity_nondistress,3,,looks away
CODE0,1,r1,intrusiveness,2,,looks away
CODE0,1,r1,positive_regard,4,,looks away
CODE0,2,r2,intrusiveness,1,reliability,
"""

ELAN_FILE = """<?xml version="1.0" encoding="UTF-8"?>
<ANNOTATION_DOCUMENT AUTHOR="" DATE="2024-01-01T00:00:00+00:00" FORMAT="3.0" VERSION="3.0">
  <HEADER MEDIA_FILE="" TIME_UNITS="milliseconds"/>
  <TIME_ORDER>
    <TIME_SLOT TIME_SLOT_ID="ts1" TIME_VALUE="5000"/><TIME_SLOT TIME_SLOT_ID="ts2" TIME_VALUE="47250"/>
    <TIME_SLOT TIME_SLOT_ID="ts3" TIME_VALUE="47250"/><TIME_SLOT TIME_SLOT_ID="ts4" TIME_VALUE="110000"/>
    <TIME_SLOT TIME_SLOT_ID="ts5"/>
  </TIME_ORDER>
  <TIER LINGUISTIC_TYPE_REF="default-lt" TIER_ID="Task">
    <ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a2" TIME_SLOT_REF1="ts3" TIME_SLOT_REF2="ts4">
      <ANNOTATION_VALUE>book reading</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>
    <ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a1" TIME_SLOT_REF1="ts1" TIME_SLOT_REF2="ts2">
      <ANNOTATION_VALUE>free play</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>
  </TIER>
  <TIER LINGUISTIC_TYPE_REF="default-lt" TIER_ID="Broken">
    <ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a3" TIME_SLOT_REF1="ts1" TIME_SLOT_REF2="ts5">
      <ANNOTATION_VALUE>x</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>
  </TIER>
  <LINGUISTIC_TYPE GRAPHIC_REFERENCES="false" LINGUISTIC_TYPE_ID="default-lt" TIME_ALIGNABLE="true"/>
</ANNOTATION_DOCUMENT>
"""


def test_import_segments_from_a_tier(session, people, study):
    got = exchange.import_eaf_segments(session, people["res"], study, "CODE2", ELAN_FILE.encode(), tier="Task")
    assert (got.films, got.segments) == (1, 2)
    rec = session.scalar(select(Recording).where(Recording.blind_code == "CODE2"))
    assert [(s.index, s.start_s, s.end_s, s.task_label) for s in rec.segments] == [
        (0, 5.0, 47.25, "free play"),
        (1, 47.25, 110.0, "book reading"),
    ]
    assert exchange.import_eaf_segments(session, people["res"], study, "CODE2", ELAN_FILE, tier="Task").unchanged == 1
    with pytest.raises(ServiceError, match="no tier 'task'; its tiers are: Task, Broken"):
        exchange.import_eaf_segments(session, people["res"], study, "CODE2", ELAN_FILE, tier="task")
    with pytest.raises(ImportRejected, match="align it in ELAN"):
        exchange.import_eaf_segments(session, people["res"], study, "CODE2", ELAN_FILE, tier="Broken")
    with pytest.raises(ServiceError, match="not valid XML"):
        exchange.import_eaf_segments(session, people["res"], study, "CODE2", b"<ANNOTATION_DOCUMENT>", tier="Task")


def test_export_is_blinded_eaf_with_scores_as_tiers(session, people, study):
    exchange.import_ratings(session, people["res"], study, RATINGS)
    data = exchange.export_eaf(session, people["res"], study, "CODE0")
    root = ET.fromstring(data)
    assert root.tag == "ANNOTATION_DOCUMENT" and root.get("FORMAT") == "3.0"
    assert [c.tag for c in root][:2] == ["HEADER", "TIME_ORDER"] and root[-1].tag == "LINGUISTIC_TYPE"
    media = root.find("HEADER/MEDIA_DESCRIPTOR")
    assert media.get("RELATIVE_MEDIA_URL") == "./CODE0.mp4" and media.get("MIME_TYPE") == "video/mp4"
    for secret in (b"proxy", b"IMG_2024", b"P01", b"VIPP", b"baseline"):
        assert secret not in data
    tiers = {t.get("TIER_ID"): t for t in root.iter("TIER")}
    assert list(tiers) == [
        "segments",
        "sensitivity_nondistress - r1",
        "intrusiveness - r1",
        "intrusiveness - r2",
        "positive_regard - r1",
        "note - r1",
    ]
    slots = {s.get("TIME_SLOT_ID"): int(s.get("TIME_VALUE")) for s in root.iter("TIME_SLOT")}
    ann = tiers["intrusiveness - r2"].find("ANNOTATION/ALIGNABLE_ANNOTATION")
    assert (slots[ann.get("TIME_SLOT_REF1")], slots[ann.get("TIME_SLOT_REF2")]) == (60000, 120000)
    assert ann.findtext("ANNOTATION_VALUE") == "1"
    # Our own export reads back: the segments tier gives the same segments.
    assert exchange.import_eaf_segments(session, people["res"], study, "CODE0", data).unchanged == 1
    with zipfile.ZipFile(io.BytesIO(exchange.export_eaf_zip(session, people["res"], study))) as zf:
        assert zf.namelist() == ["CODE0.eaf", "CODE1.eaf", "CODE2.eaf", "CODE3.eaf"]
    with pytest.raises(ServiceError, match="not in study"):
        exchange.export_eaf(session, people["res"], study, "NOPE")
