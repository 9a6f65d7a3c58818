"""Exports in every format: content, blinding modes, formula safety, labels, audit."""

from __future__ import annotations

import csv
import io
import zipfile

import pandas as pd
import pytest
from sqlalchemy import select

from annotate.db.models import Assignment, AuditLog
from annotate.services import assignments, exchange, rating, studies
from annotate.services.errors import PermissionDenied, ServiceError
from tests.support.signing import sign as _sign

DIMS = ("sensitivity_nondistress", "intrusiveness", "positive_regard")
FORMULAS = ('=HYPERLINK("http://x")', "+1+2", "-3-A1", "@SUM(A1)")


def _rows(text: str | bytes) -> list[dict]:
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _score(session, actor, aid, values, note=None, done=True):
    for dim, v in values.items():
        rating.save_rating(session, actor, aid, dim, v, expected_version=0)
    if note is not None:
        rating.save_note(session, actor, aid, note, expected_version=0)
    if done:
        rating.mark_done(session, actor, aid)


@pytest.fixture
def rated(session, settings, people, study):
    """r1 and r2 both get every segment; r1 scores 4 segments, r2 scores 2 of them (one far apart:
    consensus resolved), notes try to smuggle formulas, one score is changed with a reason."""
    assignments.assign_segments(session, people["res"], study, ["r1", "r2"], mode="all", seed=3)
    session.commit()
    by_seg: dict[int, dict[str, int]] = {}
    for a in session.scalars(select(Assignment)):
        by_seg.setdefault(a.segment_id, {})[a.rater.username] = a.id
    segs = sorted(by_seg)[:4]
    for k, sid in enumerate(segs):
        _score(
            session,
            people["r1"],
            by_seg[sid]["r1"],
            {"sensitivity_nondistress": 1 + k % 4, "intrusiveness": 2, "positive_regard": 3},
            note=FORMULAS[k],
        )
    _score(
        session,
        people["r2"],
        by_seg[segs[0]]["r2"],
        {"sensitivity_nondistress": 4, "intrusiveness": 2, "positive_regard": 3},
    )
    _score(
        session,
        people["r2"],
        by_seg[segs[1]]["r2"],
        {"sensitivity_nondistress": 2, "intrusiveness": 1, "positive_regard": 3},
        done=False,
    )
    rating.save_rating(session, people["r2"], by_seg[segs[1]]["r2"], "intrusiveness", 2, expected_version=1, reason="")
    task = rating.consensus_queue(session, people["r1"], settings)[0]
    rating.resolve_consensus(session, people["r1"], task.task_id, 2, "agreed after discussion")
    session.commit()
    return study


def test_streamed_csv_rows_and_modes(session, people, rated):
    # exchange.ratings_csv is this writer into a string: one implementation of the rows.
    res = people["res"]
    for mode in ("masked", "blinded"):
        out = io.StringIO()
        got = exchange.write_ratings_csv(session, res, rated, out, mode=mode)
        rows = _rows(out.getvalue())
        assert got.rows == len(rows) == 4 * 3 + 2 * 3 + 1
        assert ("arm" in rows[0]) == (mode == "masked")
        if mode == "masked":
            assert {r["arm"] for r in rows} <= {"Arm A", "Arm B"}
        assert sum(r["purpose"] == "consensus" for r in rows) == 1
    assert exchange.ratings_csv(session, res, rated, mode="blinded").count("\n") == 4 * 3 + 2 * 3 + 1 + 1
    with pytest.raises(PermissionDenied, match="after unblinding"):
        exchange.write_ratings_csv(session, res, rated, io.StringIO(), mode="full")


def test_no_cell_can_start_a_formula(session, people, rated):
    res = people["res"]
    data = exchange.export_file(session, res, rated, "csv", "blinded").data.decode()
    notes = {r["note"] for r in _rows(data)}
    assert {"'" + f for f in FORMULAS} <= notes
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(exchange.export_file(session, res, rated, "xlsx", "blinded").data))
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    guarded = {c.value: c.quotePrefix for c in cells if isinstance(c.value, str)}
    assert all(guarded[f] for f in FORMULAS)  # the text as typed, a string cell with Excel's quote prefix
    assert not [t for t in guarded if t.startswith("'")]


