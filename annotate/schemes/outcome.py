"""Rating scales (``kind: outcome``): an instrument's dimensions, anchors and composites.

A scheme describes one instrument as raters use it: its dimensions (range, step, direction,
anchor points with short paraphrased descriptions), optional composites computed from the
dimensions, and segment guidance. The file format is documented field by field in
``rating_schemes/README.md``. Scale facts come from ``/work/shared/domain/scales.md``; every
anchor text shipped here is a paraphrase, never manual text.
"""

from __future__ import annotations

import hashlib
import numbers
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from annotate.schemes._yaml import (
    IDENTIFIER_PATTERN,
    VERSION_PATTERN,
    Loc,
    RatingValueError,
    SchemeError,
    UnknownDimensionError,
    _choices,
    _num,
    _Problems,
    _reject_non_number,
    _show,
    parse_model,
    read_text,
)
from annotate.schemes.events import EventGroup, check_event_groups  # event groups beside the scales (issue 19)

MAX_SCALE_POINTS = 1000  # a finer grid is almost surely a mistyped step
_TOLERANCE = 1e-9
Number = Annotated[float, BeforeValidator(_reject_non_number)]
Identifier = Annotated[str, Field(pattern=IDENTIFIER_PATTERN, max_length=64)]
Text = Annotated[str, Field(min_length=1)]
Direction = Literal["higher_better", "higher_worse"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True)


class Anchor(_Model):
    """A defined scale point: its value, a short label and a paraphrased description."""

    value: Number
    label: Text
    description: str = ""


class Dimension(_Model):
    """One rated dimension (e.g. sensitivity): range, step, direction and anchor points.

    Examples
    --------
    >>> d = Dimension(name="sensitivity", label="Sensitivity", min=1, max=9,
    ...               direction="higher_better",
    ...               anchors=[Anchor(value=9, label="highly sensitive"), Anchor(value=1, label="highly insensitive")])
    >>> d.allowed_values()
    [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    >>> d.check_value(7)
    7.0
    >>> d.check_value(10)
    Traceback (most recent call last):
    ...
    annotate.schemes.RatingValueError: sensitivity must be between 1 and 9 in steps of 1; got 10
    >>> d.anchor_for(9).label
    'highly sensitive'
    >>> d.anchor_for(4) is None
    True
    """

    name: Identifier
    label: Text
    description: str = ""
    min: Number
    max: Number
    step: Number = Field(default=1.0, gt=0)
    direction: Direction
    anchors: list[Anchor] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_grid_and_anchors(self) -> Dimension:
        if self.max <= self.min:
            raise _Problems([(("max",), f"must be greater than min (got min={_num(self.min)}, max={_num(self.max)})")])
        steps = (self.max - self.min) / self.step
        if abs(steps - round(steps)) > _TOLERANCE * max(1.0, steps):
            raise _Problems(
                [
                    (
                        ("step",),
                        f"must divide the range max - min = {_num(self.max - self.min)} into whole "
                        f"steps (got step={_num(self.step)}); choose e.g. 1 or 0.5",
                    )
                ]
            )
        if steps > MAX_SCALE_POINTS:
            raise _Problems(
                [
                    (
                        ("step",),
                        f"gives {round(steps) + 1} scale points (more than {MAX_SCALE_POINTS}); "
                        "check step, min and max",
                    )
                ]
            )
        problems: list[tuple[Loc, str]] = []
        seen: dict[float, int] = {}
        for i, anchor in enumerate(self.anchors):
            where: Loc = ("anchors", i, "value")
            if not self.min - _TOLERANCE <= anchor.value <= self.max + _TOLERANCE:
                problems.append(
                    (where, f"{_num(anchor.value)} is outside the scale range {_num(self.min)} to {_num(self.max)}")
                )
                continue
            snapped = self._snap(anchor.value)
            if snapped is None:
                problems.append(
                    (
                        where,
                        f"{_num(anchor.value)} is not on the step grid "
                        f"(values must be {self._grid_text()}); fix the value or the step",
                    )
                )
            elif snapped in seen:
                problems.append(
                    (
                        where,
                        f"duplicate anchor value {_num(snapped)} (also anchors[{seen[snapped]}]); "
                        "each scale point may have one anchor",
                    )
                )
            else:
                seen[snapped] = i
        if problems:
            raise _Problems(problems)
        return self

    def _snap(self, value: float) -> float | None:
        """The grid point equal to ``value`` up to float noise, or None if off the grid."""
        k = (value - self.min) / self.step
        if abs(k - round(k)) > _TOLERANCE * max(1.0, abs(k)):
            return None
        return round(self.min + round(k) * self.step, 12)

    def _grid_text(self) -> str:
        return f"between {_num(self.min)} and {_num(self.max)} in steps of {_num(self.step)}"

    def allowed_values(self) -> list[float]:
        """Every valid rating, ascending: ``min, min + step, ..., max``."""
        n = round((self.max - self.min) / self.step)
        return [round(self.min + i * self.step, 12) for i in range(n + 1)]

    def check_value(self, value: float) -> float:
        """Return ``value`` as a float on the grid, or raise :class:`RatingValueError` saying what is allowed."""
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != value:
            raise RatingValueError(f"{self.name} must be a number {self._grid_text()}; got {_show(value)}")
        snapped = self._snap(float(value)) if self.min - _TOLERANCE <= value <= self.max + _TOLERANCE else None
        if snapped is None:
            raise RatingValueError(f"{self.name} must be {self._grid_text()}; got {_show(value)}")
        return snapped

    def anchor_for(self, value: float) -> Anchor | None:
        """The anchor defined at ``value``, or None (between anchors, or not a valid value)."""
        for anchor in self.anchors:
            if abs(anchor.value - value) <= _TOLERANCE * max(1.0, abs(value)):
                return anchor
        return None

    def sorted_anchors(self, descending: bool = False) -> list[Anchor]:
        """Anchors ordered by value (files may list them in any order)."""
        return sorted(self.anchors, key=lambda a: a.value, reverse=descending)


