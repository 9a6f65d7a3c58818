"""Reading YAML into pydantic models with messages a person can act on.

Shared by the rating-scale and clip-tag vocabularies: every problem is reported as
``<file>:<line>: <field path>: <problem>``, all problems of a file at once.
"""

from __future__ import annotations

import difflib
import numbers
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from annotate.errors import InputError

IDENTIFIER_PATTERN = r"^[a-z][a-z0-9_]*$"
VERSION_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z._-]*$"
Loc = tuple[str | int, ...]


class SchemeError(InputError):
    """A scheme file or scheme lookup is invalid; the message says where and how to fix it."""


class UnknownDimensionError(SchemeError, KeyError):
    """A dimension or composite name that the scheme does not define."""

    __str__ = BaseException.__str__  # KeyError would quote the whole message


class RatingValueError(InputError):
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


def _num(x: float) -> str:
    """Format a number for messages: ``9.0 -> '9'``, ``0.5 -> '0.5'``."""
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _show(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return f"{value!r} ({type(value).__name__})"
    if isinstance(value, numbers.Real):
        return _num(float(value))
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _format_loc(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _choices(name: str, valid: typing.Iterable[str]) -> str:
    valid = list(valid)
    if not valid:
        return "none are defined"
    text = f"valid names: {', '.join(valid)}"
    close = difflib.get_close_matches(name, valid, n=1)
    return text + (f" (did you mean {close[0]!r}?)" if close else "")


def _model_at(root_model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model class that validates the mapping found at ``loc`` (for listing allowed fields)."""
    model: type[BaseModel] = root_model
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


def _describe(error: Mapping[str, Any], root_model: type[BaseModel]) -> list[tuple[Loc, str]]:
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
        model = _model_at(root_model, loc[:-1])
        allowed = list(model.model_fields) if model else []
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return [(loc, f"unknown field; {hint}allowed here: {', '.join(allowed)}")]
    if kind == "string_type":
        if isinstance(value, (bool, int, float)) or hasattr(value, "isoformat"):
            # YAML turns 1.0, 2024-01-01 and yes/no into numbers, dates and booleans
            what = (
                "true/false" if isinstance(value, bool) else "a number" if isinstance(value, (int, float)) else "a date"
            )
            return [(loc, f"must be text; YAML read {value} as {what}: put the value in quotes")]
        return [(loc, f"must be text; got {_show(value)}")]
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == IDENTIFIER_PATTERN:
        return [
            (
                loc,
                f"must be an identifier (a lowercase letter, then lowercase letters, digits or _), "
                f"e.g. 'positive_regard'; got {_show(value)}",
            )
        ]
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
                found.append(
                    (
                        loc + (key.value,),
                        line,
                        f"duplicate key (first at line {first_line[key.value]}); "
                        "YAML would silently keep only the last one",
                    )
                )
            first_line.setdefault(key.value, line)
            found += _duplicate_keys(value, loc + (key.value,), seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            found += _duplicate_keys(item, loc + (i,), seen)
    return found


def _raise(origin: str, problems: list[tuple[int | None, Loc, str]], what: str = "rating scheme") -> typing.NoReturn:
    lines = [
        f"{origin}{f':{line}' if line else ''}: {_format_loc(loc) + ': ' if loc else ''}{msg}"
        for line, loc, msg in problems
    ]
    if len(lines) == 1:
        raise SchemeError(lines[0])
    raise SchemeError(f"{origin}: {len(lines)} problems in {what}:\n  " + "\n  ".join(lines))


def read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()  # bytes, not read_text: newline translation would change the pinned hash
    except OSError as exc:
        raise SchemeError(f"{path}: cannot read rating scheme file ({exc.strerror or exc})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SchemeError(
            f"{path}: not UTF-8 text (invalid byte at offset {exc.start}); save the file as UTF-8"
        ) from None


M = typing.TypeVar("M", bound=BaseModel)


def load_yaml_mapping(text: str, origin: str) -> dict[str, Any] | None:
    """The top-level mapping of a YAML text, or None when it cannot be read (the full parse reports why)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


def parse_model(text: str, origin: str, model: type[M], what: str) -> M:
    """Validate YAML ``text`` as ``model``; problems raise :class:`SchemeError` naming ``origin``."""
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
        raise SchemeError(
            f"{origin}{where}: YAML syntax error: {detail} (line {mark.line + 1 if mark else '?'}, "
            f"column {mark.column + 1 if mark else '?'})"
        ) from None
    except yaml.YAMLError as exc:
        raise SchemeError(f"{origin}: YAML error: {exc}") from None
    if root is None:
        raise SchemeError(
            f"{origin}: file is empty; a {what} is a mapping of 'field: value' lines (see rating_schemes/README.md)"
        )
    if not isinstance(data, dict):
        raise SchemeError(
            f"{origin}:{root.start_mark.line + 1}: the top level must be a mapping of 'field: value' "
            f"lines (key, version, title, ...); got a {type(data).__name__}"
        )
    duplicates = _duplicate_keys(root)
    if duplicates:
        _raise(origin, [(line, loc, msg) for loc, line, msg in duplicates], what)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [(loc, msg) for error in exc.errors() for loc, msg in _describe(error, model)]
        _raise(origin, [(_line_of(root, loc), loc, msg) for loc, msg in problems], what)
