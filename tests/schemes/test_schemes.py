"""Tests for annotate.schemes: shipped scheme files, validation messages, scale arithmetic, pinning."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
import yaml

from annotate.config import REPO_ROOT
from annotate.schemes import (
    Anchor,
    Composite,
    CompositePart,
    Dimension,
    RatingValueError,
    Scheme,
    SchemeError,
    SegmentGuidance,
    UnknownDimensionError,
    builtin_schemes_dir,
    load_scheme,
    load_schemes_dir,
    parse_scheme,
    scheme_sha256,
    verify_pin,
)

REPO_SCHEMES = REPO_ROOT / "rating_schemes"
SHIPPED = sorted(p for p in REPO_SCHEMES.glob("*.yaml") if "kind: clip_tags" not in p.read_text())
SHIPPED_VOCABULARIES = sorted(p for p in REPO_SCHEMES.glob("*.yaml") if "kind: clip_tags" in p.read_text())

VALID = """\
key: demo_scale
version: "1.0"
title: Demo scale
instrument: Demo instrument
source: Made up for tests
licence: Test fixture only
dimensions:
  - name: warmth
    label: Warmth
    min: 1
    max: 9
    step: 1
    direction: higher_better
    anchors:
      - {value: 9, label: high}
      - {value: 1, label: low}
  - name: intrusiveness
    label: Intrusiveness
    min: 1
    max: 4
    direction: higher_worse
    anchors:
      - {value: 4, label: high}
composites:
  - name: total
    label: Total
    method: sum
    direction: higher_better
    parts:
      - {dimension: warmth}
      - {dimension: intrusiveness, reverse: true}
