"""Clip-tag vocabularies (``kind: clip_tags``): what clinicians tag video-feedback clips with.

A vocabulary has groups of tags (e.g. the VIPP theme of a clip, the therapeutic-process concepts,
a strength/growth-point polarity), each group single- or multiple-choice, and guidance on clip
length. Format: ``rating_schemes/README.md``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from annotate.schemes._yaml import IDENTIFIER_PATTERN, VERSION_PATTERN, SchemeError, parse_model


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClipTag(_Model):
    name: str = Field(pattern=IDENTIFIER_PATTERN)
    label: str = Field(min_length=1)
    description: str = ""
    session: int | None = Field(default=None, ge=1)  # the feedback session this theme belongs to, if any


class TagGroup(_Model):
    name: str = Field(pattern=IDENTIFIER_PATTERN)
    label: str = Field(min_length=1)
    description: str = ""
    multiple: bool = False
    required: bool = False
    tags: list[ClipTag] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_tags(self) -> TagGroup:
        names = [t.name for t in self.tags]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"tag name(s) {', '.join(dupes)} appear more than once in group {self.name}")
        return self


class ClipLength(_Model):
    min_seconds: float = Field(default=3, gt=0)
    max_seconds: float = Field(default=60, gt=0)
    note: str = ""

    @model_validator(mode="after")
    def _order(self) -> ClipLength:
        if self.max_seconds <= self.min_seconds:
            raise ValueError(
                f"max_seconds must be greater than min_seconds (got {self.min_seconds:g} and {self.max_seconds:g})"
            )
        return self


class ClipVocabulary(_Model):
    key: str = Field(pattern=IDENTIFIER_PATTERN)
    version: str = Field(pattern=VERSION_PATTERN)
    kind: Literal["clip_tags"]
    title: str = Field(min_length=1)
    source: str = Field(min_length=1)
    licence: str = Field(min_length=1)
    notes: str = ""
    clip_length: ClipLength = ClipLength()
    groups: list[TagGroup] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_groups(self) -> ClipVocabulary:
        names = [g.name for g in self.groups]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"group name(s) {', '.join(dupes)} appear more than once")
        return self

    def group(self, name: str) -> TagGroup:
        for g in self.groups:
            if g.name == name:
                return g
        raise SchemeError(f"No tag group {name!r} in {self.key}; groups: {', '.join(g.name for g in self.groups)}")

    def check_tags(self, chosen: dict[str, list[str]]) -> dict[str, list[str]]:
        """Validate a clip's tags ``{group: [tag, ...]}``; raises SchemeError saying what to fix.

        Examples
        --------
        >>> from annotate.schemes import load_clip_vocabularies
        >>> vocab = load_clip_vocabularies()["vipp_feedback_clips"][0]
        >>> vocab.check_tags({"vipp_theme": ["speaking_for_child"], "polarity": ["strength"]})
        {'vipp_theme': ['speaking_for_child'], 'polarity': ['strength']}
        """
        out: dict[str, list[str]] = {}
        for group_name, tags in chosen.items():
            group = self.group(group_name)
            tags = [t for t in tags if t]
            valid = {t.name for t in group.tags}
            unknown = [t for t in tags if t not in valid]
            if unknown:
                raise SchemeError(
                    f"{group.label}: unknown tag(s) {', '.join(unknown)}; choose from {', '.join(sorted(valid))}"
                )
            if len(tags) > 1 and not group.multiple:
                raise SchemeError(f"{group.label}: choose one tag, not {len(tags)}")
            if tags:
                out[group_name] = tags
        missing = [g.label for g in self.groups if g.required and g.name not in out]
        if missing:
            raise SchemeError(f"Choose a tag for: {', '.join(missing)}")
        return out

    def label_of(self, group: str, tag: str) -> str:
        return next((t.label for t in self.group(group).tags if t.name == tag), tag)


def parse_vocabulary(text: str, origin: str = "<text>") -> ClipVocabulary:
    """Validate YAML text as a clip-tag vocabulary; problems raise :class:`SchemeError` naming ``origin``."""
    return parse_model(text, origin, ClipVocabulary, "clip-tag vocabulary")