class CompositePart(_Model):
    """One dimension's contribution to a composite; ``reverse`` maps v to (min + max) - v."""

    dimension: Identifier
    reverse: bool = False
    weight: Number = Field(default=1.0, gt=0)


class Composite(_Model):
    """A score computed from dimensions (sum or weighted mean), e.g. NICHD-3 maternal sensitivity.

    Examples
    --------
    >>> from annotate.schemes import builtin_schemes_dir
    >>> scheme = load_scheme(builtin_schemes_dir() / "nichd_sensitivity_intrusiveness.yaml")
    >>> nichd3 = scheme.composite("sensitivity_composite")
    >>> [(part.dimension, part.reverse) for part in nichd3.parts]
    [('sensitivity_nondistress', False), ('intrusiveness', True), ('positive_regard', False)]
    >>> nichd3.compute({"sensitivity_nondistress": 3, "intrusiveness": 4, "positive_regard": 2}, scheme)
    6.0
    >>> nichd3.value_range(scheme)
    (3.0, 12.0)
    """

    name: Identifier
    label: Text
    description: str = ""
    method: Literal["sum", "mean"]
    direction: Direction
    parts: list[CompositePart] = Field(min_length=1)

    def _contributions(self, scheme: Scheme) -> list[tuple[CompositePart, Dimension]]:
        return [(part, scheme.dimension(part.dimension)) for part in self.parts]

    def _combine(self, weighted: list[float]) -> float:
        total = sum(weighted)
        if self.method == "mean":
            total /= sum(part.weight for part in self.parts)
        return round(total, 12)

    def compute(self, values: Mapping[str, float], scheme: Scheme) -> float:
        """Composite score from one rater's dimension values (extra keys in ``values`` are ignored)."""
        missing = [part.dimension for part in self.parts if part.dimension not in values]
        if missing:
            raise RatingValueError(f"composite {self.name!r} needs values for: {', '.join(missing)}")
        weighted = []
        for part, dim in self._contributions(scheme):
            value = dim.check_value(values[part.dimension])
            if part.reverse:
                value = (dim.min + dim.max) - value
            weighted.append(part.weight * value)
        return self._combine(weighted)

    def value_range(self, scheme: Scheme) -> tuple[float, float]:
        """Lowest and highest possible composite score (reversal does not change a part's range)."""
        pairs = self._contributions(scheme)
        return (
            self._combine([p.weight * d.min for p, d in pairs]),
            self._combine([p.weight * d.max for p, d in pairs]),
        )


