"""Rating schemes: the pydantic model of a scale and the loader/validator for ``rating_schemes/*.yaml``.

A scheme describes one instrument as raters use it: its dimensions (range, step, direction,
anchor points with short paraphrased descriptions), optional composites computed from the
dimensions, and segment guidance. The file format is documented field by field in
``rating_schemes/README.md``. Scale facts come from ``/work/shared/domain/scales.md``; every
anchor text shipped here is a paraphrase, never manual text.

Errors in a scheme file surface as :class:`SchemeError` with messages of the form
``<file>:<line>: <field path>: <problem>``, e.g.
``rating_schemes/x.yaml:14: dimensions[0].max: must be greater than min (got min=9, max=1)``.
A rating value outside a dimension's grid raises :class:`RatingValueError`.
"""

from __future__ import annotations

import difflib
import hashlib
import numbers
import os
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

__all__ = [
    "Anchor", "Composite", "CompositePart", "Dimension", "RatingValueError", "Scheme", "SchemeError",
    "SegmentGuidance", "UnknownDimensionError", "builtin_schemes_dir", "load_scheme",
    "load_schemes_dir", "parse_scheme", "scheme_sha256", "verify_pin",
]

IDENTIFIER_PATTERN = r"^[a-z][a-z0-9_]*$"
VERSION_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z._-]*$"
MAX_SCALE_POINTS = 1000  # a finer grid is almost surely a mistyped step
_TOLERANCE = 1e-9
Loc = tuple[str | int, ...]


class SchemeError(ValueError):
    """A scheme file or scheme lookup is invalid; the message says where and how to fix it."""


class UnknownDimensionError(SchemeError, KeyError):
    """A dimension or composite name that the scheme does not define."""

    __str__ = BaseException.__str__  # KeyError would quote the whole message


class RatingValueError(ValueError):
    """A rating value that is not on a dimension's scale (wrong range, off the step grid, not a number)."""


