"""Small pieces of English shared by messages and renderers."""

from __future__ import annotations


def count(number: int, one: str, many: str | None = None) -> str:
    """`1 person`, `3 people`, `2 groups`."""
    return f"{number} {one if number == 1 else many or one + 's'}"


def duration(seconds: float) -> str:
    """`45 s`, `3 min 20 s`, `2 h 5 min`: rounded to the second, the largest two units;
    `less than 1 s` below half a second."""
    whole = round(seconds)
    if whole < 1:
        return "less than 1 s"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"