class SegmentGuidance(_Model):
    """How much of a recording to rate; guidance shown to admins when cutting segments."""

    recommended_seconds: Number | None = Field(default=None, gt=0)
    task: str = ""
    note: str = ""


class Scheme(_Model):
    """One versioned rating scheme (``kind: outcome``): an instrument's dimensions and composites.

    Examples
    --------
    >>> from annotate.schemes import builtin_schemes_dir
    >>> scheme = load_scheme(builtin_schemes_dir() / "ainsworth_sensitivity.yaml")
    >>> scheme.key, scheme.version, scheme.dimension_names()
    ('ainsworth_sensitivity', '1.0', ['sensitivity'])
    >>> scheme.dimension("sensitivty")
    Traceback (most recent call last):
    ...
    annotate.schemes.UnknownDimensionError: scheme 'ainsworth_sensitivity' has no dimension 'sensitivty'; valid names: sensitivity (did you mean 'sensitivity'?)
    """

    key: Identifier
    version: Annotated[str, Field(pattern=VERSION_PATTERN, max_length=32)]
    kind: Literal["outcome"] = "outcome"  # issue 6 adds "clip_tags" via a discriminated union on kind
    title: Text
    instrument: Text
    edition: str | None = None
    source: Text
    licence: Text
    placeholder: bool = False  # True: anchor texts are generic stand-ins for a licensed team to replace
    notes: str = ""
    unit: Literal["global"] = "global"
    segment: SegmentGuidance = SegmentGuidance()
    dimensions: list[Dimension] = []  # at least one, unless event_groups are given (checked below)
    composites: list[Composite] = []
    event_groups: list[EventGroup] = []  # issue 19: an ethogram of event codes; see annotate.schemes.events

    @model_validator(mode="after")
    def _check_names(self) -> Scheme:
        problems: list[tuple[Loc, str]] = []
        # --- issue 19: a scheme holds scales, event groups or both
        if not self.dimensions and not self.event_groups:
            problems.append(
                (("dimensions",), "must have at least 1 entry (or give event_groups for an events-only scheme)")
            )
        problems += check_event_groups(self.event_groups)
        # ---
        names: dict[str, int] = {}
        for i, dim in enumerate(self.dimensions):
            if dim.name in names:
                problems.append(
                    (
                        ("dimensions", i, "name"),
                        f"duplicate dimension name {dim.name!r} "
                        f"(also dimensions[{names[dim.name]}]); give each dimension its own name",
                    )
                )
            names.setdefault(dim.name, i)
        composite_names: dict[str, int] = {}
        for c, comp in enumerate(self.composites):
            if comp.name in names or comp.name in composite_names:
                problems.append(
                    (
                        ("composites", c, "name"),
                        f"name {comp.name!r} is already used by a "
                        "dimension or another composite; names must be unique across both",
                    )
                )
            composite_names.setdefault(comp.name, c)
            used: set[str] = set()
            for p, part in enumerate(comp.parts):
                where: Loc = ("composites", c, "parts", p, "dimension")
                if part.dimension not in names:
                    problems.append((where, f"unknown dimension {part.dimension!r}; {_choices(part.dimension, names)}"))
                elif part.dimension in used:
                    problems.append(
                        (
                            where,
                            f"dimension {part.dimension!r} appears twice in this composite; "
                            "list it once and use weight instead",
                        )
                    )
                used.add(part.dimension)
        if problems:
            raise _Problems(problems)
        return self

    def dimension(self, name: str) -> Dimension:
        """The dimension called ``name``; :class:`UnknownDimensionError` lists the valid names."""
        for dim in self.dimensions:
            if dim.name == name:
                return dim
        raise UnknownDimensionError(
            f"scheme {self.key!r} has no dimension {name!r}; {_choices(name, [d.name for d in self.dimensions])}"
        )

    def composite(self, name: str) -> Composite:
        """The composite called ``name``; :class:`UnknownDimensionError` lists the valid names."""
        for comp in self.composites:
            if comp.name == name:
                return comp
        raise UnknownDimensionError(
            f"scheme {self.key!r} has no composite {name!r}; {_choices(name, [c.name for c in self.composites])}"
        )

    def dimension_names(self) -> list[str]:
        """Dimension names in file order."""
        return [dim.name for dim in self.dimensions]