class _Problems(ValueError):
    """Problems found by a model validator, each with a field path relative to that model."""

    def __init__(self, problems: list[tuple[Loc, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{_format_loc(loc)}: {msg}" for loc, msg in problems))


def _reject_non_number(value: Any) -> Any:
    # pydantic's lax float accepts True and "5"; in a scheme file both are almost surely typos
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"must be a number; got {_show(value)}")
    return value


Number = Annotated[float, BeforeValidator(_reject_non_number)]
Identifier = Annotated[str, Field(pattern=IDENTIFIER_PATTERN, max_length=64)]
Text = Annotated[str, Field(min_length=1)]
Direction = Literal["higher_better", "higher_worse"]


def _num(x: float) -> str:
    """Format a number for messages: ``9.0 -> '9'``, ``0.5 -> '0.5'``."""
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _show(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return f"{value!r} ({type(value).__name__})"
    if isinstance(value, numbers.Real):
        return _num(value)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _format_loc(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


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
            raise _Problems([(("step",), f"must divide the range max - min = {_num(self.max - self.min)} into whole "
                              f"steps (got step={_num(self.step)}); choose e.g. 1 or 0.5")])
        if steps > MAX_SCALE_POINTS:
            raise _Problems([(("step",), f"gives {round(steps) + 1} scale points (more than {MAX_SCALE_POINTS}); "
                              "check step, min and max")])
        problems: list[tuple[Loc, str]] = []
        seen: dict[float, int] = {}
        for i, anchor in enumerate(self.anchors):
            where: Loc = ("anchors", i, "value")
            if not self.min - _TOLERANCE <= anchor.value <= self.max + _TOLERANCE:
                problems.append((where, f"{_num(anchor.value)} is outside the scale range "
                                        f"{_num(self.min)} to {_num(self.max)}"))
                continue
            snapped = self._snap(anchor.value)
            if snapped is None:
                problems.append((where, f"{_num(anchor.value)} is not on the step grid "
                                        f"(values must be {self._grid_text()}); fix the value or the step"))
            elif snapped in seen:
                problems.append((where, f"duplicate anchor value {_num(snapped)} (also anchors[{seen[snapped]}]); "
                                        "each scale point may have one anchor"))
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
        return (self._combine([p.weight * d.min for p, d in pairs]),
                self._combine([p.weight * d.max for p, d in pairs]))


class SegmentGuidance(_Model):
    """How much of a recording to rate; guidance shown to admins when cutting segments."""

    recommended_seconds: Number | None = Field(default=None, gt=0)
    task: str = ""
    note: str = ""


class Scheme(_Model):
    """One versioned rating scheme (``kind: outcome``): an instrument's dimensions and composites.

    Examples
    --------
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
    dimensions: list[Dimension] = Field(min_length=1)
    composites: list[Composite] = []

    @model_validator(mode="after")
    def _check_names(self) -> Scheme:
        problems: list[tuple[Loc, str]] = []
        names: dict[str, int] = {}
        for i, dim in enumerate(self.dimensions):
            if dim.name in names:
                problems.append((("dimensions", i, "name"), f"duplicate dimension name {dim.name!r} "
                                 f"(also dimensions[{names[dim.name]}]); give each dimension its own name"))
            names.setdefault(dim.name, i)
        composite_names: dict[str, int] = {}
        for c, comp in enumerate(self.composites):
            if comp.name in names or comp.name in composite_names:
                problems.append((("composites", c, "name"), f"name {comp.name!r} is already used by a "
                                 "dimension or another composite; names must be unique across both"))
            composite_names.setdefault(comp.name, c)
            used: set[str] = set()
            for p, part in enumerate(comp.parts):
                where: Loc = ("composites", c, "parts", p, "dimension")
                if part.dimension not in names:
                    problems.append((where, f"unknown dimension {part.dimension!r}; "
                                     f"{_choices(part.dimension, names)}"))
                elif part.dimension in used:
                    problems.append((where, f"dimension {part.dimension!r} appears twice in this composite; "
                                     "list it once and use weight instead"))
                used.add(part.dimension)
        if problems:
            raise _Problems(problems)
        return self

    def dimension(self, name: str) -> Dimension:
        """The dimension called ``name``; :class:`UnknownDimensionError` lists the valid names."""
        for dim in self.dimensions:
            if dim.name == name:
                return dim
        raise UnknownDimensionError(f"scheme {self.key!r} has no dimension {name!r}; "
                                    f"{_choices(name, [d.name for d in self.dimensions])}")

    def composite(self, name: str) -> Composite:
        """The composite called ``name``; :class:`UnknownDimensionError` lists the valid names."""
        for comp in self.composites:
            if comp.name == name:
                return comp
        raise UnknownDimensionError(f"scheme {self.key!r} has no composite {name!r}; "
                                    f"{_choices(name, [c.name for c in self.composites])}")

    def dimension_names(self) -> list[str]:
        """Dimension names in file order."""
        return [dim.name for dim in self.dimensions]


def _choices(name: str, valid: typing.Iterable[str]) -> str:
    valid = list(valid)
    if not valid:
        return "none are defined"
    text = f"valid names: {', '.join(valid)}"
    close = difflib.get_close_matches(name, valid, n=1)
    return text + (f" (did you mean {close[0]!r}?)" if close else "")


# ---------------------------------------------------------------- YAML -> Scheme, with readable errors

def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The model class that validates the mapping found at ``loc`` (for listing allowed fields)."""
    model: type[BaseModel] = Scheme
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        found = _find_model(field.annotation) if field else None
        if found is None:
            return None
        model = found
    return model


def _find_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _find_model(arg)
        if found:
            return found
    return None


def _describe(error: Mapping[str, Any]) -> list[tuple[Loc, str]]:
    """Turn one pydantic error into (field path, readable problem) pairs."""
    loc, kind, value = tuple(error["loc"]), error["type"], error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "value_error" and isinstance(ctx.get("error"), _Problems):
        return [(loc + sub, msg) for sub, msg in ctx["error"].problems]
    if kind == "value_error":
        return [(loc, str(ctx.get("error", error["msg"])))]
    if kind == "missing":
        return [(loc, "required field is missing; add it (see rating_schemes/README.md)")]
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = list(model.model_fields) if model else []
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return [(loc, f"unknown field; {hint}allowed here: {', '.join(allowed)}")]
    if kind == "string_type":
        if isinstance(value, (bool, int, float)) or hasattr(value, "isoformat"):
            # YAML turns 1.0, 2024-01-01 and yes/no into numbers, dates and booleans
            what = "true/false" if isinstance(value, bool) else "a number" if isinstance(value, (int, float)) else "a date"
            return [(loc, f"must be text; YAML read {value} as {what}: put the value in quotes")]
        return [(loc, f"must be text; got {_show(value)}")]
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == IDENTIFIER_PATTERN:
        return [(loc, f"must be an identifier (a lowercase letter, then lowercase letters, digits or _), "
                      f"e.g. 'positive_regard'; got {_show(value)}")]
    if kind == "string_pattern_mismatch":
        return [(loc, f"must be letters/digits with . _ or - and no spaces, e.g. '1.0'; got {_show(value)}")]
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return [(loc, f"must be a mapping of 'field: value' lines; got {_show(value)}")]
    if kind == "list_type":
        return [(loc, f"must be a list ('- item' lines or [a, b]); got {_show(value)}")]
    if kind == "too_short":
        n = ctx.get("min_length", 1)
        return [(loc, f"must have at least {n} {'entry' if n == 1 else 'entries'}")]
    message = str(error["msg"]).replace("Input should be", "must be").replace("String should", "must")
    return [(loc, f"{message}; got {_show(value)}")]


def _line_of(root: yaml.Node | None, loc: Loc) -> int | None:
    """1-based YAML line of the deepest node along ``loc`` (a mapping key's own line where possible)."""
    if root is None:
        return None
    node, line = root, None  # None: nothing along loc exists in the file (e.g. a missing top-level field)
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            match = next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _duplicate_keys(node: yaml.Node, loc: Loc = (), seen: set[int] | None = None) -> list[tuple[Loc, int, str]]:
    """YAML silently keeps the last of two equal keys; a scheme file with one is almost surely a mistake."""
    found: list[tuple[Loc, int, str]] = []
    seen = set() if seen is None else seen
    if id(node) in seen:  # an alias (*name) reuses a node; it may even contain itself
        return found
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first_line: dict[str, int] = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                continue
            line = key.start_mark.line + 1
            if key.value in first_line:
                found.append((loc + (key.value,), line, f"duplicate key (first at line {first_line[key.value]}); "
                                                         "YAML would silently keep only the last one"))
            first_line.setdefault(key.value, line)
            found += _duplicate_keys(value, loc + (key.value,), seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            found += _duplicate_keys(item, loc + (i,), seen)
    return found


def _raise(origin: str, problems: list[tuple[int | None, Loc, str]]) -> typing.NoReturn:
    lines = [f"{origin}{f':{line}' if line else ''}: {_format_loc(loc) + ': ' if loc else ''}{msg}"
             for line, loc, msg in problems]
    if len(lines) == 1:
        raise SchemeError(lines[0])
    raise SchemeError(f"{origin}: {len(lines)} problems in rating scheme:\n  " + "\n  ".join(lines))


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
    try:
        loader = yaml.SafeLoader(text)
        try:
            root = loader.get_single_node()
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        detail = "; ".join(str(part) for part in (exc.context, exc.problem) if part)
        raise SchemeError(f"{origin}{where}: YAML syntax error: {detail} (line {mark.line + 1 if mark else '?'}, "
                          f"column {mark.column + 1 if mark else '?'})") from None
    except yaml.YAMLError as exc:
        raise SchemeError(f"{origin}: YAML error: {exc}") from None
    if root is None:
        raise SchemeError(f"{origin}: file is empty; a scheme is a mapping with key, version, title, instrument, "
                          "source, licence and dimensions (see rating_schemes/README.md)")
    if not isinstance(data, dict):
        raise SchemeError(f"{origin}:{root.start_mark.line + 1}: the top level must be a mapping of 'field: value' "
                          f"lines (key, version, title, ...); got a {type(data).__name__}")
    duplicates = _duplicate_keys(root)
    if duplicates:
        _raise(origin, [(line, loc, msg) for loc, line, msg in duplicates])
    try:
        return Scheme.model_validate(data)
    except ValidationError as exc:
        problems = [(loc, msg) for error in exc.errors() for loc, msg in _describe(error)]
        _raise(origin, [(_line_of(root, loc), loc, msg) for loc, msg in problems])


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()  # bytes, not read_text: newline translation would change the pinned hash
    except OSError as exc:
        raise SchemeError(f"{path}: cannot read rating scheme file ({exc.strerror or exc})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SchemeError(f"{path}: not UTF-8 text (invalid byte at offset {exc.start}); "
                          "save the file as UTF-8") from None


def load_scheme(path: str | os.PathLike[str]) -> Scheme:
    """Read and validate one scheme file (UTF-8 YAML); problems raise :class:`SchemeError`.

    Examples
    --------
    >>> load_scheme(builtin_schemes_dir() / "eas4_placeholder.yaml").placeholder
    True
    >>> load_scheme(builtin_schemes_dir() / "missing.yaml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    annotate.schemes.SchemeError: ...missing.yaml: cannot read rating scheme file (No such file or directory)
    """
    path = Path(path)
    return parse_scheme(_read_text(path), origin=str(path))


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
    >>> s = parse_scheme(open(builtin_schemes_dir() / "ainsworth_sensitivity.yaml", encoding="utf-8").read())
    >>> verify_pin(s, "edited", pinned_sha256="0" * 64, origin="a.yaml")
    Traceback (most recent call last):
    ...
    annotate.schemes.SchemeError: a.yaml: scheme 'ainsworth_sensitivity' version '1.0' is already used by ratings and its text has changed (pinned sha256 00000000..., file now ...); restore the pinned text or bump 'version'
    """
    current = scheme_sha256(text)
    if pinned_sha256 is not None and pinned_sha256 != current:
        raise SchemeError(f"{origin}: scheme {scheme.key!r} version {scheme.version!r} is already used by ratings "
                          f"and its text has changed (pinned sha256 {pinned_sha256[:8]}..., file now "
                          f"{current[:8]}...); restore the pinned text or bump 'version'")


def builtin_schemes_dir() -> Path:
    """``<repo>/rating_schemes``, or the directory named by the ``ANNOTATE_SCHEMES_DIR`` environment variable.

    Examples
    --------
    >>> builtin_schemes_dir().name == "rating_schemes" or "ANNOTATE_SCHEMES_DIR" in os.environ
    True
    """
    override = os.environ.get("ANNOTATE_SCHEMES_DIR")
    if override:
        return Path(override).expanduser().resolve()
    return Path(__file__).resolve().parent.parent / "rating_schemes"


def load_schemes_dir(path: str | os.PathLike[str] | None = None) -> dict[str, tuple[Scheme, str]]:
    """Load every ``*.yaml``/``*.yml`` file in ``path`` (default :func:`builtin_schemes_dir`).

    Returns ``{key: (scheme, yaml_text)}``. Problems in all files are reported together in one
    :class:`SchemeError`; two files declaring the same key are an error naming both files.

    Examples
    --------
    >>> sorted(load_schemes_dir())[:2]
    ['ainsworth_sensitivity', 'eas4_placeholder']
    """
    directory = Path(path) if path is not None else builtin_schemes_dir()
    if not directory.is_dir():
        raise SchemeError(f"{directory}: rating scheme directory does not exist; create it or set "
                          "ANNOTATE_SCHEMES_DIR to the folder holding the *.yaml scheme files")
    loaded: dict[str, tuple[Scheme, str]] = {}
    files: dict[str, Path] = {}
    errors: list[str] = []
    for file in sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()):
        try:
            text = _read_text(file)
            scheme = parse_scheme(text, origin=str(file))
        except SchemeError as exc:
            errors.append(str(exc))
            continue
        if scheme.key in loaded:
            errors.append(f"{file}: duplicate scheme key {scheme.key!r}, already defined in {files[scheme.key]}; "
                          "each key may be defined by one file only (rename the key or remove one file)")
            continue
        loaded[scheme.key], files[scheme.key] = (scheme, text), file
    if len(errors) == 1:
        raise SchemeError(errors[0])
    if errors:
        raise SchemeError(f"{directory}: {len(errors)} rating scheme files have problems:\n" + "\n".join(errors))
    return loaded
