"""Event groups of a scheme (``event_groups:``): the ethogram raters code events with.

A scheme may hold, beside its global scales, groups of event codes. Each group has a ``key``
(identifier) and ``label``, and is ``exclusive`` (its states are mutually exclusive: starting
one ends the one running) or not. Each code has a keyboard ``key`` (one character, unique in
the scheme), a ``name`` (identifier, unique in the scheme, the text written in the events
table's ``code`` column), a ``label``, a ``kind`` (``point``: an instant, no offset; ``state``:
has an onset and an offset) and optional ``modifiers`` (allowed values that can qualify an
event, e.g. the side of a touch). Problems are reported like every scheme problem,
``<file>:<line>: event_groups[0].codes[1].key: <problem>``.

Example (YAML)::

    event_groups:
      - key: infant_gaze
        label: Infant gaze
        exclusive: true
        codes:
          - {key: g, name: gaze_parent, label: Looks at parent, kind: state}
          - {key: a, name: gaze_away, label: Looks away, kind: state}
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from annotate.schemes._yaml import IDENTIFIER_PATTERN, Loc, _Problems

Identifier = Annotated[str, Field(pattern=IDENTIFIER_PATTERN, max_length=64)]
Text = Annotated[str, Field(min_length=1)]
EventKind = Literal["point", "state"]

PLAYER_KEYS = frozenset(" ,.<>[]rR")
"""Keys the player itself answers to (play/pause, frame step, speed, replay): no code may take one."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class EventCode(_Model):
    """One code of an event group: keyboard key, name, label, kind and allowed modifiers.

    Examples
    --------
    >>> EventCode(key="t", name="touch", label="Touch", kind="state", modifiers=["hand", "face"]).modifiers
    ('hand', 'face')
    """

    key: str = Field(min_length=1)
    name: Identifier
    label: Text
    kind: EventKind
    description: str = ""
    modifiers: tuple[Text, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> EventCode:
        problems: list[tuple[Loc, str]] = []
        if len(self.key) != 1 or self.key.isspace():
            problems.append((("key",), f"must be one character (the keyboard key that codes it); got {self.key!r}"))
        elif self.key in PLAYER_KEYS:
            problems.append(
                (
                    ("key",),
                    f"{self.key!r} is a player key (space, comma, full stop, < > [ ] and R control playback); "
                    "choose another character",
                )
            )
        seen: dict[str, int] = {}
        for i, value in enumerate(self.modifiers):
            if value in seen:
                problems.append((("modifiers", i), f"duplicate modifier {value!r} (also modifiers[{seen[value]}])"))
            seen.setdefault(value, i)
        if problems:
            raise _Problems(problems)
        return self


class EventGroup(_Model):
    """A group of event codes; ``exclusive``: starting one of its states ends the running one."""

    key: Identifier
    label: Text
    description: str = ""
    exclusive: bool = False
    codes: tuple[EventCode, ...] = Field(min_length=1)

    def code(self, name: str) -> EventCode:
        """The code called ``name``; KeyError naming the valid ones otherwise."""
        for code in self.codes:
            if code.name == name:
                return code
        raise KeyError(f"group {self.key!r} has no code {name!r}; codes: {', '.join(c.name for c in self.codes)}")


def check_event_groups(groups: tuple[EventGroup, ...] | list[EventGroup]) -> list[tuple[Loc, str]]:
    """Problems across groups, as (path relative to the scheme, message).

    Group keys must be unique; code names and keyboard keys must be unique across the whole
    scheme (one keyboard; one ``code`` column in the events table); an exclusive group needs
    at least two states (exclusivity only governs states).

    Examples
    --------
    >>> g = EventGroup(key="gaze", label="Gaze", codes=[EventCode(key="g", name="look", label="Look", kind="state")])
    >>> h = EventGroup(key="touch", label="Touch", codes=[EventCode(key="g", name="touch", label="T", kind="state")])
    >>> [(where, message.split(" (")[0]) for where, message in check_event_groups([g, h])]
    [(('event_groups', 1, 'codes', 0, 'key'), "keyboard key 'g' is already used by code 'look'")]
    """
    problems: list[tuple[Loc, str]] = []
    group_keys: dict[str, int] = {}
    names: dict[str, tuple[int, int]] = {}
    keys: dict[str, tuple[int, int, str]] = {}
    for gi, group in enumerate(groups):
        if group.key in group_keys:
            problems.append(
                (
                    ("event_groups", gi, "key"),
                    (
                        f"duplicate group key {group.key!r} (also "
                        f"event_groups[{group_keys[group.key]}]); give each group its own key"
                    ),
                )
            )
        group_keys.setdefault(group.key, gi)
        for ci, code in enumerate(group.codes):
            where: Loc = ("event_groups", gi, "codes", ci)
            if code.name in names:
                g0, c0 = names[code.name]
                problems.append(
                    (
                        (*where, "name"),
                        (
                            f"duplicate code name {code.name!r} (also "
                            f"event_groups[{g0}].codes[{c0}]); code names are unique across all groups"
                        ),
                    )
                )
            names.setdefault(code.name, (gi, ci))
            if code.key in keys:
                g0, c0, other = keys[code.key]
                problems.append(
                    (
                        (*where, "key"),
                        (
                            f"keyboard key {code.key!r} is already used by code {other!r} "
                            f"(event_groups[{g0}].codes[{c0}]); give each code its own key"
                        ),
                    )
                )
            keys.setdefault(code.key, (gi, ci, code.name))
        if group.exclusive and sum(c.kind == "state" for c in group.codes) < 2:
            problems.append(
                (
                    ("event_groups", gi, "exclusive"),
                    (
                        "an exclusive group needs at least two state codes "
                        "(starting one state ends the other); add a state or set exclusive: false"
                    ),
                )
            )
    return problems


def code_groups(groups: tuple[EventGroup, ...] | list[EventGroup]) -> dict[str, str]:
    """``{code name: group key}``: the ``group`` column of an events table coded with this scheme.

    Examples
    --------
    >>> from annotate.schemes import builtin_schemes_dir, load_scheme
    >>> scheme = load_scheme(builtin_schemes_dir() / "parent_infant_events.yaml")
    >>> code_groups(scheme.event_groups)["gaze_parent"]
    'infant_gaze'
    """
    return {code.name: group.key for group in groups for code in group.codes}
