"""The `groupctl` command: parse flags, call the library, print, map errors to exit codes."""

from __future__ import annotations

import asyncio
import difflib
import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from reconciler import __version__
from reconciler.config import load
from reconciler.config.model import config_schema
from reconciler.connect import ApiSettings
from reconciler.errors import ConfigError, GroupctlError, SetupError
from reconciler.files import replace_atomically
from reconciler.live import fetch
from reconciler.logs import configure_logging
from reconciler.plan import Plan
from reconciler.planner import PlanPolicy, plan
from reconciler.render import markdown, text
from reconciler.safety import Brakes, raise_if_unsafe
from reconciler.state import DesiredState, LiveState

MARKDOWN_SPLIT = "\n\n<!-- groupctl: next comment -->\n\n"

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class _Failure(click.ClickException):
    def __init__(self, error: GroupctlError | str) -> None:
        super().__init__(str(error))
        self.error = error

    def show(self, file: Any = None) -> None:
        if isinstance(self.error, ConfigError):
            for problem in self.error.problems:
                click.echo(str(problem), err=True)
            count = len(self.error.problems)
            click.echo(f"error: the config has {count} problem{'s' * (count != 1)}", err=True)
        else:
            click.echo(f"error: {self.message}", err=True)


class _Groupctl(click.Group):
    """A `GroupctlError` becomes `error: <message>` and exit status 1; nothing else is caught."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GroupctlError as exc:
            raise _Failure(exc) from None


@click.group(cls=_Groupctl, context_settings=CONTEXT)
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
    Start with:
      groupctl validate -f examples/groups.yaml
      groupctl status --api sim:/tmp/world.json
    """


def _logging(verbose: bool, debug: bool, secrets: list[str | None]) -> None:
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
        metavar="RATE",
        help="Most writes per time, e.g. 20/min or 'unlimited'. Default: 20/min against"
        " Titan (WhatsApp bans accounts that write in bursts), unlimited on sim:.",
    )
    @click.option("-v", "--verbose", is_flag=True, help="Log each API call.")
    @click.option("--debug", is_flag=True, help="Log everything, bodies included (never the key).")
    @functools.wraps(command)
    def wrapper(
        api: str | None,
        api_key: str | None,
        session: str | None,
        write_rate: str | None,
        verbose: bool,
        debug: bool,
        **kwargs: Any,
    ) -> Any:
        _logging(verbose, debug, [api_key])
        settings = ApiSettings(api=api, api_key=api_key, session=session, write_rate=write_rate)
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


