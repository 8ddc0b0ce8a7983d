from __future__ import annotations

import pytest

from reconciler.errors import UsageError
from reconciler.util.rates import Rate, parse_duration, parse_rate


@pytest.mark.parametrize(
    ("text", "count", "period"),
    [
        ("10/s", 10, 1),
        ("20/min", 20, 60),
        ("100/h", 100, 3600),
        ("2.5/sec", 2.5, 1),
        ("5 / minutes", 5, 60),
        ("1/hour", 1, 3600),
    ],
)
def test_rates_are_parsed(text: str, count: float, period: float) -> None:
    assert parse_rate(text) == Rate(count, period)


@pytest.mark.parametrize("text", ["unlimited", "0", "off", "None"])
def test_unlimited_is_none(text: str) -> None:
    assert parse_rate(text) is None


@pytest.mark.parametrize("text", ["fast", "10", "10/week", "0/s", "-1/s", "/s", "10/ms", "1/ss"])
def test_nonsense_is_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(UsageError, match="N/s, N/min or N/h"):
        parse_rate(text)


def test_a_rate_prints_as_written_and_spreads_evenly() -> None:
    assert str(Rate(20, 60)) == "20/min"
    assert Rate(20, 60).interval == 3.0


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30.0), ("15m", 900.0), ("1h", 3600.0), ("2 hours", 7200.0)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["15", "-1m", "5 parsecs", "m"])
def test_what_is_not_a_duration(text: str) -> None:
    with pytest.raises(UsageError, match="is not a duration"):
        parse_duration(text)


def test_a_duration_is_more_than_0() -> None:
    with pytest.raises(UsageError, match="'0m': a duration is more than 0"):
        parse_duration(" 0m ")
