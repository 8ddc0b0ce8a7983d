"""`groupctl sim serve`: the Titan simulator over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from reconciler.cli.flags import setup_logging, trimmed_secret, without_final_line_break
from reconciler.cli.root import Groupctl, fail


@click.group(cls=Groupctl)
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
    help="Also accept KEY with only the sessions:read and groups:read scopes (writes answer 403).",
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
@click.option(
    "--picture-getter",
    is_flag=True,
    help="Serve GET .../groups/{id}/picture, which Titan does not document (some engines have"
    " it); without it, that route answers 404 like any route Titan lacks. The world's"
    " settings.picture_getter turns it on too.",
)
@click.option(
    "--allow-local-webhooks",
    is_flag=True,
    help="For tests on one machine: let POST /api/webhooks register http:// and local URLs,"
    " which Titan refuses.",
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

    \b
    Exit status: 0 stopped (SIGTERM, Ctrl-C); 1 an error at start (the port, the world file).
    """
    from reconciler.sim.server import build_simulator, serve  # only when serving
    from reconciler.util.serving import bind

    secrets = ("api_key", "read_only_key", "webhook_secret")
    given = [options[name] for name in secrets]
    setup_logging(verbose, False, given + [without_final_line_break(g) for g in given])
    for name in secrets:
        options[name] = trimmed_secret(options[name], "--" + name.replace("_", "-"))
    try:  # before the world file is touched: a busy port leaves nothing behind
        sock = bind(host, port)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror}")
    simulator = build_simulator(state_path, **options)
    address = f"http://{host}:{sock.getsockname()[1]}"
    sessions = ", ".join(a.session for a in simulator.store.world().state.accounts)

    def ready() -> None:
        click.echo(f"Titan simulator listening on {address}")
        click.echo(f"world: {state_path} (sessions: {sessions}); Ctrl-C stops it", err=True)

    serve(simulator, sock, on_ready=ready)
