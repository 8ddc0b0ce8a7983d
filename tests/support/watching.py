"""A watcher and the Titan simulator in one process, for the tests of `groupctl watch`: the
simulator's signed webhooks go straight into the watcher's app, time comes from a `Clock` the
test moves; and what the tests of `groupctl watch` as a real process share."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

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
from reconciler.watch import Watcher, WatchOptions
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
        return TitanClient(
            "http://titan-sim",
            api_key=KEY,
            session=name,
            transport=SimTransport(self.sim.asgi),
            write_rate=None,
        )

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


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    """The headers of a delivery of `body` signed as Titan signs it."""
    return {"X-Webhook-Signature": sign(secret, body), "Content-Type": "application/json"}


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
