"""The root `groupctl` command group, and how a GroupctlError becomes `error: ...`, exit 1."""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Mapping
from typing import Any, NoReturn

import click

from reconciler import __version__
from reconciler.cli import startup
from reconciler.cli.flags import choose_color
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


# Each command's module, imported only when the command runs (or its --help is asked for),
# and its short help for the list in `groupctl --help` (a test keeps the two in step): so
# `groupctl --help` and `groupctl validate` do not import the HTTP client, the web server,
# the picture library...
COMMANDS = {
    "apply": (
        "reconciler.cli.apply:apply_command",
        "Carry out the plan: the config's (planned now), or a saved PLANFILE.",
    ),
    "check": (
        "reconciler.cli.check:check_command",
        "Check the config against its own policy: rules (groups that must stay protect: true,"
        " people never removed, a largest size, admins from a team), without any API key: for"
        " a pull request, like diff.",
    ),
    "diff": (
        "reconciler.cli.diff:diff_command",
        "Compare two versions of the config: groups added, removed or renamed, and per group "
        "who joins, leaves, gains or loses admin.",
    ),
    "import": (
        "reconciler.cli.import_:import_command",
        "Write a config from live groups: people, ids, subjects, descriptions, members and "
        "admins, so that a plan of it shows no changes.",
    ),
    "links": (
        "reconciler.cli.links:links_command",
        "Print the invite links of the config's groups that exist, for publishing where only"
        " the people they are for can see them (an intranet page).",
    ),
    "plan": (
        "reconciler.cli.plan:plan_command",
        "Show what apply would change, in order: read live state, compare with the config.",
    ),
    "schema": (
        "reconciler.cli.validate:schema",
        "Print the JSON Schema of the config file, for editors and other tools.",
    ),
    "shards": (
        "reconciler.cli.shards:shards_command",
        "Print how N jobs split the config: every session (with sessions:) times N shards,"
        " each job a `--session NAME --shard K/N` run; every group is in exactly one. No API"
        " key needed.",
    ),
    "show": (
        "reconciler.cli.show:show_command",
        "Show a saved plan, as plan would print it, without calling the API: for a reviewer,"
        " or for the log of the job that applies it.",
    ),
    "sim": (
        "reconciler.cli.sim:sim",
        "The built-in Titan simulator: WhatsApp's group rules behind Titan's HTTP API.",
    ),
    "status": (
        "reconciler.cli.status:status",
        "Check the connection: the session, its account and state, the key's scopes, and how "
        "many groups the session is in.",
    ),
    "validate": (
        "reconciler.cli.validate:validate",
        "Check the config without touching the API: every mistake, as file:line:col.",
    ),
    "watch": (
        "reconciler.cli.watch:watch",
        "Listen to Titan's group webhooks and report drift of managed groups within seconds, as"
        " one JSON log line per group and in Prometheus metrics (/metrics); with --self-heal, "
        "put them back.",
    ),
}


# The root group's flags that no command takes as its own (-v and --debug are both).
_GLOBAL_FLAGS = frozenset({"--color", "--no-color"})


class UsageFailure(click.ClickException):
    """A mistake in the command line (a flag misspelled, an argument missing): the usage
    line, then `error: ...`, and exit status 1; not click's 2, which `plan
    --detailed-exitcode` gives to "changes", so a typo in a drift check would read as drift."""

    exit_code = 1

    def __init__(self, error: click.UsageError) -> None:
        message = error.format_message()
        flag = getattr(error, "option_name", None)
        if isinstance(error, click.NoSuchOption) and flag in _GLOBAL_FLAGS:
            message = (  # (not click's "did you mean" another: this one is misplaced)
                f"No such option {flag!r} here: it is groupctl's own, and goes before the"
                f" command (groupctl {flag} ...)"
            )
        super().__init__(message)
        self.ctx = error.ctx

    def show(self, file: Any = None) -> None:
        if self.ctx is not None:
            hint = f"Try '{self.ctx.command_path} --help' for help."
            click.echo(f"{self.ctx.get_usage()}\n{hint}\n", err=True)
        click.echo(f"error: {shown_lines(self.message)}", err=True)


class HelpInstead(click.ClickException):
    """A group run without a command: its help, on stdout, and exit status 0."""

    exit_code = 0

    def __init__(self, ctx: click.Context) -> None:
        super().__init__("")
        self.ctx = ctx

    def show(self, file: Any = None) -> None:
        click.echo(self.ctx.get_help())


def _usage(error: click.UsageError) -> click.ClickException:
    if isinstance(error, click.exceptions.NoArgsIsHelpError):
        return HelpInstead(error.ctx)
    return UsageFailure(error)


class Groupctl(click.Group):
    """A `GroupctlError` becomes `error: <message>` and exit status 1 (or the error's own
    `exit_code`); nothing else is caught. Commands in `lazy` (name -> ("module:attribute",
    short help)) are imported when first needed."""

    def __init__(
        self, *args: Any, lazy: Mapping[str, tuple[str, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        known = self.list_commands(ctx)
        if name and not name.startswith("-") and name not in known:
            # (click suggests only from the commands imported so far: here, none)
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise click.UsageError(f"No such command {name!r}.{hint}", ctx)
        found = super().resolve_command(ctx, args)
        startup.over()  # the command's modules are imported
        return found

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy and name not in self.commands:
            module, _, attribute = self.lazy[name][0].partition(":")
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The list of commands, from `lazy`'s short help for those not imported yet."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [
            (
                name,
                self.commands[name].get_short_help_str(limit)
                if name in self.commands
                else click.Command(name, help=self.lazy[name][1]).get_short_help_str(limit),
            )
            for name in names
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            raise _usage(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GroupctlError as exc:
            raise Failure(exc) from None
        except click.UsageError as exc:  # a command's own flags, parsed as it is invoked
            raise _usage(exc) from None


@click.group(cls=Groupctl, lazy=COMMANDS, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="groupctl")
@click.option("-v", "--verbose", is_flag=True, help="Log each API call (for any command).")
@click.option("--debug", is_flag=True, help="Log everything, bodies included (never the key).")
@click.option(
    "--color/--no-color",
    default=None,
    help="Color the plan and the diff, or not. Default: on a terminal only; none with NO_COLOR"
    " set; always with FORCE_COLOR set (GitHub's logs show colors).",
)
def cli(verbose: bool, debug: bool, color: bool | None) -> None:
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
    choose_color(color)


def fail(message: str) -> NoReturn:
    raise Failure(message)
