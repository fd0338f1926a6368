"""Which namespaces the operator serves, from kopf's `--namespace` patterns (pure)."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

__all__ = ["exact_namespaces", "namespace_matches"]

_GLOB = "*?!,[]"


def exact_namespaces(patterns: Sequence[str]) -> list[str] | None:
    """The namespaces named, when every pattern is a plain name; None when any is a glob (or
    there are none: cluster-wide)."""
    if not patterns or any(c in p for p in patterns for c in _GLOB):
        return None
    return list(patterns)


def namespace_matches(name: str, patterns: Sequence[str]) -> bool:
    """Whether kopf's `--namespace` patterns select this namespace, as kopf matches them.

    Each pattern is comma-separated globs. A leading exclusion (`!glob`) implies a first `*`. The
    first glob decides the initial match; exclusions then remove the namespace, and later inclusive
    globs put it back only if the first glob had matched it.
    """
    for pattern in patterns:
        globs = [g.strip() for g in pattern.split(",")]
        if globs[0].startswith("!"):
            globs.insert(0, "*")
        first = fnmatch.fnmatch(name, globs[0])
        matched = first
        for glob in globs[1:]:
            if glob.startswith("!"):
                matched = matched and not fnmatch.fnmatch(name, glob.lstrip("!"))
            else:
                matched = matched or (first and fnmatch.fnmatch(name, glob))
        if matched:
            return True
    return False
