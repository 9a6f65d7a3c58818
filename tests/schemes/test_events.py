"""Event groups in schemes: the shipped ethogram, validation messages with file:line:field."""

from __future__ import annotations

import pytest

from annotate.config import REPO_ROOT
from annotate.schemes import (
    EventGroup,
    SchemeError,
    code_groups,
    load_scheme,
    load_schemes_dir,
    parse_scheme,
)

REPO_SCHEMES = REPO_ROOT / "rating_schemes"

EVENTS_ONLY = """\
key: demo_events
version: "1.0"
title: Demo events
instrument: Demo ethogram
source: Made up for tests
licence: Test fixture only
event_groups:
  - key: gaze
    label: Gaze
    exclusive: true
    codes:
      - {key: g, name: look, label: Looks at parent, kind: state}
      - {key: a, name: away, label: Looks away, kind: state}
  - key: voice
    label: Voice
    codes:
      - {key: v, name: coo, label: Coos, kind: point, modifiers: [soft, loud]}
"""


def edited(old: str, new: str) -> str:
    assert EVENTS_ONLY.count(old) == 1, old
    return EVENTS_ONLY.replace(old, new)


def message(text: str) -> str:
    with pytest.raises(SchemeError) as info:
        parse_scheme(text, origin="x.yaml")
    return str(info.value)


def test_shipped_ethogram_loads_with_the_other_schemes() -> None:
    loaded = load_schemes_dir()
    assert "parent_infant_events" in loaded and "ainsworth_sensitivity" in loaded
    scheme = load_scheme(REPO_SCHEMES / "parent_infant_events.yaml")
    assert [g.key for g in scheme.event_groups] == [
        "infant_gaze",
        "maternal_touch",
        "vocalisation",
        "infant_affect",
        "maternal_affect",
        "now_moment",
    ]
    gaze = scheme.event_groups[0]
    assert gaze.exclusive and {c.kind for c in gaze.codes} == {"state"}
    assert scheme.event_groups[-1].code("now_moment").kind == "point"
    assert scheme.event_groups[1].code("touch_affectionate").modifiers == ("face", "hands", "torso", "legs_feet")
    assert code_groups(scheme.event_groups)["infant_vocal"] == "vocalisation"
    keys = [c.key for g in scheme.event_groups for c in g.codes]
    assert len(keys) == len(set(keys)) and all(len(k) == 1 for k in keys)
    assert scheme.dimension_names() == ["codability"]


def test_events_only_scheme_needs_no_dimensions() -> None:
    scheme = parse_scheme(EVENTS_ONLY)
    assert scheme.dimensions == [] and isinstance(scheme.event_groups[0], EventGroup)


def test_a_scheme_needs_dimensions_or_event_groups() -> None:
    text = EVENTS_ONLY.split("event_groups:")[0]
    assert message(text) == (
        "x.yaml: dimensions: must have at least 1 entry (or give event_groups for an events-only scheme)"
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "{key: g, name: look",
            "{key: gg, name: look",
            (
                "x.yaml:12: event_groups[0].codes[0].key: must be one "
                "character (the keyboard key that codes it); got 'gg'"
            ),
        ),
        (
            "{key: a, name: away",
            "{key: g, name: away",
            (
                "x.yaml:13: event_groups[0].codes[1].key: keyboard key 'g' "
                "is already used by code 'look' (event_groups[0].codes[0]); give each code its own key"
            ),
        ),
        (
            "{key: v, name: coo",
            "{key: v, name: look",
            (
                "x.yaml:17: event_groups[1].codes[0].name: duplicate code "
                "name 'look' (also event_groups[0].codes[0]); code names are unique across all groups"
            ),
        ),
        ("kind: point", "kind: event", "x.yaml:17: event_groups[1].codes[0].kind: must be 'point' or 'state'"),
        (
            "modifiers: [soft, loud]",
            "modifiers: [soft, soft]",
            ("x.yaml:17: event_groups[1].codes[0].modifiers[1]: duplicate modifier 'soft' (also modifiers[0])"),
        ),
        (
            "  - key: voice",
            "  - key: gaze",
            (
                "x.yaml:14: event_groups[1].key: duplicate group key 'gaze' (also "
                "event_groups[0]); give each group its own key"
            ),
        ),
        (
            "    label: Voice\n",
            "    label: Voice\n    exclusive: true\n",
            ("x.yaml:16: event_groups[1].exclusive: an exclusive group needs at least two state codes"),
        ),
        (
            "{key: g, name: look, label: Looks at parent, kind: state}",
            "{key: g, name: look, label: Looks at parent, kind: state, colour: red}",
            "x.yaml:12: event_groups[0].codes[0].colour: unknown field",
        ),
        ("name: look", "name: Look", "x.yaml:12: event_groups[0].codes[0].name: must be an identifier"),
        (
            "{key: g, name: look",
            "{key: r, name: look",
            "x.yaml:12: event_groups[0].codes[0].key: 'r' is a player key",
        ),
    ],
)
def test_problems_name_file_line_and_field(old: str, new: str, expected: str) -> None:
    assert expected in message(edited(old, new))
