"""Rates such as "20/min" (the client's write pacing, the simulator's rate limit) and durations
such as "15m" (watch's resync interval)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from reconciler.errors import UsageError

_SECONDS = {("s", "sec", "second"): 1.0, ("m", "min", "minute"): 60.0, ("h", "hour"): 3600.0}
# Every spelling, plurals included ("mins", "hours"); "ms" is none of them.
_UNITS = {
    spelling: seconds
    for names, seconds in _SECONDS.items()
    for name in names
    for spelling in (name, f"{name}s" if len(name) > 1 else name)
}
_RATE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*/\s*([a-z]+)\s*")
_UNLIMITED = {"0", "none", "unlimited", "off"}


@dataclass(frozen=True, slots=True)
class Rate:
    """`count` events per `period` seconds."""

    count: float
    period: float

    @property
    def interval(self) -> float:
        """Seconds between two events when they are spread evenly."""
        return self.period / self.count

    def __str__(self) -> str:
        unit = {1.0: "s", 60.0: "min", 3600.0: "h"}.get(self.period)
        count = f"{self.count:g}"
        return f"{count}/{unit}" if unit else f"{count}/{self.period:g}s"


def parse_rate(text: str) -> Rate | None:
    """`"10/s"`, `"20/min"`, `"100/h"`; `"unlimited"` (or `"0"`) gives None."""
    if text.strip().lower() in _UNLIMITED:
        return None
    match = _RATE.fullmatch(text.lower())
    if not match or match.group(2) not in _UNITS or float(match.group(1)) <= 0:
        raise UsageError(
            f"{text!r} is not a rate: write it as N/s, N/min or N/h (e.g. 20/min), or 'unlimited'"
        )
    return Rate(float(match.group(1)), _UNITS[match.group(2)])


_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*")


def parse_duration(text: str) -> float:
    """`"30s"`, `"15m"`, `"1h"`, `"2 hours"` in seconds."""
    match = _DURATION.fullmatch(text.lower())
    if not match or match.group(2) not in _UNITS:
        raise UsageError(f"{text.strip()!r} is not a duration: write it as 30s, 15m or 1h")
    if float(match.group(1)) <= 0:
        raise UsageError(f"{text.strip()!r}: a duration is more than 0")
    return float(match.group(1)) * _UNITS[match.group(2)]
