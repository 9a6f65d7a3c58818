"""Exchange with ELAN (.eaf, EAF 3.0): segments from a time-aligned tier, and an .eaf per film with
our segments and scores as tiers so ELAN users can open our work.

Format reference: the EAF 3.0 schema (http://www.mpi.nl/tools/elan/EAFv3.0.xsd): a ``TIME_ORDER`` of
``TIME_SLOT`` s (milliseconds), then ``TIER`` s holding ``ALIGNABLE_ANNOTATION`` s that point at two
time slots, then ``LINGUISTIC_TYPE`` s. The exported file is blinded: its ``MEDIA_DESCRIPTOR`` names
``<film code>.mp4`` next to the .eaf (never the stored proxy's name or the original file name), and
it has no participant, arm or time point. Notes are kept as typed: CR as ``&#13;`` (parsers would read a bare
CR as LF), TAB, line breaks and leading spaces as they are; the few code points XML 1.0 cannot hold
(C0 controls other than TAB, LF, CR) become U+FFFD. Tiers: ``segments`` (task label, or "segment N" when there
is none; read back as no label),
``<dimension> - <rater>`` per dimension and scoring rater, ``<dimension> - consensus``, ``note - <rater>``.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotate.db.models import Assignment, ConsensusTask, Rating, Recording, User
from annotate.reports.csvio import format_number
from annotate.services.accounts import audit
from annotate.services.actor import Actor, require_role
from annotate.services.errors import ImportRejected, NotFound, RowError, ServiceError
from annotate.services.exchange.imports import SegmentsImportSummary, Span, apply_segments
from annotate.services.policy import SCORING_PURPOSES
from annotate.services.studies.setup import get_study, scheme_model

_PLACEHOLDER = re.compile(r"^segment \d+$")
# XML 1.0 cannot hold these code points at all, not even as character references.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(text: str) -> str:
    r"""Text for an XML element: code points XML 1.0 cannot hold become U+FFFD (everything else is kept;
    CR is written as a character reference by :func:`_eaf_document`, so parsers do not turn it into LF).

    Examples
    --------
    >>> xml_text("a\x0bb\tc\r\n 😀") == "a\ufffdb\tc\r\n 😀"
    True
    """
    return _NOT_XML.sub("\ufffd", text)


@dataclass(frozen=True)
class EafAnnotation:
    start_s: float
    end_s: float
    value: str


def _parse(data: bytes | str) -> ET.Element:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ServiceError(f"The ELAN file is not valid XML ({exc}); export it again from ELAN as .eaf.") from None
    if root.tag != "ANNOTATION_DOCUMENT":
        raise ServiceError(f"This is not an ELAN .eaf file (its root element is {root.tag}, not ANNOTATION_DOCUMENT).")
    return root


def eaf_tiers(data: bytes | str) -> list[str]:
    """Names of the tiers in an .eaf file, in file order.

    Examples
    --------
    >>> eaf_tiers('<ANNOTATION_DOCUMENT><TIER TIER_ID="task"/><TIER TIER_ID="notes"/></ANNOTATION_DOCUMENT>')
    ['task', 'notes']
    """
    return [t.get("TIER_ID", "") for t in _parse(data).iter("TIER")]


def read_eaf_tier(data: bytes | str, tier: str) -> list[EafAnnotation]:
    """The time-aligned annotations of one tier, in time order.

    Examples
    --------
    >>> eaf = ('<ANNOTATION_DOCUMENT><TIME_ORDER><TIME_SLOT TIME_SLOT_ID="t1" TIME_VALUE="0"/>'
    ...        '<TIME_SLOT TIME_SLOT_ID="t2" TIME_VALUE="61500"/></TIME_ORDER><TIER TIER_ID="task">'
    ...        '<ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a1" TIME_SLOT_REF1="t1" TIME_SLOT_REF2="t2">'
    ...        '<ANNOTATION_VALUE>free play</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION></TIER>'
    ...        '</ANNOTATION_DOCUMENT>')
    >>> read_eaf_tier(eaf, "task")
    [EafAnnotation(start_s=0.0, end_s=61.5, value='free play')]
    """
    root = _parse(data)
    slots = {}
    for slot in root.iter("TIME_SLOT"):
        time_value = slot.get("TIME_VALUE")
        if time_value is not None:
            slots[slot.get("TIME_SLOT_ID")] = int(time_value) / 1000.0
    found = [t for t in root.iter("TIER") if t.get("TIER_ID") == tier]
    if not found:
        names = [t.get("TIER_ID", "") for t in root.iter("TIER")]
        raise ServiceError(f"The ELAN file has no tier {tier!r}; its tiers are: {', '.join(names) or 'none'}.")
    out, errors = [], []
    for n, ann in enumerate(found[0].iter("ALIGNABLE_ANNOTATION"), start=1):
        r1, r2 = ann.get("TIME_SLOT_REF1"), ann.get("TIME_SLOT_REF2")
        if r1 not in slots or r2 not in slots:
            errors.append(
                RowError(
                    n, f"annotation {ann.get('ANNOTATION_ID')} has a time slot without a time; align it in ELAN first"
                )
            )
            continue
        value = (ann.findtext("ANNOTATION_VALUE") or "").strip()
        out.append(EafAnnotation(slots[r1], slots[r2], value))
    if errors:
        raise ImportRejected(f"ELAN tier {tier}", errors)
    if not out and any(True for _ in found[0].iter("REF_ANNOTATION")):
        raise ServiceError(
            f"Tier {tier!r} is not time-aligned (it refers to another tier); choose a time-aligned tier."
        )
    return sorted(out, key=lambda a: (a.start_s, a.end_s))


def import_eaf_segments(
    session: Session, actor: Actor, study_key: str, film: str, data: bytes | str, tier: str = "segments"
) -> SegmentsImportSummary:
    """Replace a film's segments by the annotations of an ELAN tier (value = task label).
    Error rows are numbered by the annotation's position in the tier."""
    require_role(actor, "researcher")
    study = get_study(session, study_key)
    annotations = read_eaf_tier(data, tier)
    # "segment N" is what our export writes for a segment without a task label
    spans = [
        Span(n, a.start_s, a.end_s, None if not a.value or _PLACEHOLDER.match(a.value) else a.value)
        for n, a in enumerate(annotations, start=1)
    ]
    if not spans:
        raise ServiceError(f"Tier {tier!r} has no annotations; nothing to import.")
    return apply_segments(session, actor, study, {film: spans}, f"ELAN tier {tier}")


