"""From the CLI's connection settings to a ready `TitanClient`: a real Titan, or `sim:PATH`.

`sim:PATH` runs the simulator in this process, with its world kept in PATH (created with one
account, session `default`, when missing); it accepts whatever API key is given, or none.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import click
import httpx

from reconciler.cli.interrupts import Signals
from reconciler.engine.stopping import Stop
from reconciler.errors import GroupctlError, SettingsError, UsageError
from reconciler.titan.client import DEFAULT_PARALLELISM, DEFAULT_WRITE_RATE, TitanClient
from reconciler.titan.http import check_api_key, check_no_credentials
from reconciler.titan.retries import DEFAULT_RETRIES, RetryPolicy
from reconciler.titan.session_guard import RECONNECT_WAIT
from reconciler.util.rates import Rate, parse_rate

T = TypeVar("T")

SIM_PREFIX = "sim:"
SIM_BASE_URL = "http://titan-sim"
_SIM_KEY = "sim-local"  # the in-process simulator's key when none is given

NO_API = (
    "no Titan API address: set TITAN_API_URL (or --api) to your Titan URL, e.g."
    " https://api.titan.io, or to sim:world.json to try groupctl on the built-in simulator"
)
NO_KEY = "no API key: set TITAN_API_KEY (or --api-key) to your Titan API key"


@dataclass(frozen=True)
class ApiSettings:
    """Where and as whom to call Titan: `--api`, `--api-key`, `--session`, `--write-rate`,
    `--timeout`, `--retries`, `--reconnect-wait`, `--parallelism`."""

    api: str | None
    api_key: str | None = field(repr=False)
    session: str | None = None  # None: the config's session:, else "default"
    # "20/min", "unlimited", or None for the default: paced against Titan, not on the simulator.
    write_rate: str | None = None
    timeout: float = 30.0  # seconds for one answer (retries come on top, within their budget)
    retries: int = DEFAULT_RETRIES  # tries after the first, of a call that may pass
    reconnect_wait: float = RECONNECT_WAIT  # seconds, in all, for a reconnecting session
    parallelism: int = DEFAULT_PARALLELISM  # API calls at once, at most
    # A shard's run (--shard K/N): the account's pace is shared by its N jobs, which run at
    # once on a CI matrix, so each writes at 1/N of it (WhatsApp bans by account, not job).
    pace_shares: int = 1

    def __post_init__(self) -> None:
        # Both checked before any file is read or call made, and neither message shows the key
        # or a password.
        if self.api and not self.api.startswith(SIM_PREFIX):
            _check_address(self.api)
        if self.api_key:
            check_api_key(self.api_key)

    def for_config(self, session: str | None) -> ApiSettings:
        """These settings, with the config's session when none was given by flag or env."""
        return replace(self, session=self.session or session)

    @property
    def shown_api(self) -> str:
        """The API address fit to print and save: without any user:password in it."""
        if not self.api or self.api.startswith(SIM_PREFIX):
            return self.api or ""
        parts = urlsplit(self.api)
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host
        return parts._replace(netloc=f"{host}:{parts.port}" if parts.port else host).geturl()

    def same_api(self, other: str) -> bool:
        """Whether `other` (a plan's address) names the API these settings call: compared by
        meaning (case of the scheme and host, a default port, a final /; a `sim:` world by its
        absolute path), not as text."""
        return bool(self.api) and _meaning(other) == _meaning(self.shown_api)

    def run(
        self, work: Callable[[TitanClient], Awaitable[T]], *, signals: Signals | None = None
    ) -> T:
        """Run `work` with a client for these settings: one event loop, one client session.

        SIGINT and SIGTERM are `signals`' to handle (see `cli.interrupts`): one that comes
        before `signals.stop` is armed ends the run with InterruptedRunError, nothing changed;
        after, `work` winds down and returns, and the caller says it was interrupted."""
        signals = signals if signals is not None else Signals(Stop())

        async def session() -> T:
            with signals.handled():
                async with self.open_client() as client:
                    return await work(client)

        try:
            return asyncio.run(session())
        except asyncio.CancelledError:
            if signals.received is None:
                raise
            raise signals.interrupted("before any change: nothing was changed") from None

    @staticmethod
    def run_each(
        runs: Sequence[ApiSettings],
        work: Callable[[ApiSettings, TitanClient], Awaitable[T]],
        *,
        signals: Signals | None = None,
    ) -> list[T | GroupctlError]:
        """`work` for each of `runs` (one per session) at once, each with a client of its own:
        one's failure (a banned account, an error) is its result, and the others go on.
        `signals`: as for `run`, shared by every session."""
        signals = signals if signals is not None else Signals(Stop())

        async def one(settings: ApiSettings) -> T | GroupctlError:
            try:
                async with settings.open_client() as client:
                    return await work(settings, client)
            except GroupctlError as exc:
                return exc

        async def every() -> list[T | GroupctlError]:
            with signals.handled():
                return list(await asyncio.gather(*(one(settings) for settings in runs)))

        try:
            return asyncio.run(every())
        except asyncio.CancelledError:
            if signals.received is None:
                raise
            raise signals.interrupted("before any change: nothing was changed") from None

    def _shared(self, rate: Rate | None) -> Rate | None:
        """This run's share of the account's pace (see `pace_shares`)."""
        if rate is None or self.pace_shares <= 1:
            return rate
        return Rate(rate.count / self.pace_shares, rate.period)

    def open_client(self) -> TitanClient:
        api, api_key = self.api, self.api_key
        if not api:
            raise SettingsError(NO_API)
        explicit_rate = self._shared(
            parse_rate(self.write_rate) if self.write_rate is not None else None
        )
        if api.startswith(SIM_PREFIX):
            path = api.removeprefix(SIM_PREFIX)
            if not path:
                raise UsageError("sim: needs a world file path, e.g. sim:world.json")
            if not Path(path).exists():
                click.echo(
                    f"note: {path} does not exist: a new simulated world is made there (one"
                    " WhatsApp account, session 'default')",
                    err=True,
                )
            # Imported here: a run against a real Titan needs none of the simulator.
            from reconciler.sim.app import SimConfig, Simulator
            from reconciler.sim.gateway import ALL_SCOPES
            from reconciler.sim.store import WorldStore
            from reconciler.sim.transport import SimTransport

            key = api_key or _SIM_KEY
            store = WorldStore.open(Path(path))
            simulator = Simulator(store, SimConfig(api_keys={key: ALL_SCOPES}, log_requests=False))
            client = TitanClient(
                SIM_BASE_URL,
                api_key=key,
                session=self.session or "default",
                transport=SimTransport(simulator.asgi),
                timeout=self.timeout,
                retry=RetryPolicy(attempts=1 + self.retries),
                write_rate=explicit_rate,
                max_concurrency=self.parallelism,
                reconnect_wait=self.reconnect_wait,
            )
        else:
            if not api_key:
                raise SettingsError(NO_KEY)
            client = TitanClient(
                api.rstrip("/"),
                api_key=api_key,
                session=self.session or "default",
                timeout=self.timeout,
                retry=RetryPolicy(attempts=1 + self.retries),
                write_rate=explicit_rate
                if self.write_rate is not None
                else self._shared(DEFAULT_WRITE_RATE),
                max_concurrency=self.parallelism,
                reconnect_wait=self.reconnect_wait,
            )
        return client


