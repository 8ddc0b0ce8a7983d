"""A webhook endpoint for tests of the simulator's deliveries."""

from __future__ import annotations

import json
from typing import Any

import httpx


class Receiver:
    """A webhook endpoint that records deliveries and can fail the first few."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.deliveries: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.deliveries.append(request)
        if len(self.deliveries) <= self.fail_first:
            return httpx.Response(500)
        return httpx.Response(200)

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(request.content) for request in self.deliveries]
