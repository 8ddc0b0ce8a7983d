"""`groupctl watch --register URL`: the webhook Titan delivers to watch, created once.

Titan's `POST /api/webhooks` takes the URL, the events (listed explicitly), the session and the
signing key (`hmacKey`: watch's secret). Registering is idempotent: a webhook of the same URL
for this session (or for every session) is not created again. Listing webhooks
(`GET /api/webhooks`) is inferred, not documented: where Titan does not list them, the webhook
is created and the result says that an earlier one could not be looked for.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from reconciler.core.webhook_urls import TITAN_RULE, url_problem
from reconciler.errors import ApiError, UsageError
from reconciler.titan.client import TitanClient
from reconciler.titan.webhooks import WATCH_EVENTS, WATCH_RETRIES, Webhook

WEBHOOK_PATH = "/webhooks/titan"  # where watch takes deliveries


@dataclass(frozen=True, slots=True)
class Registration:
    """What `register` found or made, and what a person should know about it."""

    webhook: Webhook
    created: bool
    notes: tuple[str, ...] = ()


def check_url(url: str) -> None:
    """UsageError unless Titan would deliver to `url`."""
    problem = url_problem(url)
    if problem is not None:
        raise UsageError(f"--register {problem}: {TITAN_RULE}")


async def register(client: TitanClient, url: str, secret: str) -> Registration:
    """Make sure Titan delivers this session's group and session events to `url`, signed with
    `secret`."""
    check_url(url)
    notes: list[str] = []
    if not httpx.URL(url).path.rstrip("/").endswith(WEBHOOK_PATH):
        notes.append(
            f"watch takes deliveries at {WEBHOOK_PATH}: make sure {url} reaches it"
            " (a reverse proxy may rewrite the path)"
        )
    try:
        existing: list[Webhook] | None = await client.list_webhooks()
    except ApiError as exc:
        if exc.status not in (404, 405):
            raise
        existing = None
        notes.append(
            f"this Titan does not list webhooks (GET /api/webhooks: HTTP {exc.status}), so an"
            " earlier registration could not be looked for: register once, not at every start"
        )
    for hook in existing or ():
        if _same_url(hook.url, url) and hook.session in (None, client.session):
            return Registration(hook, created=False, notes=(*notes, *_problems(hook)))
    created = await client.create_webhook(
        url, events=WATCH_EVENTS, hmac_key=secret, retries=WATCH_RETRIES
    )
    return Registration(created, created=True, notes=tuple(notes))


def _same_url(a: str, b: str) -> bool:
    try:
        return httpx.URL(a) == httpx.URL(b)
    except (httpx.InvalidURL, ValueError):
        return a == b


def _problems(hook: Webhook) -> list[str]:
    """What keeps an existing registration from serving watch."""
    problems = []
    missing = [event for event in WATCH_EVENTS if not hook.delivers(event)]
    if missing:
        problems.append(
            f"webhook {hook.id} does not send {', '.join(missing)}: add them in the Titan"
            " dashboard, or delete it and register again"
        )
    if not hook.enabled:
        problems.append(f"webhook {hook.id} is disabled: enable it in the Titan dashboard")
    return problems
