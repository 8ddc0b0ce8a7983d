"""Options several commands share: the connection, logging, and the config path."""

from __future__ import annotations

import difflib
import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from reconciler.cli.connection import ApiSettings
from reconciler.core.groups import DesiredState
from reconciler.errors import SetupError
from reconciler.titan.client import RECONNECT_WAIT
from reconciler.util.logs import configure_logging


def setup_logging(verbose: bool, debug: bool, secrets: list[str | None]) -> None:
    root = click.get_current_context().find_root().params
    configure_logging(
        verbose=verbose or root.get("verbose", False),
        debug=debug or root.get("debug", False),
        secrets=[secret for secret in secrets if secret],
    )


def api_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Adds the connection and logging flags; the command receives `settings: ApiSettings`."""

    @click.option(
        "--api",
        envvar="TITAN_API_URL",
        show_envvar=True,
        metavar="URL",
        help="Titan API address (https://...), or sim:PATH for the built-in simulator.",
    )
    @click.option(
        "--api-key",
        envvar="TITAN_API_KEY",
        show_envvar=True,
        metavar="KEY",
        help="Titan API key. Prefer the environment variable: flags show in `ps`.",
    )
    @click.option(
        "--session",
        envvar="TITAN_SESSION",
        show_envvar=True,
        help="Titan session (WhatsApp account) to act as. Default: the config's session:,"
        " else 'default'.",
    )
    @click.option(
        "--write-rate",
        envvar="TITAN_WRITE_RATE",
        show_envvar=True,
        metavar="RATE",
        help="Most writes per time, e.g. 20/min or 'unlimited'. Default: 20/min against"
        " Titan (WhatsApp bans accounts that write in bursts), unlimited on sim:.",
    )
    @click.option(
        "--timeout",
        envvar="TITAN_TIMEOUT",
        show_envvar=True,
        type=click.FloatRange(min=0.1),
        default=30.0,
        show_default=True,
        metavar="SECONDS",
        help="How long to wait for one answer before trying again (or giving up).",
    )
    @click.option(
        "--reconnect-wait",
        envvar="TITAN_RECONNECT_WAIT",
        show_envvar=True,
        type=click.FloatRange(min=0),
        default=RECONNECT_WAIT,
        show_default=True,
        metavar="SECONDS",
        help="How long to wait, in all, for a session Titan is reconnecting (AUTO_RECONNECT)"
        " before stopping. Nothing is written meanwhile.",
    )
    @click.option("-v", "--verbose", is_flag=True, help="Log each API call.")
    @click.option("--debug", is_flag=True, help="Log everything, bodies included (never the key).")
    @functools.wraps(command)
    def wrapper(
        api: str | None,
        api_key: str | None,
        session: str | None,
        write_rate: str | None,
        timeout: float,
        reconnect_wait: float,
        verbose: bool,
        debug: bool,
        **kwargs: Any,
    ) -> Any:
        setup_logging(verbose, debug, [api_key])
        settings = ApiSettings(
            api=api,
            api_key=api_key,
            session=session,
            write_rate=write_rate,
            timeout=timeout,
            reconnect_wait=reconnect_wait,
        )
        return command(settings=settings, **kwargs)

    return wrapper


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


def use_color(*, err: bool = False) -> bool:
    """Color on a terminal, unless NO_COLOR says otherwise (https://no-color.org)."""
    return (sys.stderr if err else sys.stdout).isatty() and not os.environ.get("NO_COLOR")


def check_group_keys(desired: DesiredState, only: tuple[str, ...]) -> None:
    """Refuse a --group KEY the config does not have."""
    keys = [group.key for group in desired.groups]
    for key in only:
        if key not in keys:
            close = difflib.get_close_matches(key, keys, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SetupError(f"--group {key!r}: the config has no such group{hint}")
