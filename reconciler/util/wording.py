"""Small pieces of English shared by messages and renderers."""

from __future__ import annotations


def count(number: int, one: str, many: str | None = None) -> str:
    """`1 person`, `3 people`, `2 groups`."""
    return f"{number} {one if number == 1 else many or one + 's'}"