"""


def edited(old: str, new: str) -> str:
    """VALID with exactly one occurrence of ``old`` replaced (guards against silent no-op edits)."""
    assert VALID.count(old) == 1, old
    return VALID.replace(old, new)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


# ------------------------------------------------------------------ shipped files


def test_shipped_directory_has_the_required_schemes():
    names = {p.stem for p in SHIPPED}
    assert {"ainsworth_sensitivity", "nichd_sensitivity_intrusiveness"} <= names
    assert builtin_schemes_dir() == REPO_SCHEMES.resolve()


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_file_loads_and_key_matches_file_name(path):
    scheme = load_scheme(path)
    assert scheme.key == path.stem
    assert scheme.licence and scheme.source
    for dim in scheme.dimensions:
        assert dim.anchors, dim.name
        for anchor in dim.anchors:
            assert dim.check_value(anchor.value) == anchor.value


def test_load_schemes_dir_returns_every_shipped_key_with_its_exact_text():
    loaded = load_schemes_dir()
    assert set(loaded) == {p.stem for p in SHIPPED}
    for path in SHIPPED:
        _scheme, text = loaded[path.stem]
        assert text.encode("utf-8") == path.read_bytes()
        assert scheme_sha256(text) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_ainsworth_scheme_matches_the_domain_spec():
    scheme = load_scheme(REPO_SCHEMES / "ainsworth_sensitivity.yaml")
    dim = scheme.dimension("sensitivity")
    assert (dim.min, dim.max, dim.step, dim.direction) == (1, 9, 1, "higher_better")
    labels = {a.value: a.label for a in dim.anchors}
    assert labels == {
        9: "highly sensitive",
        7: "sensitive",
        5: "inconsistently sensitive",
        3: "insensitive",
        1: "highly insensitive",
    }
    assert scheme.segment.recommended_seconds == 600
    assert "Patterns of Attachment" in scheme.source and "1969" in scheme.source
    assert [a.value for a in dim.sorted_anchors()] == [1, 3, 5, 7, 9]


def test_nichd_scheme_composite_reverses_intrusiveness_over_3_to_12():
    scheme = load_scheme(REPO_SCHEMES / "nichd_sensitivity_intrusiveness.yaml")
    assert scheme.dimension("intrusiveness").direction == "higher_worse"
    assert scheme.segment.recommended_seconds == 420
    assert scheme.placeholder is True
    assert "NICHD-style" in scheme.licence and "recalled" in scheme.notes
    composite = scheme.composite("sensitivity_composite")
    assert composite.value_range(scheme) == (3.0, 12.0)
    best = {"sensitivity_nondistress": 4, "intrusiveness": 1, "positive_regard": 4}
    worst = {"sensitivity_nondistress": 1, "intrusiveness": 4, "positive_regard": 1}
    assert composite.compute(best, scheme) == 12.0
    assert composite.compute(worst, scheme) == 3.0
    assert composite.compute({"sensitivity_nondistress": 3, "intrusiveness": 2, "positive_regard": 2}, scheme) == 8.0


def test_eas_placeholder_has_six_dimensions_on_1_to_7():
    scheme = load_scheme(REPO_SCHEMES / "eas4_placeholder.yaml")
    assert scheme.placeholder is True
    assert len(scheme.dimensions) == 6
    assert {(d.min, d.max) for d in scheme.dimensions} == {(1, 7)}


# ------------------------------------------------------------------ scale arithmetic


def test_allowed_values_and_check_value_on_a_half_point_grid():
    dim = Dimension(
        name="x",
        label="X",
        min=1,
        max=3,
        step=0.5,
        direction="higher_better",
        anchors=[Anchor(value=2.5, label="mid-high")],
    )
    assert dim.allowed_values() == [1.0, 1.5, 2.0, 2.5, 3.0]
    assert dim.check_value(2.5) == 2.5
    assert dim.check_value(1.5000000000001) == 1.5  # float noise from a UI widget snaps to the grid
    assert dim.anchor_for(2.5).label == "mid-high"
    assert dim.anchor_for(2.0) is None


def test_tenth_point_grid_has_no_float_noise():
    dim = Dimension(
        name="x", label="X", min=0, max=1, step=0.1, direction="higher_better", anchors=[Anchor(value=0.3, label="a")]
    )
    assert dim.allowed_values()[3] == 0.3
    assert len(dim.allowed_values()) == 11


@pytest.mark.parametrize("bad", [10, 0, 4.5, float("nan"), True, "5", None])
def test_check_value_rejects_off_scale_values_with_the_allowed_range(bad):
    scheme = parse_scheme(VALID)
    with pytest.raises(RatingValueError) as info:
        scheme.dimension("warmth").check_value(bad)
    assert "warmth must be" in str(info.value)
    assert "between 1 and 9 in steps of 1" in str(info.value)


def test_check_value_message_matches_the_documented_form():
    scheme = load_scheme(REPO_SCHEMES / "ainsworth_sensitivity.yaml")
    with pytest.raises(ValueError, match=r"^sensitivity must be between 1 and 9 in steps of 1; got 10$"):
        scheme.dimension("sensitivity").check_value(10)


def test_composite_sum_mean_weights_and_missing_values():
    scheme = parse_scheme(VALID)
    total = scheme.composite("total")
    assert total.compute({"warmth": 7, "intrusiveness": 1, "ignored": 99}, scheme) == 11.0  # 7 + (5 - 1)
    assert total.compute({"warmth": 7, "intrusiveness": 4}, scheme) == 8.0
    mean = parse_scheme(
        edited("method: sum", "method: mean").replace("{dimension: warmth}", "{dimension: warmth, weight: 3}")
    )
    # (3 * 7 + 1 * (5 - 2)) / 4
    assert mean.composite("total").compute({"warmth": 7, "intrusiveness": 2}, mean) == 6.0
    with pytest.raises(RatingValueError, match="needs values for: intrusiveness"):
        total.compute({"warmth": 7}, scheme)
    with pytest.raises(RatingValueError, match="intrusiveness must be between 1 and 4"):
        total.compute({"warmth": 7, "intrusiveness": 5}, scheme)


def test_unknown_dimension_lookup_is_both_scheme_error_and_key_error():
    scheme = parse_scheme(VALID)
    with pytest.raises(UnknownDimensionError) as info:
        scheme.dimension("warmht")
    assert isinstance(info.value, KeyError) and isinstance(info.value, SchemeError)
    assert str(info.value) == (
        "scheme 'demo_scale' has no dimension 'warmht'; valid names: warmth, intrusiveness (did you mean 'warmth'?)"
    )


# ------------------------------------------------------------------ validation messages

MALFORMED = [
    # (label, yaml text, field path or None, fragment of the problem)
    ("not a mapping", "- just\n- a list\n", None, "top level must be a mapping"),
    ("empty file", "", None, "file is empty"),
    ("yaml syntax", edited("title: Demo scale", "title: [Demo scale"), None, "YAML syntax error"),
    ("missing field", edited("instrument: Demo instrument\n", ""), "instrument", "required field is missing"),
    (
        "missing anchor label",
        edited("{value: 4, label: high}", "{value: 4}"),
        "dimensions[1].anchors[0].label",
        "required field is missing",
    ),
    ("wrong type", edited("max: 9", "max: nine"), "dimensions[0].max", "must be a number; got 'nine'"),
    ("bool as number", edited("max: 9", "max: yes"), "dimensions[0].max", "must be a number"),
    ("unquoted version", edited('version: "1.0"', "version: 1.0"), "version", "put the value in quotes"),
    (
        "bad direction",
        edited("direction: higher_worse", "direction: higher-worse"),
        "dimensions[1].direction",
        "'higher_better' or 'higher_worse'",
    ),
    ("bad identifier", edited("name: warmth", "name: Warmth"), "dimensions[0].name", "must be an identifier"),
    (
        "unknown field",
        edited("    step: 1\n", "    stepp: 1\n"),
        "dimensions[0].stepp",
        "unknown field; did you mean 'step'?",
    ),
    ("max below min", edited("max: 9", "max: 0"), "dimensions[0].max", "must be greater than min (got min=1, max=0)"),
    (
        "anchor out of range",
        edited("{value: 9, label: high}", "{value: 10, label: high}"),
        "dimensions[0].anchors[0].value",
        "10 is outside the scale range 1 to 9",
    ),
    (
        "anchor off step",
        edited("{value: 9, label: high}", "{value: 8.5, label: high}"),
        "dimensions[0].anchors[0].value",
        "8.5 is not on the step grid",
    ),
    (
        "duplicate anchor",
        edited("{value: 1, label: low}", "{value: 9, label: low}"),
        "dimensions[0].anchors[1].value",
        "duplicate anchor value 9 (also anchors[0])",
    ),
    (
        "step does not divide",
        edited("    step: 1\n", "    step: 3\n"),
        "dimensions[0].step",
        "must divide the range max - min = 8 into whole steps (got step=3)",
    ),
    ("non-positive step", edited("    step: 1\n", "    step: 0\n"), "dimensions[0].step", "greater than 0"),
    (
        "no anchors",
        edited("      - {value: 4, label: high}\n", "").replace(
            "    direction: higher_worse\n    anchors:\n", "    direction: higher_worse\n    anchors: []\n"
        ),
        "dimensions[1].anchors",
        "at least 1",
    ),
    (
        "duplicate dimension",
        edited("name: intrusiveness", "name: warmth"),
        "dimensions[1].name",
        "duplicate dimension name 'warmth' (also dimensions[0])",
    ),
    (
        "composite unknown dimension",
        edited("{dimension: intrusiveness, reverse: true}", "{dimension: intrusivenes, reverse: true}"),
        "composites[0].parts[1].dimension",
        "unknown dimension 'intrusivenes'; valid names: warmth, intrusiveness",
    ),
    ("composite name clash", edited("  - name: total", "  - name: warmth"), "composites[0].name", "already used"),
    (
        "duplicate yaml key",
        edited("    step: 1\n", "    step: 1\n    step: 2\n"),
        "dimensions[0].step",
        "duplicate key",
    ),
    ("kind not yet supported", edited('version: "1.0"\n', 'version: "1.0"\nkind: clip_tags\n'), "kind", "'outcome'"),
]


@pytest.mark.parametrize("label,text,field,problem", MALFORMED, ids=[case[0] for case in MALFORMED])
def test_malformed_file_gives_scheme_error_with_file_field_and_problem(tmp_path, label, text, field, problem):
    path = write(tmp_path, "broken_scheme.yaml", text)
    with pytest.raises(SchemeError) as info:
        load_scheme(path)
    message = str(info.value)
    assert "broken_scheme.yaml" in message
    assert problem in message
    if field is not None:
        assert f": {field}: " in message, message


def test_field_errors_carry_the_yaml_line_of_the_field(tmp_path):
    text = edited("max: 9", "max: 0")
    line = text.splitlines().index("    max: 0") + 1
    with pytest.raises(SchemeError) as info:
        load_scheme(write(tmp_path, "x.yaml", text))
    assert str(info.value).endswith(f"x.yaml:{line}: dimensions[0].max: must be greater than min (got min=1, max=0)")


def test_yaml_syntax_error_reports_line_and_column(tmp_path):
    text = edited("title: Demo scale", 'title: "Demo scale')
    with pytest.raises(SchemeError) as info:
        load_scheme(write(tmp_path, "x.yaml", text))
    assert re.search(r"x\.yaml:\d+:\d+: YAML syntax error: .*\(line \d+, column \d+\)", str(info.value))


def test_several_problems_are_reported_together(tmp_path):
    text = edited("max: 9", "max: nine").replace("label: Intrusiveness", "lable: Intrusiveness")
    with pytest.raises(SchemeError) as info:
        load_scheme(write(tmp_path, "x.yaml", text))
    message = str(info.value)
    assert "3 problems" in message  # the typo is both an unknown field and a missing label
    assert "dimensions[0].max" in message and "dimensions[1].lable" in message
    assert "dimensions[1].label: required field is missing" in message


def test_non_utf8_file_is_reported(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(VALID.replace("Made up", "Gemacht für").encode("latin-1"))
    with pytest.raises(SchemeError, match=r"latin1\.yaml: not UTF-8"):
        load_scheme(path)


def test_valid_text_round_trips_and_is_a_scheme():
    scheme = parse_scheme(VALID, origin="demo.yaml")
    assert isinstance(scheme, Scheme)
    assert scheme.dimension_names() == ["warmth", "intrusiveness"]
    assert scheme.kind == "outcome" and scheme.unit == "global" and scheme.segment.recommended_seconds is None
    again = Scheme.model_validate(yaml.safe_load(VALID))
    assert again == scheme


# ------------------------------------------------------------------ hashing, pinning, directories


def test_sha256_is_stable_and_sensitive_to_any_byte():
    assert scheme_sha256(VALID) == scheme_sha256(VALID)
    assert scheme_sha256("key: x\n") == "f38fcd26ce3b276ae1ea27e02a94fa61b14ec77843a5f5e28f09b5a8a26af3c9"
    assert scheme_sha256(VALID) != scheme_sha256(VALID.replace("\n", "\r\n"))


def test_crlf_file_keeps_its_exact_text_for_the_hash(tmp_path):
    crlf = VALID.replace("\n", "\r\n")
    write(tmp_path, "demo_scale.yaml", crlf)
    scheme, text = load_schemes_dir(tmp_path)["demo_scale"]
    assert text == crlf and scheme.key == "demo_scale"


def test_verify_pin_accepts_same_text_and_rejects_edits_without_version_bump():
    scheme = parse_scheme(VALID)
    verify_pin(scheme, VALID, pinned_sha256=None)
    verify_pin(scheme, VALID, pinned_sha256=scheme_sha256(VALID))
    with pytest.raises(SchemeError, match=r"demo\.yaml: scheme 'demo_scale' version '1\.0' .* bump 'version'"):
        verify_pin(scheme, VALID + "# edited\n", pinned_sha256=scheme_sha256(VALID), origin="demo.yaml")


def test_duplicate_keys_across_files_name_both_files(tmp_path):
    write(tmp_path, "a_first.yaml", VALID)
    write(tmp_path, "b_second.yml", VALID)
    with pytest.raises(SchemeError) as info:
        load_schemes_dir(tmp_path)
    message = str(info.value)
    assert "a_first.yaml" in message and "b_second.yml" in message and "'demo_scale'" in message


def test_directory_errors_from_several_files_are_collected(tmp_path):
    write(tmp_path, "one.yaml", edited("max: 9", "max: 0"))
    write(tmp_path, "two.yaml", "- not a mapping\n")
    write(tmp_path, "README.md", "not a scheme")
    with pytest.raises(SchemeError) as info:
        load_schemes_dir(tmp_path)
    message = str(info.value)
    assert "2 rating scheme files have problems" in message
    assert "one.yaml" in message and "two.yaml" in message and "README" not in message


def test_missing_directory_and_env_override(tmp_path, monkeypatch):
    with pytest.raises(SchemeError, match="does not exist"):
        load_schemes_dir(tmp_path / "nope")
    write(tmp_path, "demo_scale.yaml", VALID)
    monkeypatch.setenv("ANNOTATE_SCHEMES_DIR", str(tmp_path))
    assert builtin_schemes_dir() == tmp_path.resolve()
    assert list(load_schemes_dir()) == ["demo_scale"]


# ------------------------------------------------------------------ format document

README = REPO_SCHEMES / "README.md"


def test_readme_full_example_is_a_valid_scheme():
    text = README.read_text(encoding="utf-8")
    example = text.split("## Full example", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    scheme = parse_scheme(example, origin="README.md example")
    assert scheme.composite("positive_parenting").value_range(scheme) == (2.0, 14.0)
    assert scheme.dimension("warmth").allowed_values()[:3] == [1.0, 1.5, 2.0]


def test_readme_documents_every_field_of_the_format():
    text = README.read_text(encoding="utf-8")
    for model in (Scheme, SegmentGuidance, Dimension, Anchor, Composite, CompositePart):
        for field in model.model_fields:
            assert f"`{field}`" in text or f"{field}:" in text, f"{model.__name__}.{field} is not documented"


# ------------------------------------------------------------------ clip-tag vocabularies


def test_clip_vocabulary_ships_and_loads():
    from annotate.schemes import load_clip_vocabularies

    assert [p.stem for p in SHIPPED_VOCABULARIES] == ["vipp_feedback_clips"]
    vocab, _text = load_clip_vocabularies(REPO_SCHEMES)["vipp_feedback_clips"]
    themes = [t.name for t in vocab.group("vipp_theme").tags]
    assert themes[:4] == ["exploration_attachment", "speaking_for_child", "sensitivity_chain", "sharing_emotions"]
    assert len(vocab.group("therapeutic_process").tags) == 7
    assert [t.name for t in vocab.group("polarity").tags] == ["strength", "growth_point"]
    assert vocab.group("flags").tags[0].name == "now_moment"


def test_clip_tags_checked():
    from annotate.schemes import SchemeError, load_clip_vocabularies

    vocab = load_clip_vocabularies(REPO_SCHEMES)["vipp_feedback_clips"][0]
    with pytest.raises(SchemeError, match="Choose a tag for: Polarity"):
        vocab.check_tags({"vipp_theme": ["sharing_emotions"]})
    with pytest.raises(SchemeError, match="choose one tag"):
        vocab.check_tags({"polarity": ["strength", "growth_point"]})
    with pytest.raises(SchemeError, match="unknown tag"):
        vocab.check_tags({"polarity": ["great"]})
    ok = vocab.check_tags({"polarity": ["strength"], "therapeutic_process": ["narration", "processing"]})
    assert ok["therapeutic_process"] == ["narration", "processing"]


def test_malformed_vocabulary_names_file_and_field(tmp_path):
    from annotate.schemes import SchemeError, parse_vocabulary

    text = "key: v\nversion: '1'\nkind: clip_tags\ntitle: T\nsource: s\nlicence: l\ngroups:\n  - {name: g, label: G, tags: []}\n"
    with pytest.raises(SchemeError, match=r"v.yaml:8: groups\[0\]\.tags: must have at least 1 entry"):
        parse_vocabulary(text, origin="v.yaml")