def parse_scheme(text: str, origin: str = "<text>") -> Scheme:
    """Validate YAML text as a rating scheme; any problem raises :class:`SchemeError` naming ``origin``.

    Examples
    --------
    >>> text = '''
    ... key: demo
    ... version: 1.0
    ... title: Demo
    ... instrument: Demo scale
    ... source: none
    ... licence: example only
    ... dimensions:
    ...   - {name: warmth, label: Warmth, min: 1, max: 4, direction: higher_better,
    ...      anchors: [{value: 5, label: high}]}
    ... '''
    >>> try:
    ...     parse_scheme(text, origin="demo.yaml")
    ... except SchemeError as exc:
    ...     print(exc)
    demo.yaml: 2 problems in rating scheme:
      demo.yaml:3: version: must be text; YAML read 1.0 as a number: put the value in quotes
      demo.yaml:10: dimensions[0].anchors[0].value: 5 is outside the scale range 1 to 4
    """
    return parse_model(text, origin, Scheme, "rating scheme")


def load_scheme(path: str | os.PathLike[str]) -> Scheme:
    """Read and validate one scheme file (UTF-8 YAML); problems raise :class:`SchemeError`.

    Examples
    --------
    >>> from annotate.schemes import builtin_schemes_dir
    >>> load_scheme(builtin_schemes_dir() / "eas4_placeholder.yaml").placeholder
    True
    >>> load_scheme(builtin_schemes_dir() / "missing.yaml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    annotate.schemes.SchemeError: ...missing.yaml: cannot read rating scheme file (No such file or directory)
    """
    path = Path(path)
    return parse_scheme(read_text(path), origin=str(path))


def scheme_sha256(text: str) -> str:
    """SHA-256 (hex) of the exact scheme text encoded as UTF-8; pins the scheme once ratings use it.

    Examples
    --------
    >>> scheme_sha256("key: x\\n")[:16]
    'f38fcd26ce3b276a'
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def verify_pin(scheme: Scheme, text: str, pinned_sha256: str | None, origin: str = "<text>") -> None:
    """Raise :class:`SchemeError` if ``text`` differs from the pinned text of the same key and version.

    ``pinned_sha256`` is the hash stored when ratings first used ``(scheme.key, scheme.version)``;
    None means that version is not pinned yet.

    Examples
    --------
    >>> from annotate.schemes import builtin_schemes_dir
    >>> s = parse_scheme(open(builtin_schemes_dir() / "ainsworth_sensitivity.yaml", encoding="utf-8").read())
    >>> verify_pin(s, "edited", pinned_sha256="0" * 64, origin="a.yaml")
    Traceback (most recent call last):
    ...
    annotate.schemes.SchemeError: a.yaml: scheme 'ainsworth_sensitivity' version '1.0' is already used by ratings and its text has changed (pinned sha256 00000000..., file now ...); restore the pinned text or bump 'version'
    """
    current = scheme_sha256(text)
    if pinned_sha256 is not None and pinned_sha256 != current:
        raise SchemeError(
            f"{origin}: scheme {scheme.key!r} version {scheme.version!r} is already used by ratings "
            f"and its text has changed (pinned sha256 {pinned_sha256[:8]}..., file now "
            f"{current[:8]}...); restore the pinned text or bump 'version'"
        )