def _eaf_document(code: str, tiers: list[tuple[str, str | None, list[tuple[float, float, str]]]]) -> bytes:
    root = ET.Element(
        "ANNOTATION_DOCUMENT",
        {
            "AUTHOR": "annotate",
            "DATE": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "FORMAT": "3.0",
            "VERSION": "3.0",
            "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
            "xsi:noNamespaceSchemaLocation": "http://www.mpi.nl/tools/elan/EAFv3.0.xsd",
        },
    )
    header = ET.SubElement(root, "HEADER", {"MEDIA_FILE": "", "TIME_UNITS": "milliseconds"})
    ET.SubElement(
        header,
        "MEDIA_DESCRIPTOR",
        {
            "MEDIA_URL": f"file:///{code}.mp4",
            "MIME_TYPE": "video/mp4",
            "RELATIVE_MEDIA_URL": f"./{code}.mp4",
        },
    )
    times = sorted({round(t * 1000) for _, _, anns in tiers for s, e, _ in anns for t in (s, e)})
    slot = {ms: f"ts{i}" for i, ms in enumerate(times, start=1)}
    order = ET.SubElement(root, "TIME_ORDER")
    for ms, sid in slot.items():
        ET.SubElement(order, "TIME_SLOT", {"TIME_SLOT_ID": sid, "TIME_VALUE": str(ms)})
    n = 0
    for tier_id, annotator, anns in tiers:
        attrs = {"LINGUISTIC_TYPE_REF": "default-lt", "TIER_ID": tier_id}
        if annotator:
            attrs["ANNOTATOR"] = annotator
        tier = ET.SubElement(root, "TIER", attrs)
        for s, e, value in anns:
            n += 1
            a = ET.SubElement(
                ET.SubElement(tier, "ANNOTATION"),
                "ALIGNABLE_ANNOTATION",
                {
                    "ANNOTATION_ID": f"a{n}",
                    "TIME_SLOT_REF1": slot[round(s * 1000)],
                    "TIME_SLOT_REF2": slot[round(e * 1000)],
                },
            )
            ET.SubElement(a, "ANNOTATION_VALUE").text = xml_text(value)
    ET.SubElement(header, "PROPERTY", {"NAME": "lastUsedAnnotationId"}).text = str(n)
    ET.SubElement(
        root,
        "LINGUISTIC_TYPE",
        {"GRAPHIC_REFERENCES": "false", "LINGUISTIC_TYPE_ID": "default-lt", "TIME_ALIGNABLE": "true"},
    )
    ET.indent(root)
    # ElementTree writes CR in text as is, and every XML parser reads a bare CR as LF; a character
    # reference keeps it (attributes are escaped by ElementTree itself). Indentation never holds CR.
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True).replace(b"\r", b"&#13;")


