"""Flags' own types: durations as watch and apply take them."""

from __future__ import annotations

import click
import pytest

from reconciler.cli.flags import Duration, written_duration


@pytest.mark.parametrize(
    ("given", "seconds"),
    [("1s", 1.0), ("1h", 3600.0), ("3600s", 3600.0), (" 90s ", 90.0), (10.0, 10.0), (5, 5.0)],
)
def test_a_duration_flag_takes_its_bounds_and_numbers_as_seconds(
    given: str | float, seconds: float
) -> None:
    assert Duration(least=1, most=3600).convert(given, None, None) == seconds


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("3601s", "3601s: give 1s to 1h"),
        (0.5, "0.5s: give 1s to 1h"),
        (float("nan"), "is not a duration of more than 0 seconds"),
        (float("inf"), "is not a duration of more than 0 seconds"),
    ],
)
def test_a_duration_flag_refuses_what_is_out_of_bounds_however_given(
    given: str | float, said: str
) -> None:
    with pytest.raises(click.BadParameter) as refused:
        Duration(least=1, most=3600).convert(given, None, None)
    assert said in str(refused.value)


@pytest.mark.parametrize(
    ("seconds", "written"), [(90, "90s"), (900, "15m"), (3600, "1h"), (2.5, "2.5s")]
)
def test_a_duration_is_written_as_the_flag_takes_it(seconds: float, written: str) -> None:
    assert written_duration(seconds) == written
