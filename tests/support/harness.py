"""A simulator under test, reached in-process or over a real socket on 127.0.0.1.

`standard_world()` is the world most tests start from:

    accounts (sessions)   default +14155550100   creator of Engineering, member of Marketing
                          other   +14155550199   admin of Engineering, creator of Marketing
                          member  +14155550198   plain member of Engineering
                          outsider +14155550197  in no group
                          stopped +14155550196   session not connected
    people                alice, bob; carol (invite only); dave (number shown to admins
                          and contacts only); erin (number shown to contacts only)
    Engineering           default (super admin), other (admin), member, alice, dave, erin
    Marketing             other (super admin), default, bob
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx

from reconciler.core.jid import Jid, parse_jid
from reconciler.sim.app import SimConfig, Simulator
from reconciler.sim.gateway import ALL_SCOPES, READ_SCOPE, SESSIONS_SCOPE
from reconciler.sim.server import make_server
from reconciler.sim.state import Account, Group, Person, WorldState
from reconciler.sim.store import WorldStore
from reconciler.sim.transport import SimTransport
from reconciler.sim.world import World
from reconciler.titan.client import TitanClient
from reconciler.titan.retries import RetryPolicy
from reconciler.util.serving import bind

KEY = "test-key-5f2b9c1e"
READ_ONLY_KEY = "read-only-key-77aa01"
SIM_URL = "http://titan-sim"

DEFAULT, OTHER, MEMBER, OUTSIDER, STOPPED = (
    "+14155550100",
    "+14155550199",
    "+14155550198",
    "+14155550197",
    "+14155550196",
)
ALICE, BOB, CAROL, DAVE, ERIN = (
    "+14155550101",
    "+14155550102",
    "+14155550103",
    "+14155550104",
    "+14155550105",
)
ENGINEERING = "120363000000000001@g.us"
MARKETING = "120363000000000002@g.us"
ENGINEERING_CODE = "EngInviteCode000000001"


def jid(phone: str) -> Jid:
    return parse_jid(phone)


def gid(group_id: str) -> Jid:
    return parse_jid(group_id)


def standard_world() -> WorldState:
    return WorldState(
        people=[
            Person(phone=DEFAULT, name="Owner"),
            Person(phone=ALICE, name="Alice"),
            Person(phone=BOB, name="Bob"),
            Person(phone=CAROL, name="Carol", invite_only=True),
            Person(phone=DAVE, name="Dave", phone_visible_to="admins"),
            Person(phone=ERIN, name="Erin", phone_visible_to="contacts"),
        ],
        accounts=[
            Account(session="default", phone=DEFAULT),
            Account(session="other", phone=OTHER, contacts=[ERIN]),
            Account(session="member", phone=MEMBER),
            Account(session="outsider", phone=OUTSIDER),
            Account(
                session="stopped", phone=STOPPED, status="DISCONNECTED", status_reason="MANUAL_STOP"
            ),
        ],
        groups=[
            Group(
                id=ENGINEERING,
                subject="Engineering",
                description="Build things",
                creator=DEFAULT,
                created_at=1_700_000_000,
                invite_code=ENGINEERING_CODE,
                participants={
                    DEFAULT: "superadmin",
                    OTHER: "admin",
                    MEMBER: "member",
                    ALICE: "member",
                    DAVE: "member",
                    ERIN: "member",
                },
            ),
            Group(
                id=MARKETING,
                subject="Marketing",
                creator=OTHER,
                created_at=1_700_000_100,
                invite_code="MktInviteCode000000002",
                participants={OTHER: "superadmin", DEFAULT: "member", BOB: "member"},
            ),
        ],
    )


class ThreadServer:
    """uvicorn serving an app on a free port of 127.0.0.1, in a background thread."""

    def __init__(self, simulator: Simulator) -> None:
        sock = bind("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self._server = make_server(simulator)
        # The socket already listens: connections wait in its backlog until uvicorn accepts.
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


class Harness:
    """One simulator and the clients of a test."""

    def __init__(self, world: WorldState, path: Path, *, over_socket: bool, **config: Any) -> None:
        path.write_text(world.model_dump_json())
        keys = {KEY: ALL_SCOPES, READ_ONLY_KEY: frozenset({READ_SCOPE, SESSIONS_SCOPE})}
        self.simulator = Simulator(WorldStore.open(path), SimConfig(api_keys=keys, **config))
        self._server = ThreadServer(self.simulator) if over_socket else None
        self.base_url = self._server.url if self._server else SIM_URL
        self._closers: list[Any] = []

    @property
    def world(self) -> World:
        return self.simulator.store.world()

    def lid(self, phone: str) -> str:
        lid = self.world.person(phone).lid
        assert lid is not None
        return lid

    def transport(self) -> httpx.AsyncBaseTransport | None:
        return None if self._server else SimTransport(self.simulator.asgi)

    def client(self, session: str = "default", **options: Any) -> TitanClient:
        """A client of `session`: unpaced, and failing at once unless `retry` says otherwise."""
        settings: dict[str, Any] = {
            "api_key": KEY,
            "write_rate": None,
            "retry": RetryPolicy(attempts=1),
            **options,
        }
        client = TitanClient(self.base_url, session=session, transport=self.transport(), **settings)
        self._closers.append(client.aclose)
        return client

    def raw(self, api_key: str | None = KEY) -> httpx.AsyncClient:
        """Plain HTTP, for asserting the wire format itself."""
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        http = httpx.AsyncClient(
            base_url=self.base_url, transport=self.transport(), headers=headers
        )
        self._closers.append(http.aclose)
        return http

    async def drain_webhooks(self) -> None:
        """Wait until every webhook queued so far is delivered (ends the simulator's serving)."""
        if self._server is not None:
            self._server.stop()  # uvicorn's shutdown closes the senders in the server's loop
            self._server = None
        else:
            await self.simulator.close_webhooks()

    async def aclose(self) -> None:
        for close in self._closers:
            await close()
        if self._server is not None:
            self._server.stop()