def _film_tiers(
    session: Session, rec: Recording, dims: list[str]
) -> list[tuple[str, str | None, list[tuple[float, float, str]]]]:
    segs = {s.id: s for s in rec.segments}
    tiers: list[tuple[str, str | None, list[tuple[float, float, str]]]] = [
        ("segments", None, [(s.start_s, s.end_s, s.task_label or f"segment {s.index + 1}") for s in rec.segments])
    ]
    scores: dict[tuple[str, str], list[tuple[float, float, str]]] = {}
    notes: dict[str, list[tuple[float, float, str]]] = {}
    rows = session.execute(
        select(Assignment, User.username)
        .join(User, Assignment.rater_id == User.id)
        .where(Assignment.segment_id.in_(list(segs)), Assignment.purpose.in_(SCORING_PURPOSES))
        .order_by(User.username, Assignment.id)
    ).all()
    for a, rater in rows:
        seg = segs[a.segment_id]
        for r in session.scalars(select(Rating).where(Rating.assignment_id == a.id, Rating.value.is_not(None))):
            scores.setdefault((r.dimension, rater), []).append(
                (seg.start_s, seg.end_s, format_number(r.value) if r.value is not None else "")
            )
        if a.note:
            notes.setdefault(rater, []).append((seg.start_s, seg.end_s, a.note))
    for task in session.scalars(
        select(ConsensusTask).where(ConsensusTask.segment_id.in_(list(segs)), ConsensusTask.status == "resolved")
    ):
        seg = segs[task.segment_id]
        scores.setdefault((task.dimension, "consensus"), []).append(
            (seg.start_s, seg.end_s, format_number(task.value) if task.value is not None else "")
        )
    rank = {d: i for i, d in enumerate(dims)}
    for (dim, rater), anns in sorted(
        scores.items(), key=lambda kv: (rank.get(kv[0][0], 99), kv[0][1] == "consensus", kv[0][1])
    ):
        tiers.append((f"{dim} - {rater}", None if rater == "consensus" else rater, sorted(anns)))
    for rater, anns in sorted(notes.items()):
        tiers.append((f"note - {rater}", rater, sorted(anns)))
    return tiers


def export_eaf(session: Session, actor: Actor, study_key: str, film: str) -> bytes:
    """One film's segments and scores as an EAF 3.0 document (blinded: film code only)."""
    require_role(actor, "researcher")
    study = get_study(session, study_key)
    rec = session.scalar(select(Recording).where(Recording.study_id == study.id, Recording.blind_code == film))
    if rec is None:
        raise NotFound(f"Film {film!r} is not in study {study.key}.")
    data = _eaf_document(rec.blind_code, _film_tiers(session, rec, scheme_model(study.scheme).dimension_names()))
    audit.record(session, actor, "export.eaf", study_id=study.id, film=film)
    return data


def export_eaf_zip(session: Session, actor: Actor, study_key: str) -> bytes:
    """An .eaf per assessment film of the study (``<film code>.eaf``), in one zip."""
    require_role(actor, "researcher")
    study = get_study(session, study_key)
    dims = scheme_model(study.scheme).dimension_names()
    recs = session.scalars(
        select(Recording)
        .where(Recording.study_id == study.id, Recording.purpose == "assessment")
        .order_by(Recording.blind_code)
    ).all()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for rec in recs:
            if rec.segments:
                zf.writestr(f"{rec.blind_code}.eaf", _eaf_document(rec.blind_code, _film_tiers(session, rec, dims)))
    audit.record(session, actor, "export.eaf", study_id=study.id, films=len(recs))
    return buf.getvalue()


__all__ = ["EafAnnotation", "eaf_tiers", "export_eaf", "export_eaf_zip", "import_eaf_segments", "read_eaf_tier"]
