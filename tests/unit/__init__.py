"""Unit tests (no network, no cluster)."""

__all__: list[str] = []
