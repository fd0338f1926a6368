"""Label and field selectors, parsed and matched like the real server does."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import ApiError

__all__ = ["FieldSelector", "LabelSelector"]

_SET_RE = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s+(in|notin)\s*\(([^)]*)\)\s*$")
_CMP_RE = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s*(==|!=|=)\s*([A-Za-z0-9_.-]*)\s*$")
_EXISTS_RE = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*$")


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    terms: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append("".join(current))
            current = []
        else:
            current.append(char)
    terms.append("".join(current))
    return [t for t in terms if t.strip()]


@dataclass
class LabelSelector:
    """A parsed `labelSelector` query parameter."""

    requirements: list[Callable[[dict[str, str]], bool]]

    @classmethod
    def parse(cls, text: str | None) -> LabelSelector:
        return cls([cls._parse_term(term) for term in _split_terms(text or "")])

    @staticmethod
    def _parse_term(term: str) -> Callable[[dict[str, str]], bool]:
        if match := _SET_RE.match(term):
            _, key, op, raw = match.groups()
            values = {v.strip() for v in raw.split(",") if v.strip()}
            if op == "in":
                return lambda labels: labels.get(key) in values
            return lambda labels: labels.get(key) not in values
        if match := _CMP_RE.match(term):
            key, op, value = match.groups()
            if op == "!=":
                return lambda labels: labels.get(key) != value
            return lambda labels: key in labels and labels[key] == value
        if match := _EXISTS_RE.match(term):
            negate, key = match.groups()
            if negate:
                return lambda labels: key not in labels
            return lambda labels: key in labels
        raise ApiError.bad_request(f"unable to parse requirement: {term!r}")

    def matches(self, obj: dict[str, Any]) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(req(labels) for req in self.requirements)


def _field_value(obj: dict[str, Any], path: str) -> str | None:
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    if isinstance(current, bool):
        return "true" if current else "false"
    return None if current is None else str(current)


@dataclass
class FieldSelector:
    """A parsed `fieldSelector` query parameter (`=`, `==`, `!=` on supported fields)."""

    terms: list[tuple[str, bool, str]]  # (field, equal?, value)

    SUPPORTED_COMMON = ("metadata.name", "metadata.namespace")
    SUPPORTED_BY_KIND = {
        "Secret": ("type",),
        "Event": (
            "involvedObject.kind",
            "involvedObject.name",
            "involvedObject.namespace",
            "involvedObject.uid",
            "reason",
            "type",
            "source",
        ),
        "Namespace": ("status.phase",),
    }

    @classmethod
    def parse(cls, text: str | None, kind: str) -> FieldSelector:
        terms = []
        allowed = cls.SUPPORTED_COMMON + cls.SUPPORTED_BY_KIND.get(kind, ())
        for term in _split_terms(text or ""):
            match = _CMP_RE.match(term)
            if not match:
                raise ApiError.bad_request(f"invalid selector: '{text}'; can't understand '{term}'")
            key, op, value = match.groups()
            if key not in allowed:
                raise ApiError.bad_request(f"field label not supported: {key}")
            terms.append((key, op != "!=", value))
        return cls(terms)

    def matches(self, obj: dict[str, Any]) -> bool:
        for key, equal, value in self.terms:
            actual = _field_value(obj, key) or ""
            if (actual == value) != equal:
                return False
        return True
