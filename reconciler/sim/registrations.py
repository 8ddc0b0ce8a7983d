"""Webhook registrations, as Titan keeps them (titan-api.md, "Webhooks"): created with
`POST /api/webhooks`, listed with `GET /api/webhooks` and removed with
`DELETE /api/webhooks/{id}` (those two are inferred: Titan's pages document only creation),
and the deliveries to every registered URL.

Titan refuses URLs that are not public HTTPS; so does the simulator, unless it was started
with the test-only allowance for local URLs (`sim serve --allow-local-webhooks`). The signing
key (`hmacKey`) is shown once, in the answer to its creation, never in a listing.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from reconciler.core.webhook_urls import TITAN_RULE, url_problem
from reconciler.errors import UsageError
from reconciler.sim.state import SessionName, Webhook, WebhookRetries
from reconciler.sim.webhooks import WebhookSender
from reconciler.sim.world import Event, SimError, World

# `group.update`, or `*` for every event.
_EVENT = re.compile(r"\*|[a-z_]+(\.[a-z_]+)*")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RetriesRequest(_Strict):
    attempts: int = Field(default=3, ge=1, le=10)
    delaySeconds: float = Field(default=5, ge=0, le=3600)  # noqa: N815 - Titan's name
    policy: Literal["exponential", "fixed"] = "exponential"


class WebhookRequest(_Strict):
    """`POST /api/webhooks`'s body: Titan's fields (ar/webhooks, plus overview's `label`)."""

    url: str = Field(min_length=1, max_length=2048)
    events: list[str] = Field(default_factory=list, max_length=100)
    session: SessionName | None = None
    hmacKey: str | None = Field(default=None, min_length=16, max_length=512)  # noqa: N815
    headers: dict[str, str] = Field(default_factory=dict, max_length=20)
    retries: RetriesRequest = Field(default_factory=RetriesRequest)
    label: str | None = Field(default=None, max_length=100)


def create(
    world: World, body: WebhookRequest, *, now: int, allow_local: bool
) -> tuple[Webhook, str]:
    """A new registration and its signing key (the one given, or a new one)."""
    problem = url_problem(body.url)
    if problem is not None and not allow_local:
        raise SimError(400, f"{problem}: {TITAN_RULE}")
    try:  # even allowed, it must be somewhere a delivery can go
        WebhookSender(body.url, "")
    except UsageError as exc:
        raise SimError(400, str(exc)) from None
    for event in body.events:
        if not _EVENT.fullmatch(event):
            raise SimError(400, f"{event!r} is not an event name")
    if body.session is not None:
        world.account(body.session)  # 404 for a session nobody has
    key = body.hmacKey or secrets.token_hex(32)
    hooks = world.state.webhooks
    hook = Webhook(
        id=max((h.id for h in hooks), default=0) + 1,
        url=body.url,
        events=body.events,
        session=body.session,
        hmac_key=key,
        headers=body.headers,
        retries=WebhookRetries(
            attempts=body.retries.attempts,
            delay_seconds=body.retries.delaySeconds,
            policy=body.retries.policy,
        ),
        label=body.label,
        created_at=now,
    )
    hooks.append(hook)
    return hook, key


def delete(world: World, webhook_id: str) -> None:
    hooks = world.state.webhooks
    found = next((h for h in hooks if str(h.id) == webhook_id), None)
    if found is None:
        raise SimError(404, f"webhook {webhook_id} not found")
    hooks.remove(found)


def as_json(hook: Webhook) -> dict[str, Any]:
    """A registration as Titan shows it, without its signing key."""
    data: dict[str, Any] = {
        "id": hook.id,
        "url": hook.url,
        "events": hook.events,
        "session": hook.session,
        "headers": hook.headers,
        "retries": {
            "attempts": hook.retries.attempts,
            "delaySeconds": hook.retries.delay_seconds,
            "policy": hook.retries.policy,
        },
        "enabled": hook.enabled,
        "createdAt": datetime.fromtimestamp(hook.created_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if hook.label is not None:
        data["label"] = hook.label
    return data


class Deliveries:
    """Sends each event to every registration that wants it, one sender per registration.

    Off in-process (`sim:PATH`): nothing would be left running to deliver after a call
    returned. `groupctl sim serve` and the tests that ask for it turn it on.
    """

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self._senders: dict[tuple[int, str, str], WebhookSender] = {}

    def publish(self, hooks: list[Webhook], events: list[Event]) -> None:
        if not self.enabled:
            return
        for event in events:
            for session, payload in sorted(event.payloads.items()):
                for hook in hooks:
                    if _wants(hook, event.kind, session):
                        self._sender(hook).send(event.kind, payload, session)

    @property
    def senders(self) -> list[WebhookSender]:
        return list(self._senders.values())

    def _sender(self, hook: Webhook) -> WebhookSender:
        # By what it delivers to, not by id alone: a deleted webhook's id may be given again.
        which = (hook.id, hook.url, hook.hmac_key)
        sender = self._senders.get(which)
        if sender is None:
            sender = self._senders[which] = WebhookSender(
                hook.url,
                hook.hmac_key,
                attempts=hook.retries.attempts,
                first_backoff=hook.retries.delay_seconds,
                exponential=hook.retries.policy == "exponential",
                headers=hook.headers,
            )
        return sender


def _wants(hook: Webhook, kind: str, session: str) -> bool:
    every = not hook.events or "*" in hook.events
    return hook.enabled and hook.session in (None, session) and (every or kind in hook.events)
