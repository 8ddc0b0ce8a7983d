"""The root `groupctl` command group, and how a GroupctlError becomes `error: ...`, exit 1."""

from __future__ import annotations

from typing import Any, NoReturn

import click

from reconciler import __version__
from reconciler.errors import ConfigError, GroupctlError
from reconciler.util.untrusted import shown_lines
from reconciler.util.wording import count

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class Failure(click.ClickException):
    def __init__(self, error: GroupctlError | str) -> None:
        super().__init__(str(error))
        self.error = error
        # 1, or what the error says (a signal's 128 + its number, as a shell reports it).
        # click declares exit_code a class variable, and reads it from the instance.
        self.exit_code = getattr(error, "exit_code", 1)  # type: ignore[misc]

    def show(self, file: Any = None) -> None:
        # Messages quote the config and WhatsApp: each line is kept from forging others.
        if isinstance(self.error, ConfigError):
            for problem in self.error.problems:
                click.echo(shown_lines(str(problem)), err=True)
            problems = len(self.error.problems)
            click.echo(f"error: the config has {count(problems, 'problem')}", err=True)
        else:
            click.echo(f"error: {shown_lines(self.message)}", err=True)


class Groupctl(click.Group):
    """A `GroupctlError` becomes `error: <message>` and exit status 1; nothing else is caught."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GroupctlError as exc:
            raise Failure(exc) from None


@click.group(cls=Groupctl, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="groupctl")
@click.option("-v", "--verbose", is_flag=True, help="Log each API call (for any command).")
@click.option("--debug", is_flag=True, help="Log everything, bodies included (never the key).")
def cli(verbose: bool, debug: bool) -> None:
    """WhatsApp groups as code: the groups you want, in YAML, kept true through the Titan API.

    \b
    Connection (every command that talks to Titan):
      TITAN_API_URL   https://... for Titan, or sim:PATH for the built-in simulator
      TITAN_API_KEY   your Titan API key (never printed or logged)
      TITAN_SESSION   the Titan session to act as (default: default)

    \b
    Start with the built-in simulator, on a copy of the example:
      cp -r examples /tmp/groupctl-demo && cd /tmp/groupctl-demo
      groupctl validate
      groupctl plan --api sim:world.json
      groupctl apply --api sim:world.json
    """


def fail(message: str) -> NoReturn:
    raise Failure(message)
