"""A watcher and the Titan simulator in one process, for the tests of `groupctl watch`: the
simulator's signed webhooks go straight into the watcher's app, time comes from a `Clock` the
test moves; the same for two accounts behind one listener (`Sessions`); and what the tests of
`groupctl watch` as a real process share."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from reconciler.config import load
from reconciler.config.shards import select
from reconciler.core.groups import DesiredState
from reconciler.core.jid import parse_jid
from reconciler.engine.planner import PlanPolicy
from reconciler.engine.statefile import StateFile
from reconciler.sim.app import SimConfig, Simulator
from reconciler.sim.gateway import ALL_SCOPES
from reconciler.sim.state import WorldState
from reconciler.sim.store import WorldStore
from reconciler.sim.transport import SimTransport
from reconciler.sim.webhooks import WebhookSender, sign
from reconciler.titan.client import TitanClient
from reconciler.util.serving import bind
from reconciler.watch import Listener, Watcher, WatchOptions
from tests.support.builders import desired, want

KEY = "watch-key-4b9e21"
SECRET = "watch-secret-77d0c3"
BOT, ALICE, BOB = "+14155550100", "+14155550101", "+14155550102"
TEAM = "120363000000000001@g.us"
ALICE_JID = parse_jid(ALICE)
TEAM_NOW = {ALICE: "member", BOB: "admin"}


def world() -> WorldState:
    """Team: the session's account (BOT) its super admin, Bob an admin (and a session of his
    own, to drift it), Alice a member."""
    return WorldState.model_validate(
        {
            "people": [{"phone": BOT}, {"phone": ALICE}, {"phone": BOB}],
            "accounts": [{"session": "default", "phone": BOT}, {"session": "bob", "phone": BOB}],
            "groups": [
                {
                    "id": TEAM,
                    "subject": "Team",
                    "creator": BOT,
                    "created_at": 1,
                    "invite_code": "TeamInviteCode00000001",
                    "participants": {BOT: "superadmin", BOB: "admin", ALICE: "member"},
                }
            ],
        }
    )


class Clock:
    """Time as the test sets it: `now` moves only when the test moves it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Setup:
    """A watcher and a simulator in this process: the simulator's signed webhooks go
    straight into the watcher's app."""

    def __init__(
        self,
        tmp_path: Path,
        options: WatchOptions,
        clock: Callable[[], float],
        reload: Callable[[], DesiredState] | None = None,
        config: DesiredState | None = None,
        state_file: StateFile | None = None,
    ) -> None:
        path = tmp_path / "world.json"
        path.write_text(world().model_dump_json())
        self.hooks = WebhookSender(
            "http://watch.test/webhooks/titan",
            SECRET,
            transport=httpx.ASGITransport(app=self._app),
        )
        simulated = SimConfig(api_keys={KEY: ALL_SCOPES}, webhooks=self.hooks)
        self.sim = Simulator(WorldStore.open(path), simulated)
        self.client = self.session("default")
        self.bob = self.session("bob")
        self.worker: asyncio.Task[None] | None = None  # while running
        self.watcher = Watcher(
            desired=config or desired(want("team", "Team", TEAM_NOW, id=TEAM)),
            client=self.client,
            secret=SECRET,
            policy=PlanPolicy(),
            pictures=tmp_path,  # the config's directory: picture files beside it
            options=options,
            reload=reload,
            clock=clock,
            state_file=state_file,
        )

    async def _app(self, scope: Any, receive: Any, send: Any) -> None:
        await self.watcher.app(scope, receive, send)

    def session(self, name: str) -> TitanClient:
        return sim_client(self.sim, name)

    async def settle(self) -> None:
        """Until every webhook is delivered and every queued group checked (a heal sends
        more webhooks: they are delivered and handled too)."""
        for _ in range(10):
            await self.hooks.close()
            await self.watcher.idle()
            if self.hooks._queue.empty():
                return
        raise AssertionError("the watcher and the simulator never settled")

    def count(self, metric: str, **labels: str) -> float:
        value = self.watcher.metrics.registry.get_sample_value(metric, labels)
        return value or 0.0

    def participants(self) -> dict[str, str]:
        return dict(self.sim.store.world().state.groups[0].participants)


@asynccontextmanager
async def running(setup: Setup) -> AsyncIterator[Setup]:
    """The watcher's worker running, its first resync done; the clients closed after."""
    worker = setup.worker = asyncio.create_task(setup.watcher.work())
    try:
        setup.watcher.tick()  # the first resync: learns which live group is which
        await setup.settle()
        yield setup
    finally:
        worker.cancel()
        await setup.client.aclose()
        await setup.bob.aclose()


def sim_client(sim: Simulator, session: str) -> TitanClient:
    """A client of `session` on the simulator in this process."""
    return TitanClient(
        "http://titan-sim",
        api_key=KEY,
        session=session,
        transport=SimTransport(sim.asgi),
        write_rate=None,
    )


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    """The headers of a delivery of `body` signed as Titan signs it."""
    return {"X-Webhook-Signature": sign(secret, body), "Content-Type": "application/json"}


# -- two accounts, one listener ------------------------------------------------------------------

