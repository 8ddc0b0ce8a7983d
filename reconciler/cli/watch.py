"""`groupctl watch`: the long-running mode, driven by Titan's webhooks."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import click
import uvicorn

from reconciler.cli.common import api_options, config_option, setup_logging
from reconciler.cli.root import cli
from reconciler.config import load
from reconciler.connect import ApiSettings
from reconciler.errors import SetupError
from reconciler.memory import Memory, default_state_path
from reconciler.planner import PlanPolicy
from reconciler.rates import parse_duration
from reconciler.safety import Brakes
from reconciler.serving import GracefulServer, bind
from reconciler.watch import Watcher, WatchOptions


@cli.command()
@config_option
@api_options
@click.option(
    "--listen",
    default="127.0.0.1:8080",
    show_default=True,
    metavar="HOST:PORT",
    help="Where Titan delivers webhooks (POST /webhooks/titan); port 0 picks one.",
)
@click.option(
    "--webhook-secret-env",
    default="TITAN_WEBHOOK_SECRET",
    show_default=True,
    metavar="NAME",
    help="The environment variable holding the webhooks' signing secret.",
)
@click.option("--self-heal", is_flag=True, help="Put drifted groups back, as apply would.")
@click.option(
    "--resync-interval",
    default="15m",
    show_default=True,
    metavar="DURATION",
    help="Check every managed group this often too (webhooks can be lost): 30s, 15m, 1h.",
)
@click.option(
    "--max-removals",
    type=click.IntRange(0),
    default=20,
    show_default=True,
    help="The safety brake for each heal; a heal the brakes stop is reported, not forced.",
)
@click.option(
    "--state-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where groupctl remembers invitations and recent leavers. Default:"
    " .groupctl-state.json beside the config.",
)
def watch(
    settings: ApiSettings,
    config_path: Path,
    listen: str,
    webhook_secret_env: str,
    self_heal: bool,
    resync_interval: str,
    max_removals: int,
    state_file: Path | None,
) -> None:
    """Listen to Titan's group webhooks and report drift of managed groups within seconds,
    as one JSON log line per group and in Prometheus metrics (/metrics); with --self-heal,
    put them back. /healthz answers while the config is loaded and the API reachable.

    SIGHUP reloads the config; SIGTERM stops, after the group in progress.

    \b
      TITAN_WEBHOOK_SECRET=... groupctl watch --listen 0.0.0.0:8080 --self-heal
    """
    secret = os.environ.get(webhook_secret_env)
    if not secret:
        raise SetupError(
            f"no webhook secret: set {webhook_secret_env} to the secret Titan signs webhooks"
            " with (unsigned deliveries are refused, so watch needs it)"
        )
    flags = click.get_current_context().params  # -v and --debug, as api_options read them
    setup_logging(flags["verbose"], flags["debug"], [settings.api_key, secret])
    logging.getLogger("reconciler.watch").setLevel(logging.INFO)
    desired = load(config_path)
    settings = settings.for_config(desired.session)
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise SetupError(f"--listen {listen!r}: give HOST:PORT, e.g. 127.0.0.1:8080")
    options = WatchOptions(
        self_heal=self_heal,
        resync_interval=parse_duration(resync_interval),
        brakes=Brakes(max_removals=max_removals),
    )
    policy = PlanPolicy(
        session=settings.session or "default", api=settings.shown_api, config=str(config_path)
    )
    memory = Memory.load(state_file or default_state_path(config_path))
    try:
        sock = bind(host.strip("[]"), int(port))
    except OSError as exc:
        raise SetupError(f"cannot listen on {listen}: {exc.strerror}") from None

    async def serve() -> None:
        async with settings.open_client() as client:
            watcher = Watcher(
                desired=desired,
                client=client,
                secret=secret,
                policy=policy,
                memory=memory,
                options=options,
                reload=lambda: load(config_path),
            )
            server = GracefulServer(
                uvicorn.Config(watcher.app, log_config=None, access_log=False, lifespan="on")
            )
            address = f"http://{listen.rsplit(':', 1)[0]}:{sock.getsockname()[1]}"
            click.echo(f"groupctl watch listening on {address}")
            click.echo(
                f"{len(desired.groups)} groups managed; self-heal {'on' if self_heal else 'off'};"
                f" resync every {resync_interval}",
                err=True,
            )
            await server.serve(sockets=[sock])

    asyncio.run(serve())
