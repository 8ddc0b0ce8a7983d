"""The flags every command shares and that cost nothing to import: `-f`, logging, color.
(`groupctl validate` and `--help` import only these: see `cli.root`.)"""

from __future__ import annotations

import logging
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from reconciler.errors import UsageError
from reconciler.util.logs import configure_logging
from reconciler.util.rates import parse_duration

log = logging.getLogger("reconciler.cli")
FC = TypeVar("FC", bound=Callable[..., Any])


def setup_logging(verbose: bool, debug: bool, secrets: list[str | None]) -> None:
    root = click.get_current_context().find_root().params
    configure_logging(
        verbose=verbose or root.get("verbose", False),
        debug=debug or root.get("debug", False),
        secrets=[secret for secret in secrets if secret],
    )


def without_final_line_break(api_key: str | None) -> str | None:
    """The key less one final line break (`\\n` or `\\r\\n`), which `echo` and editors add
    to a stored secret. Only one: any other is refused with the key (`check_api_key`)."""
    if api_key is None:
        return None
    return api_key.removesuffix("\r\n") if api_key.endswith("\r\n") else api_key.removesuffix("\n")


def trimmed_secret(given: str | None, what: str) -> str | None:
    """`given` less one final line break, with a warning naming `what` if it had one (log
    with both forms redacted first: see `setup_logging`)."""
    trimmed = without_final_line_break(given)
    if trimmed != given:
        log.warning(
            "%s ended in a line break, which is not part of it and was removed: store it"
            " without one (printf %%s, not echo)",
            what,
        )
    return trimmed


config_option = click.option(
    "-f",
    "--file",
    "config_path",
    envvar="GROUPCTL_CONFIG",
    show_envvar=True,
    default="groups.yaml",
    show_default=True,
    type=click.Path(path_type=Path),
    help="The config: a YAML file, or a directory of them.",
)


_COLOR: list[bool] = []  # --color or --no-color, when one was given


def choose_color(choice: bool | None) -> None:
    """What `groupctl --color/--no-color` said (None: neither)."""
    _COLOR[:] = [] if choice is None else [choice]


def use_color(*, err: bool = False) -> bool:
    """Whether to write ANSI colors: as --color/--no-color says; else none with NO_COLOR
    (https://no-color.org); else with FORCE_COLOR (not empty, not 0: a CI log that renders
    them, as GitHub's does); else on a terminal that shows colors (not TERM=dumb)."""
    if _COLOR:
        return _COLOR[0]
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR", "") not in ("", "0"):
        return True
    if os.environ.get("TERM", "") in ("dumb", "unknown"):
        return False
    return (sys.stderr if err else sys.stdout).isatty()


def format_option(
    help: str, formats: tuple[str, ...] = ("text", "markdown", "json")
) -> Callable[[FC], FC]:
    """`--format` among `formats` (as `output_format`; text by default), `help` saying what
    each gives."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(list(formats)),
        default="text",
        show_default=True,
        help=help,
    )


mask_phones_option = click.option(
    "--mask-phones", is_flag=True, help="text and markdown: show only the last 4 digits of numbers."
)


class Duration(click.ParamType):  # type: ignore[type-arg]  # generic in newer clicks
    """A duration written 30s, 15m or 1h, in seconds; within [least, most] when given."""

    name = "duration"

    def __init__(self, least: float | None = None, most: float | None = None) -> None:
        self.least, self.most = least, most

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            seconds = float(value)  # given as a number (a default, ctx.invoke): seconds
            if not math.isfinite(seconds) or seconds <= 0:
                self.fail(f"{value!r} is not a duration of more than 0 seconds", param, ctx)
        else:
            try:
                seconds = parse_duration(str(value))
            except UsageError as exc:
                self.fail(str(exc), param, ctx)
        if (self.least is not None and seconds < self.least) or (
            self.most is not None and seconds > self.most
        ):
            shown = written_duration(seconds)
            self.fail(
                f"{shown}: give {written_duration(self.least)} to {written_duration(self.most)}",
                param,
                ctx,
            )
        return seconds


def written_duration(seconds: float | None) -> str:
    """Seconds as a duration flag takes them: 90 -> 90s, 900 -> 15m, 3600 -> 1h."""
    if seconds is None:
        return "any"
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


class Seconds(click.FloatRange):
    """A number of seconds, at least `min`: never NaN or infinite, which every comparison
    with a deadline would get wrong."""

    name = "seconds"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        seconds = super().convert(value, param, ctx)
        if not math.isfinite(seconds):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        return seconds