@pytest.mark.parametrize("fmt", ["csv", "history", "xlsx", "sav", "dta", "parquet", "reliability"])
def test_blinded_exports_have_no_allocation(session, people, rated, fmt):
    f = exchange.export_file(session, people["res"], rated, fmt, "blinded")
    if fmt in ("sav", "dta"):
        assert f.filename.endswith(f"_segments.{fmt}")  # the wide table cannot be blinded
    blob = f.data
    if fmt == "xlsx":
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(blob))
        assert wb.sheetnames == ["ratings", "segments", "codebook", "study info"]
        blob = " ".join(
            str(c.value) for ws in wb.worksheets if ws.title != "codebook" for row in ws.iter_rows() for c in row
        ).encode()
    elif fmt == "reliability":
        with zipfile.ZipFile(io.BytesIO(blob)) as zf:
            blob = b"".join(zf.read(n) for n in zf.namelist() if n.endswith(".csv"))
    elif fmt == "parquet":
        blob = pd.read_parquet(io.BytesIO(blob)).to_csv().encode()
    for secret in (b"P01", b"P02", b"VIPP", b"Control", b"baseline", b"month5", b"IMG_2024"):
        assert secret not in blob, (fmt, secret)
    assert b"CODE0" in blob or fmt in ("sav", "dta")


def test_full_refused_before_unblinding_allowed_after(session, people, rated):
    res = people["res"]
    for fmt in ("csv", "xlsx", "history", "sav", "parquet"):
        with pytest.raises(PermissionDenied):
            exchange.export_file(session, res, rated, fmt, "full", table="segments")
    masked = _rows(exchange.export_file(session, res, rated, "csv", "masked").data)
    assert {r["arm"] for r in masked} <= {"Arm A", "Arm B"}
    studies.set_status(session, res, rated, "locked", signature=_sign(session, res))
    studies.set_status(session, res, rated, "unblinded", "primary analysis", signature=_sign(session, res))
    full = _rows(exchange.export_file(session, res, rated, "csv").data)
    assert {r["arm"] for r in full} <= {"VIPP", "Control"} and {r["participant"] for r in full} <= {"P01", "P02", "P03"}
    with pytest.raises(PermissionDenied):
        exchange.export_file(session, people["r1"], rated, "csv", "blinded")


