"""Chart recompute (DESIGN.md §5) — implemented in issue 5."""

from __future__ import annotations


def recompute_from_cli(year: int | None = None) -> list[str]:
    return ["Recompute not implemented yet."]
