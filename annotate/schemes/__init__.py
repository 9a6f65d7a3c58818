"""Rating schemes and clip-tag vocabularies: the YAML files in ``rating_schemes/``.

Errors in a file surface as :class:`SchemeError` with messages of the form
``<file>:<line>: <field path>: <problem>``, e.g.
``rating_schemes/x.yaml:14: dimensions[0].max: must be greater than min (got min=9, max=1)``.
A rating value outside a dimension's grid raises :class:`RatingValueError`.
"""

from __future__ import annotations

import os
from pathlib import Path

from annotate.schemes._yaml import RatingValueError, SchemeError, UnknownDimensionError, load_yaml_mapping, read_text
from annotate.schemes.clip_tags import ClipTag, ClipVocabulary, TagGroup, parse_vocabulary
from annotate.schemes.events import EventCode, EventGroup, code_groups
from annotate.schemes.outcome import (
    Anchor,
    Composite,
    CompositePart,
    Dimension,
    Scheme,
    SegmentGuidance,
    load_scheme,
    parse_scheme,
    scheme_sha256,
    verify_pin,
)

__all__ = [
    "Anchor",
    "ClipTag",
    "ClipVocabulary",
    "Composite",
    "CompositePart",
    "Dimension",
    "EventCode",
    "EventGroup",
    "RatingValueError",
    "Scheme",
    "SchemeError",
    "SegmentGuidance",
    "TagGroup",
    "UnknownDimensionError",
    "builtin_schemes_dir",
    "code_groups",
    "load_clip_vocabularies",
    "load_scheme",
    "load_schemes_dir",
    "parse_scheme",
    "parse_vocabulary",
    "scheme_sha256",
    "verify_pin",
]

# Doctests and messages name the public module, not the private one the classes live in.
for _cls in (SchemeError, UnknownDimensionError, RatingValueError):
    _cls.__module__ = "annotate.schemes"


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
    return Path(__file__).resolve().parents[2] / "rating_schemes"


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
        raise SchemeError(
            f"{directory}: rating scheme directory does not exist; create it or set "
            "ANNOTATE_SCHEMES_DIR to the folder holding the *.yaml scheme files"
        )
    loaded: dict[str, tuple[Scheme, str]] = {}
    files: dict[str, Path] = {}
    errors: list[str] = []
    for file in sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()):
        try:
            text = read_text(file)
            if (load_yaml_mapping(text, str(file)) or {}).get("kind") == "clip_tags":
                continue  # a clip-tag vocabulary, loaded by load_clip_vocabularies
            scheme = parse_scheme(text, origin=str(file))
        except SchemeError as exc:
            errors.append(str(exc))
            continue
        if scheme.key in loaded:
            errors.append(
                f"{file}: duplicate scheme key {scheme.key!r}, already defined in {files[scheme.key]}; "
                "each key may be defined by one file only (rename the key or remove one file)"
            )
            continue
        loaded[scheme.key], files[scheme.key] = (scheme, text), file
    if len(errors) == 1:
        raise SchemeError(errors[0])
    if errors:
        raise SchemeError(f"{directory}: {len(errors)} rating scheme files have problems:\n" + "\n".join(errors))
    return loaded


def load_clip_vocabularies(path: str | os.PathLike[str] | None = None) -> dict[str, tuple[ClipVocabulary, str]]:
    """Every ``kind: clip_tags`` file in ``path`` (default :func:`builtin_schemes_dir`): ``{key: (vocabulary, text)}``.

    Examples
    --------
    >>> sorted(load_clip_vocabularies())
    ['vipp_feedback_clips']
    """
    directory = Path(path) if path is not None else builtin_schemes_dir()
    found: dict[str, tuple[ClipVocabulary, str]] = {}
    for file in sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()):
        text = read_text(file)
        if (load_yaml_mapping(text, str(file)) or {}).get("kind") != "clip_tags":
            continue
        vocab = parse_vocabulary(text, origin=str(file))
        if vocab.key in found:
            raise SchemeError(f"{file}: duplicate clip vocabulary key {vocab.key!r}")
        found[vocab.key] = (vocab, text)
    return found