def test_every_export_is_audited(session, people, rated):
    res = people["res"]
    for fmt in ("csv", "history", "codebook", "reliability", "parquet"):
        exchange.export_file(session, res, rated, fmt, "blinded")
    actions = [a.action for a in session.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert [a for a in actions if a.startswith("export.")] == [
        "export.csv",
        "export.history",
        "export.codebook",
        "export.reliability",
        "export.parquet",
    ]


def test_sav_and_dta_carry_variable_and_value_labels(session, people, rated, tmp_path):
    import pyreadstat

    for fmt, reader in (("sav", pyreadstat.read_sav), ("dta", pyreadstat.read_dta)):
        f = exchange.export_file(session, people["res"], rated, fmt, "masked", table="segments")
        path = tmp_path / f.filename
        path.write_bytes(f.data)
        df, meta = reader(str(path))
        labels = meta.column_names_to_labels
        assert labels["intrusiveness"] == "Intrusiveness" and "NICHD" in labels["sensitivity_composite"]
        assert meta.variable_value_labels["positive_regard"][4] == "highly characteristic"
        assert set(df["arm"]) <= {"Arm A", "Arm B"}
        assert len(df) == 4 + 2 + 1  # r1 x 4, r2 x 2, one consensus row
        r1 = df[(df["rater"] == "r1") & (df["purpose"] == "primary")].sort_values(["recording", "segment"])
        assert sorted(r1["sensitivity_nondistress"]) == [1, 2, 3, 4]
        complete = r1.iloc[0]
        assert complete["sensitivity_composite"] == complete["sensitivity_nondistress"] + (5 - 2) + 3


def test_parquet_keeps_types(session, people, rated):
    f = exchange.export_file(session, people["res"], rated, "parquet", "blinded")
    df = pd.read_parquet(io.BytesIO(f.data))
    assert f.filename.endswith("_ratings.parquet") and len(df) == f.rows == 19
    assert df["value"].dtype == "float64" and df["segment"].min() == 1


EXTRA = (".csv", "_long.csv", "_annotate.json")


def test_reliability_matrix_units_by_raters(session, people, rated):
    f = exchange.export_file(session, people["res"], rated, "reliability")
    with zipfile.ZipFile(io.BytesIO(f.data)) as zf:
        names = set(zf.namelist())
        assert {"README.txt", "reproduce.R", *(f"{d}.csv" for d in DIMS)} <= names
        assert names - {"README.txt", "reproduce.R"} <= {f"{d}{tail}" for d in DIMS for tail in EXTRA}
        m = _rows(zf.read("intrusiveness.csv"))
    assert list(m[0]) == ["unit", "r1", "r2"] and len(m) == 4
    assert sum(r["r2"] == "NA" for r in m) == 2
    assert {r["r2"] for r in m if r["r2"] != "NA"} == {"2"}  # r2's changed score, not the first one


def test_history_has_who_when_why(session, people, rated):
    rows = _rows(exchange.export_file(session, people["res"], rated, "history", "blinded").data)
    changed = [r for r in rows if r["rater"] == "r2" and r["dimension"] == "intrusiveness" and r["old_value"] == "1"]
    assert len(changed) == 1 and changed[0]["new_value"] == "2" and changed[0]["changed_by"] == "r2"
    assert changed[0]["changed_at"][:2] == "20"
    assert any(r["dimension"] == "(note)" for r in rows)


def test_codebook_lists_every_variable(session, people, rated):
    rows = _rows(exchange.export_file(session, people["res"], rated, "codebook").data)
    by = {r["variable"]: r for r in rows}
    assert by["intrusiveness"]["direction"] == "higher_worse" and by["intrusiveness"]["min"] == "1"
    assert by["intrusiveness"]["anchors"].startswith("1 = not at all characteristic")
    assert (
        by["sensitivity_composite"]["min"] == "3"
        and "intrusiveness (reversed)" in by["sensitivity_composite"]["description"]
    )
    md = exchange.export_file(session, people["res"], rated, "codebook", variant="md").data.decode()
    assert md.startswith("# Codebook: T1") and "| positive_regard |" in md


@pytest.fixture
def stub_summaries(monkeypatch):
    """Stands in for outcomes.recording_scores_of (another capability, tested on its own) with its
    signature: the wide table's layout is checked on fixed scores."""
    calls = []

    def recording_scores_of(
        session, actor, study_key, *, outcomes, rule="consensus_else_mean", analysis_set="itt", masked=None
    ):
        return {name: one(name, rule, analysis_set, masked) for name in outcomes}

    def one(dimension, rule, analysis_set, masked):
        calls.append((dimension, rule, analysis_set, masked))
        score = {"sensitivity_nondistress": 2.5, "intrusiveness": 2.0, "positive_regard": 3.0}.get(dimension, 8.5)
        return pd.DataFrame(
            {
                "participant": ["P01", "P01", "P02"],
                "arm": ["Arm A", "Arm A", "Arm B"],
                "timepoint": ["month5", "baseline", "baseline"],
                "score": [score, score + 1, None],
                "n_segments": [2, 2, 0],
                "n_ratings": [3, 3, 0],
                "per_protocol": [True, True, None],
                "age": [31.0, 31.0, 28.0],
            }
        )

    from annotate.services import outcomes

    monkeypatch.setattr(outcomes, "recording_scores_of", recording_scores_of)
    return calls


def test_wide_one_row_per_participant_and_time_point(session, people, rated, stub_summaries):
    f = exchange.export_file(session, people["res"], rated, "wide", "masked", rule="mean", analysis_set="per_protocol")
    rows = _rows(f.data)
    assert [(r["participant"], r["timepoint"]) for r in rows] == [
        ("P01", "baseline"),
        ("P01", "month5"),
        ("P02", "baseline"),
    ]
    assert list(rows[0]) == ["participant", "arm", "timepoint", "per_protocol", "age", *DIMS, "sensitivity_composite"]
    assert rows[0]["intrusiveness"] == "3" and rows[2]["intrusiveness"] == "" and rows[0]["per_protocol"] == "yes"
    assert {c[0] for c in stub_summaries} == {*DIMS, "sensitivity_composite"}
    assert {c[1:] for c in stub_summaries} == {("mean", "per_protocol", True)}
    with pytest.raises(ServiceError, match="cannot be blinded"):
        exchange.export_file(session, people["res"], rated, "wide", "blinded")
    sav = exchange.export_file(session, people["res"], rated, "sav", "masked")
    assert sav.filename.endswith("_wide.sav") and sav.rows == 3
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(exchange.export_file(session, people["res"], rated, "xlsx", "masked").data))
    assert wb.sheetnames == ["ratings", "segments", "wide", "codebook", "study info"]
    assert wb["wide"].freeze_panes == "A2" and wb["ratings"].column_dimensions["A"].width >= 8


