"""The routes' one way to the world: reads and writes as the session a path names, each write
counted against the account, and the webhook events a change causes delivered after it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from starlette.requests import Request

from reconciler.sim.registrations import Deliveries
from reconciler.sim.state import Account, Group
from reconciler.sim.store import WorldStore
from reconciler.sim.webhooks import WebhookSender
from reconciler.sim.world import World

# The paths of a session's resources: `read` and `write` act as the `{session}` they name.
SESSION_PATH = "/api/sessions/{session}"
GROUP_PATH = SESSION_PATH + "/groups/{group_id}"

_T = TypeVar("_T")


@dataclass
class WorldAccess:
    """The store, the clock, and where events go: to the sender `groupctl sim serve
    --webhook-url` configured, if any, and to the webhooks registered through the API."""

    store: WorldStore
    clock: Callable[[], float]
    webhooks: WebhookSender | None
    registered: Deliveries

    def now(self) -> int:
        return int(self.clock())

    def read(self, request: Request, view: Callable[[World, Account], _T]) -> _T:
        """What `view` sees as the path's session, which must be connected."""
        world = self.store.world()
        return view(world, world.connected_account(request.path_params["session"]))

    def read_group(self, request: Request, view: Callable[[World, Account, Group], _T]) -> _T:
        """What `view` sees of the path's group, as the path's session (one of its members)."""
        gid = request.path_params["group_id"]
        return self.read(
            request, lambda world, account: view(world, account, world.group(account, gid))
        )

    def write(self, request: Request, change: Callable[[World, Account], _T]) -> _T:
        """`change` done as the path's session, which must be connected; one write more."""
        with self.changing() as world:
            account = world.connected_account(request.path_params["session"])
            result = change(world, account)
            world.count_write(account)
        return result

    @contextlib.contextmanager
    def changing(self) -> Iterator[World]:
        """The world to change, saved at the end of the block; then its events are sent."""
        with self.store.change() as world:
            yield world
            events, world.outbox = world.outbox, []
        if events:
            if self.webhooks is not None:
                self.webhooks.publish(events)
            self.registered.publish(world.state.webhooks, events)