def _meaning(api: str) -> str:
    """An API address as it is compared: `sim:` and an absolute path, or the URL with its
    scheme and host in lower case, without a default port or a final /."""
    if api.startswith(SIM_PREFIX):
        return SIM_PREFIX + str(Path(api.removeprefix(SIM_PREFIX)).absolute())
    try:
        parts = urlsplit(api)
        port = parts.port
    except ValueError:
        return api
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if port is not None and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    return f"{scheme}://{host}{parts.path.rstrip('/')}"


def _check_address(api: str) -> None:
    """An http(s) address httpx can use, without Titan's /api or a password: or SettingsError
    saying so."""
    check_no_credentials(api)
    not_an_address = SettingsError(
        f"{api!r} is not an API address: give an http(s) URL such as"
        " https://api.titan.io, or sim:PATH for the built-in simulator"
    )
    try:
        parts = urlsplit(api)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
        httpx.URL(api)
    except (ValueError, httpx.InvalidURL):
        raise not_an_address from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise not_an_address
    if parts.path.rstrip("/").endswith("/api"):
        # Every Titan path starts with /api/sessions: the address stops before /api.
        raise SettingsError(
            f"{api!r} ends in /api: give the address without it, e.g."
            f" {parts.scheme}://{parts.netloc}{parts.path.rstrip('/').removesuffix('/api')}"
        )
