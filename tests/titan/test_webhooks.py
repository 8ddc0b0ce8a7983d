"""Webhook registrations as the client reads them, and Titan's rule for webhook URLs."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from reconciler.core.webhook_urls import url_problem
from reconciler.errors import ApiResponseError
from reconciler.titan.client import TitanClient

HOOK = "https://watch.example.com/webhooks/titan"


@pytest.mark.parametrize(
    "answer",
    [
        {"data": [{"id": 3, "url": HOOK, "events": ["group.update"], "session": "default"}]},
        {"data": {"webhooks": [{"id": 3, "url": HOOK, "events": ["group.update"]}]}},
        [{"id": "3", "url": HOOK, "events": ["group.update"], "createdAt": 1767225600}],
        {"data": [{"id": 3, "url": HOOK, "events": ["group.update"], "label": "x", "extra": 1}]},
    ],
    ids=["documented", "wrapped", "bare", "more-fields"],
)
async def test_webhooks_are_listed_from_every_shape(answer: Any) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=answer))
    async with TitanClient("https://titan.test", api_key="k" * 20, transport=transport) as client:
        [hook] = await client.list_webhooks()
    assert (str(hook.id), hook.url, hook.events) == ("3", HOOK, ("group.update",))
    assert hook.delivers("group.update")
    assert not hook.delivers("session.status")


@pytest.mark.parametrize("events", [None, [], ["*"]])
async def test_no_events_or_a_star_means_every_event(events: Any) -> None:
    answer = {"data": [{"id": 1, "url": HOOK, "events": events}]}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=answer))
    async with TitanClient("https://titan.test", api_key="k" * 20, transport=transport) as client:
        [hook] = await client.list_webhooks()
    assert hook.delivers("session.status")


async def test_a_listing_that_is_not_webhooks_names_the_call() -> None:
    answer = {"data": [{"url": HOOK}]}  # no id
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=answer))
    async with TitanClient("https://titan.test", api_key="k" * 20, transport=transport) as client:
        shape = r"GET /api/webhooks: HTTP 200: unexpected answer shape at 0\.id"
        with pytest.raises(ApiResponseError, match=shape):
            await client.list_webhooks()


@pytest.mark.parametrize(
    "url",
    [
        HOOK,
        "https://watch.example.com:8443/webhooks/titan",
        "https://8.8.8.8/webhooks/titan",
        "https://[2606:4700:4700::1111]/webhooks/titan",
        "https://hooks.example.co.uk./webhooks/titan",  # a fully qualified name
    ],
)
def test_public_https_urls_are_acceptable(url: str) -> None:
    assert url_problem(url) is None


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://127.1/hooks", "private or reserved"),
        ("https://10.1/hooks", "private or reserved"),
        ("https://exa mple.com/hooks", "white space"),
        ("https://user:pw@example.com/hooks", "user name or password"),
        ("https://xn--.com/hooks", "is not a URL"),
    ],
)
def test_urls_titan_would_refuse_are_refused_without_a_traceback(url: str, why: str) -> None:
    problem = url_problem(url)
    assert problem is not None
    assert why in problem
    assert "pw@" not in problem  # credentials are not repeated back