@cli.command()
@config_option
def validate(config_path: Path) -> None:
    """Check the config without touching the API: every mistake, as file:line:col."""
    state = load(config_path)
    counts = [
        _count(state.people, "person", "people"),
        _count(state.teams, "team"),
        _count(len(state.groups), "group"),
    ]
    click.echo(f"{config_path}: valid ({', '.join(counts)})")


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the config file, for editors and other tools."""
    click.echo(json.dumps(config_schema(), indent=2))


@cli.command("plan")
@config_option
@api_options
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PLANFILE",
    help="Also save the plan, for `groupctl apply PLANFILE`.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="markdown: for a pull request comment (split with <!-- groupctl: next"
    " comment --> when longer than GitHub allows).",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0: no changes; 2: changes; 3: changes that remove, demote, leave or"
    " delete; 1: error.",
)
@click.option(
    "--group",
    "only",
    multiple=True,
    metavar="KEY",
    help="Plan only this group of the config (repeat for more).",
)
@click.option(
    "--max-removals",
    type=click.IntRange(0),
    default=20,
    show_default=True,
    help="Refuse a plan that removes more members than this in all.",
)
@click.option("--force", is_flag=True, help="Lift the safety brakes on removals.")
@click.option(
    "--remove-unresolved",
    is_flag=True,
    help="Also remove participants known only by a LID that no one in the config"
    " has (kept by default: they may be people you listed by number).",
)
@click.option("--mask-phones", is_flag=True, help="Show only the last 4 digits of phone numbers.")
def plan_command(
    settings: ApiSettings,
    config_path: Path,
    out: Path | None,
    output_format: str,
    detailed_exitcode: bool,
    only: tuple[str, ...],
    max_removals: int,
    force: bool,
    remove_unresolved: bool,
    mask_phones: bool,
) -> None:
    """Show what apply would change, in order: read live state, compare with the config."""
    desired = load(config_path)
    _check_group_keys(desired, only)
    settings = settings.for_config(desired.session)

    async def read_live() -> LiveState:
        async with settings.open_client() as client:
            return await fetch(client, desired, only=frozenset(only))

    live = asyncio.run(read_live())
    policy = PlanPolicy(
        remove_unresolved=remove_unresolved,
        only=frozenset(only),
        session=settings.session or "default",
        api=settings.shown_api,
    )
    result = plan(desired, live, policy)
    _show(result, output_format, mask_phones)
    if out is not None:
        try:
            replace_atomically(out, result.to_json().encode())
        except OSError as exc:
            raise SetupError(f"{out}: cannot write the plan: {exc.strerror}") from None
    raise_if_unsafe(result, Brakes(max_removals=max_removals), force=force)
    if result.refused:
        count = len(result.refused)
        raise GroupctlError(f"{count} group{'s' * (count != 1)} refused: see why above")
    if detailed_exitcode:
        sys.exit(3 if result.is_destructive else 2 if result.has_changes else 0)


@cli.command()
@api_options
def status(settings: ApiSettings) -> None:
    """Check the connection: the session, its account, and how many groups it is in."""

    async def run() -> None:
        async with settings.open_client() as client:
            info = await client.get_session()
            account = info.me.id.display() if info.me else "unknown account"
            click.echo(f"API:     {settings.api}")
            click.echo(f"Session: {info.name} ({info.status}) as {account}")
            if info.status != "CONNECTED":
                raise SetupError(
                    f"session {info.name!r} is not connected ({info.status}):"
                    " connect it in Titan (scan its QR code), then try again"
                )
            groups = await client.list_groups()
        click.echo(f"Groups:  {len(groups)}")

    asyncio.run(run())


@cli.group(cls=_Groupctl)
def sim() -> None:
    """The built-in Titan simulator: WhatsApp's group rules behind Titan's HTTP API."""


@sim.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8765,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on; 0 picks a free one (printed at start).",
)
@click.option(
    "--state",
    "state_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="World file: loaded at start (created if missing), saved after every change.",
)
@click.option(
    "--api-key",
    envvar="TITAN_API_KEY",
    show_envvar=True,
    required=True,
    metavar="KEY",
    help="The API key the simulator accepts, with every scope.",
)
@click.option(
    "--read-only-key",
    metavar="KEY",
    help="Also accept KEY with only the groups:read scope (writes answer 403).",
)
@click.option(
    "--latency-ms",
    default=0,
    show_default=True,
    type=click.IntRange(0),
    help="Delay added to every API request.",
)
@click.option(
    "--fault-rate",
    default="0",
    show_default=True,
    metavar="F",
    help="Share of API requests that fail on purpose: 0.1 spreads over every kind, or"
    " per kind: 500=0.05,503=0.05,429=0.05,drop=0.01,lost=0.02 (lost: done, but"
    " the answer never arrives).",
)
@click.option("--seed", type=int, help="Seed for --fault-rate, to repeat a run exactly.")
@click.option(
    "--rate-limit",
    default="100/s",
    show_default=True,
    metavar="RATE",
    help="Requests per API key in a sliding window, e.g. 10/s; past it, 429 with"
    " Retry-After. 'unlimited' turns it off.",
)
@click.option("--webhook-url", metavar="URL", help="Send signed webhooks for every change here.")
@click.option(
    "--webhook-secret",
    envvar="TITAN_WEBHOOK_SECRET",
    show_envvar=True,
    metavar="S",
    help="HMAC-SHA256 secret for X-Webhook-Signature (required with --webhook-url).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log each request.")
def sim_serve(state_path: Path, host: str, port: int, verbose: bool, **options: Any) -> None:
    """Serve the Titan API over HTTP from a world file, for trying groupctl and for tests.

    The world file is described in docs/simulator.md; edits to it while the simulator runs
    are picked up at the next request.

    \b
    Example:
      groupctl sim serve --port 8765 --state /tmp/world.json --api-key K &
      curl -H 'Authorization: Bearer K' http://127.0.0.1:8765/api/sessions/default/groups
    """
    from reconciler.sim.server import bind, build_simulator, serve  # only when serving

    _logging(
        verbose, False, [options["api_key"], options["read_only_key"], options["webhook_secret"]]
    )
    simulator = build_simulator(state_path, **options)
    try:
        sock = bind(host, port)
    except OSError as exc:
        _fail(f"cannot listen on {host}:{port}: {exc.strerror}")
    address = f"http://{host}:{sock.getsockname()[1]}"
    sessions = ", ".join(a.session for a in simulator.store.world().state.accounts)

    def ready() -> None:
        click.echo(f"Titan simulator listening on {address}")
        click.echo(f"world: {state_path} (sessions: {sessions}); Ctrl-C stops it", err=True)

    serve(simulator, sock, on_ready=ready)


def _check_group_keys(desired: DesiredState, only: tuple[str, ...]) -> None:
    keys = [group.key for group in desired.groups]
    for key in only:
        if key not in keys:
            close = difflib.get_close_matches(key, keys, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SetupError(f"--group {key!r}: the config has no such group{hint}")


def _show(result: Plan, output_format: str, mask_phones: bool) -> None:
    if output_format == "json":
        click.echo(result.to_json())
    elif output_format == "markdown":
        click.echo(MARKDOWN_SPLIT.join(markdown.render(result, mask_phones=mask_phones)))
    else:
        color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        click.echo(text.to_string(result, color=color, mask_phones=mask_phones), nl=False)


def _count(number: int, one: str, many: str | None = None) -> str:
    return f"{number} {one if number == 1 else many or one + 's'}"


def _fail(message: str) -> NoReturn:
    raise _Failure(message)


def main() -> None:
    cli()
