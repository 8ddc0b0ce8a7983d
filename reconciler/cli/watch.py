"""`groupctl watch`: the long-running mode, driven by Titan's webhooks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
from dataclasses import replace
from pathlib import Path

import click
import uvicorn

from reconciler.cli.connection import ApiSettings
from reconciler.cli.flags import (
    Duration,
    config_option,
    setup_logging,
    trimmed_secret,
    without_final_line_break,
    written_duration,
)
from reconciler.cli.options import (
    api_options,
    load_sessions,
    make_run,
    session_brakes,
    state_file_option,
)
from reconciler.config.workspace import state_file_of
from reconciler.core.groups import DesiredState
from reconciler.engine.safety import Brakes
from reconciler.engine.statefile import StateFile
from reconciler.errors import FileAccessError, SettingsError, UsageError
from reconciler.util.logs import without_credentials
from reconciler.util.serving import GracefulServer, bind, head_deadline, small_tls_reads
from reconciler.util.untrusted import one_line, repr_shown, shown
from reconciler.watch import Listener, Watcher, WatchOptions
from reconciler.watch.options import HEALTH_INTERVAL
from reconciler.watch.registration import Registration, check_url, register


@click.command()
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
    "--tls-cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Serve HTTPS with this certificate (PEM, its chain after it); with --tls-key."
    " Titan delivers only to public HTTPS URLs: this, or a TLS reverse proxy in front.",
)
@click.option(
    "--tls-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The certificate's private key (PEM, not encrypted).",
)
@click.option(
    "--register",
    "public_url",
    metavar="PUBLIC_URL",
    help="Before serving, make sure Titan delivers the webhooks of each session watched to"
    " PUBLIC_URL (https://.../webhooks/titan), signed with the secret: created once, found"
    " again after.",
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
    type=Duration(),
    default="15m",
    show_default=True,
    metavar="DURATION",
    help="Check every managed group this often too (webhooks can be lost): 30s, 15m, 1h.",
)
@click.option(
    "--health-interval",
    type=Duration(least=1, most=3600),
    default=written_duration(HEALTH_INTERVAL),
    show_default=True,
    metavar="DURATION",
    help="Read the session this often for /healthz, whether or not it is asked (one call"
    " each time, within the key's rate limit): 1s to 1h.",
)
@click.option(
    "--read-timeout",
    type=Duration(),
    default="10s",
    show_default=True,
    metavar="DURATION",
    help="A request's head, then a delivery's body, must each arrive within this; a slower"
    " connection is closed (a delivery: 408).",
)
@click.option(
    "--max-removals",
    type=click.IntRange(0),
    default=20,
    show_default=True,
    help="The safety brake for each heal; a heal the brakes stop is reported, not forced.",
)
@state_file_option
def watch(
    settings: ApiSettings,
    config_path: Path,
    listen: str,
    tls_cert: Path | None,
    tls_key: Path | None,
    public_url: str | None,
    webhook_secret_env: str,
    self_heal: bool,
    resync_interval: float,
    health_interval: float,
    read_timeout: float,
    max_removals: int,
    state_path: Path | None,
) -> None:
    """Listen to Titan's group webhooks and report drift of managed groups within seconds,
    as one JSON log line per group and in Prometheus metrics (/metrics); with --self-heal,
    put them back. /healthz answers while the config is loaded and the API reachable.

    A config of several sessions (sessions:) is watched whole, one listener for every
    account, unless --session names one: each session with its own client, pace, state file
    and heals (a banned account stops alone); a delivery goes to the session it names.
    /healthz says each session's state, and answers 200 while one of them is served.

    SIGHUP reloads the config (an account it adds or drops needs a restart); SIGTERM stops,
    after the group in progress (within about 7 s: no heal starts after the signal, the one in
    progress is wound down as an interrupted apply is, a check still waiting for the API is
    dropped).

    \b
      TITAN_WEBHOOK_SECRET=... groupctl watch --listen 0.0.0.0:8443 --self-heal \\
        --tls-cert cert.pem --tls-key key.pem \\
        --register https://watch.example.com:8443/webhooks/titan

    \b
    Exit status: 0 stopped by SIGTERM; 1 an error (at start:
    the config, the address, the certificate, the secret).
    """
    given = os.environ.get(webhook_secret_env)
    flags = click.get_current_context().params  # -v and --debug, as api_options read them
    secrets = [settings.api_key, given, without_final_line_break(given)]
    setup_logging(flags["verbose"], flags["debug"], secrets)
    secret = trimmed_secret(given, f"the webhook secret in {webhook_secret_env}")
    if not secret:
        raise SettingsError(
            f"no webhook secret: set {webhook_secret_env} to the secret Titan signs webhooks"
            " with (unsigned deliveries are refused, so watch needs it)"
        )
    logging.getLogger("reconciler.watch").setLevel(logging.INFO)
    # One run (--session, or a config of one account), or one for each session of a config
    # of several: each with its own groups, pace, client, state file and watcher.
    runs = load_sessions(config_path, (), settings)
    several = len(runs) > 1
    if several and state_path is not None:
        names = ", ".join(repr_shown(own.session) for _, own in runs)
        raise UsageError(
            "--state-file is the file of one session: add --session NAME (this config"
            f" manages {names})"
        )

    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--listen {listen!r}: give HOST:PORT, e.g. 127.0.0.1:8080")
    if int(port) > 65535:
        raise UsageError(f"--listen {listen!r}: a port is 0 to 65535 (0 picks a free one)")
    tls = _tls_files(tls_cert, tls_key)
    if tls:
        small_tls_reads()
    if public_url is not None:
        check_url(public_url)  # before anything is started
    brakes = Brakes(max_removals=max_removals)
    made = [
        (
            desired,
            own,
            make_run(
                own,
                config_path,
                state_path or state_file_of(config_path, desired, own.session),
                brakes=session_brakes(brakes, desired, own),
            ),
        )
        for desired, own in runs
    ]
    options = WatchOptions(
        self_heal=self_heal,
        resync_interval=resync_interval,
        health_interval=health_interval,
        brakes=brakes,
        read_timeout=read_timeout,
    )
    state_files = [StateFile.load(run.workspace.state_file) for _, _, run in made]
    try:
        # 16 KiB (32 KiB in all on Linux): what one delivery's peer can push before watch reads
        # it. Deliveries are small; a full window still carries 256 KiB in 8 round trips.
        sock = bind(host.strip("[]"), int(port), receive_buffer=16 * 1024)
    except OSError as exc:
        raise SettingsError(f"cannot listen on {listen}: {exc.strerror}") from None

    async def serve() -> None:
        async with contextlib.AsyncExitStack() as clients:
            watchers = [
                Watcher(
                    desired=desired,
                    client=await clients.enter_async_context(own.open_client()),
                    secret=secret,
                    policy=run.policy,
                    state_file=state_file,
                    # Each heal under its account's own limits (sessions: limits:) too.
                    options=replace(options, brakes=run.brakes),
                    pictures=run.workspace.root,
                    several=several,
                )
                for (desired, own, run), state_file in zip(made, state_files, strict=True)
            ]
            listener = Listener(
                watchers,
                secret=secret,
                options=options,
                reload=lambda: groups_by_session(config_path, settings),
            )
            if public_url is not None:
                for watcher in watchers:
                    registered = await register(watcher.client, public_url, secret)
                    _tell(registered, watcher.name if several else None)
            server = GracefulServer(
                uvicorn.Config(
                    listener.app,
                    http=head_deadline(options.read_timeout),
                    log_config=None,
                    access_log=False,
                    lifespan="on",
                    # Connections still open at SIGTERM get this long; then the group in
                    # progress is finished all the same. (An idle TLS connection whose peer
                    # never answers the close would otherwise hold the exit for 30 s.)
                    timeout_graceful_shutdown=5,
                    ssl_certfile=tls[0] if tls else None,
                    ssl_keyfile=tls[1] if tls else None,
                ),
                on_exit=listener.begin_stop,
            )
            scheme = "https" if tls else "http"
            address = f"{scheme}://{listen.rsplit(':', 1)[0]}:{sock.getsockname()[1]}"
            click.echo(f"groupctl watch listening on {address}")
            click.echo(
                f"{_managed(listener)}; self-heal {'on' if self_heal else 'off'};"
                f" resync every {written_duration(resync_interval)}",
                err=True,
            )
            try:
                await server.serve(sockets=[sock])
            finally:  # a second Ctrl-C ends serving without its shutdown: the heal is saved
                await listener.stop()

    asyncio.run(serve())


def groups_by_session(config_path: Path, settings: ApiSettings) -> dict[str, DesiredState]:
    """The config's groups by the session watch would watch them as: what a reload (SIGHUP)
    hands each watcher."""
    runs = load_sessions(config_path, (), settings)
    return {own.session or "default": desired for desired, own in runs}


def _managed(listener: Listener) -> str:
    """How many groups watch manages, and of which sessions when several."""
    if len(listener.watchers) == 1:
        return f"{listener.groups} groups managed"
    each = ", ".join(
        f"{shown(watcher.name)}: {len(watcher.desired.groups)}" for watcher in listener.watchers
    )
    return f"{listener.groups} groups of {len(listener.watchers)} sessions managed ({each})"


def _tls_files(cert: Path | None, key: Path | None) -> tuple[str, str] | None:
    """The certificate and key to serve HTTPS with, checked now: a mistake is a clear error
    at start, not a failure of every connection."""
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise UsageError("--tls-cert and --tls-key go together: give both, or neither")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        # An encrypted key would make OpenSSL ask for its passphrase: refused instead.
        context.load_cert_chain(cert, key, password=lambda: b"")
    except (ssl.SSLError, OSError) as exc:
        raise FileAccessError(
            f"--tls-cert {cert} / --tls-key {key}: not a usable certificate and unencrypted"
            f" private key in PEM ({exc.strerror or exc})"
        ) from None
    return str(cert), str(key)


def _tell(registration: Registration, session: str | None = None) -> None:
    """What --register found or made (for `session`, in a watch of several)."""
    hook = registration.webhook
    done = "registered" if registration.created else "already registered"
    events = ", ".join(hook.events) if hook.events else "every event"
    whose = f"session {session}: " if session is not None else ""
    # Parts come from Titan's answer (shown safely), and a URL may carry a password.
    lines = [f"{whose}webhook {hook.id} {done}: {without_credentials(hook.url)} ({events})"]
    lines += [f"note: {note}" for note in registration.notes]
    for line in lines:
        click.echo(one_line(line), err=True)