def test_wide_with_the_real_summaries_module(session, people, rated):
    pytest.importorskip("annotate.services.outcomes.summaries")
    f = exchange.export_file(session, people["res"], rated, "wide", "masked")
    rows = _rows(f.data)
    keys = [(r["participant"], r["timepoint"]) for r in rows]
    assert rows and len(keys) == len(set(keys)) and {r["arm"] for r in rows} <= {"Arm A", "Arm B"}
    assert [*DIMS, "sensitivity_composite"] == [c for c in rows[0] if c in (*DIMS, "sensitivity_composite")]
    assert any(r["sensitivity_nondistress"] for r in rows)


def _segment_table_in_one_pass(session, study, mode):
    """The segment table as it was built before it was streamed: one dict per row for the study."""
    from annotate.services.exchange.tables import iter_ratings
    from annotate.services.studies.setup import scheme_model

    scheme = scheme_model(study.scheme)
    keys = ["participant", "arm", "timepoint"] if mode != "blinded" else []
    keys += ["recording", "segment", "segment_start_s", "segment_end_s", "rater", "purpose"]
    records: dict = {}
    for r in iter_ratings(session, study, mode):
        k = tuple(r[c] for c in keys)
        row = records.setdefault(k, {**{c: r[c] for c in keys}, "status": r["status"], "note": r["note"]})
        row[r["dimension"]] = r["value"]
    for row in records.values():
        for comp in scheme.composites:
            values = {p.dimension: row.get(p.dimension) for p in comp.parts}
            complete = {name: v for name, v in values.items() if v is not None}
            row[comp.name] = comp.compute(complete, scheme) if len(complete) == len(values) else None
    dims, comps = scheme.dimension_names(), [c.name for c in scheme.composites]
    df = pd.DataFrame(list(records.values()), columns=keys + ["status"] + dims + comps + ["note"])
    for name in dims + comps:
        df[name] = pd.to_numeric(df[name], errors="coerce").astype("float64")
    return df


@pytest.mark.parametrize("mode", ["blinded", "masked"])
def test_segment_table_streamed_per_segment_equals_one_pass(session, people, rated, mode):
    """The segments table (and the Excel sheet) is built one film segment at a time (bounded memory
    at a million ratings); rows, order and values equal the one-pass build, also where a consensus
    score's row key recurs among the ratings (an assignment of purpose consensus, as imports allow)."""
    from annotate.db.models import ConsensusTask
    from annotate.services.exchange import exports, tables
    from annotate.services.studies.setup import get_study

    study = get_study(session, rated)
    task = session.scalars(select(ConsensusTask).where(ConsensusTask.status == "resolved")).one()
    rater_id = task.resolved_by
    clash = Assignment(
        study_id=study.id, segment_id=task.segment_id, rater_id=rater_id, purpose="consensus", scheme_id=study.scheme_id,
        status="open", order_index=10_000,
    )  # fmt: skip
    session.add(clash)
    session.commit()
    resolver = next(p for p in people.values() if p.user_id == rater_id)
    scores = {"sensitivity_nondistress": 2.0, "intrusiveness": 3.0, "positive_regard": 4.0}
    _score(session, resolver, clash.id, scores)  # rating rows with the consensus row's key
    session.commit()
    streamed = tables.segment_table(session, study, mode)
    pd.testing.assert_frame_equal(streamed, _segment_table_in_one_pass(session, study, mode), check_exact=True)
    assert (streamed["purpose"] == "consensus").sum() == 1  # the consensus score merged into that row
    columns = tables.segment_columns(study, mode)
    assert list(exports._segment_rows(session, study, mode, columns)) == list(exports._frame_rows(streamed))