SALES = "+14155550200"  # the sales account; the support account is BOT
HELP = "120363000000000011@g.us"  # support's group
DEALS = "120363000000000022@g.us"  # sales' group
# Bob (an admin of both, with a session of his own) drifts them; Alice is a member of both.
SESSIONS_CONFIG = f"""version: 1
session: support
sessions:
  support:
  sales: {{write_rate: unlimited}}
groups:
  help: {{subject: Help, id: "{HELP}", members: ["{ALICE}"], admins: ["{BOB}"]}}
  deals: {{subject: Deals, session: sales, id: "{DEALS}", members: ["{ALICE}"], admins: ["{BOB}"]}}
"""


def two_accounts() -> WorldState:
    """Help, the support account's group, and Deals, the sales account's: each account in its
    own group only, Bob an admin and Alice a member of both."""
    groups = [
        (HELP, "Help", BOT, "HelpInviteCode00000001"),
        (DEALS, "Deals", SALES, "DealInviteCode00000001"),
    ]
    return WorldState.model_validate(
        {
            "people": [{"phone": phone} for phone in (BOT, SALES, ALICE, BOB)],
            "accounts": [
                {"session": "support", "phone": BOT},
                {"session": "sales", "phone": SALES},
                {"session": "bob", "phone": BOB},
            ],
            "groups": [
                {
                    "id": gid,
                    "subject": subject,
                    "creator": owner,
                    "created_at": 1,
                    "invite_code": code,
                    "participants": {owner: "superadmin", BOB: "admin", ALICE: "member"},
                }
                for gid, subject, owner, code in groups
            ],
        }
    )


class Sessions:
    """The watchers of the support and sales accounts behind one listener, and a simulator
    whose signed webhooks go straight into the listener's app; `reload` reads `config` as
    `groupctl watch` does at SIGHUP."""

    def __init__(
        self,
        tmp_path: Path,
        options: WatchOptions,
        clock: Callable[[], float],
        reload: Callable[[Path], Mapping[str, DesiredState]] | None = None,
    ) -> None:
        world_file = tmp_path / "world.json"
        world_file.write_text(two_accounts().model_dump_json())
        self.config = tmp_path / "groups.yaml"
        self.config.write_text(SESSIONS_CONFIG)
        self.hooks = WebhookSender(
            "http://watch.test/webhooks/titan",
            SECRET,
            transport=httpx.ASGITransport(app=self._app),
        )
        simulated = SimConfig(api_keys={KEY: ALL_SCOPES}, webhooks=self.hooks)
        self.sim = Simulator(WorldStore.open(world_file), simulated)
        self.bob = sim_client(self.sim, "bob")
        whole = load(self.config)
        self.watchers = {
            name: Watcher(
                desired=select(whole, session=name)[0],
                client=sim_client(self.sim, name),
                secret=SECRET,
                policy=PlanPolicy(session=name),
                pictures=tmp_path,
                options=options,
                clock=clock,
                several=True,
            )
            for name in ("support", "sales")
        }
        self.listener = Listener(
            list(self.watchers.values()),
            secret=SECRET,
            options=options,
            reload=(lambda: reload(self.config)) if reload is not None else None,
        )

    async def _app(self, scope: Any, receive: Any, send: Any) -> None:
        await self.listener.app(scope, receive, send)

    async def settle(self) -> None:
        """Until every webhook is delivered and every queued group checked, in each session."""
        for _ in range(10):
            await self.hooks.close()
            for watcher in self.watchers.values():
                await watcher.idle()
            if self.hooks._queue.empty():
                return
        raise AssertionError("the watchers and the simulator never settled")

    def count(self, metric: str, **labels: str) -> float:
        """A sample of the listener's one registry."""
        return self.listener.registry.get_sample_value(metric, labels) or 0.0

    def participants(self, group: str) -> dict[str, str]:
        found = next(g for g in self.sim.store.world().state.groups if g.id == group)
        return dict(found.participants)

    def writes(self, session: str) -> int:
        """The API writes made as `session` so far."""
        calls = self.sim.stats.by_call.items()
        return sum(n for call, n in calls if not call.startswith("GET ") and f"/{session}/" in call)

    async def close(self) -> None:
        await self.bob.aclose()
        for watcher in self.watchers.values():
            await watcher.client.aclose()


@asynccontextmanager
async def serving(setup: Sessions) -> AsyncIterator[Sessions]:
    """Every session's worker running as `groupctl watch` runs them, the first resync of each
    done; stopped and the clients closed after."""
    for watcher in setup.watchers.values():
        watcher.start()
        watcher.tick()
    try:
        await setup.settle()
        yield setup
    finally:
        await setup.listener.stop()
        await setup.close()


# -- for `groupctl watch` as a real process ------------------------------------------------------

LUCAS = "14155550110@s.whatsapp.net"  # a member of the example's announcements group


def free_port() -> int:
    """A port nothing listens on now, for a `groupctl watch` process to take."""
    sock = bind("127.0.0.1", 0)
    port: int = sock.getsockname()[1]
    sock.close()
    return port


def eventually(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll an observable condition (not a sleep standing in for one) until it holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)
