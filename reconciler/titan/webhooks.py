"""Titan's webhook registrations (titan-api.md, "Webhooks"): the URLs Titan delivers to, and
the registration object as `POST /api/webhooks` and `GET /api/webhooks` answer it.

Titan delivers only to public HTTPS URLs: `reconciler.core.webhook_urls` has the rule.
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, Field, field_validator

from reconciler.titan.models import ApiModel

# What `groupctl watch` listens to, listed explicitly: Titan's pages disagree on how "every
# event" is written (`[]` or `["*"]`).
WATCH_EVENTS = ("group.update", "group.participant", "session.status")
# Titan's documented example; a receiver that is down for a while is tried again later.
WATCH_RETRIES = {"attempts": 3, "delaySeconds": 5, "policy": "exponential"}


class Webhook(ApiModel):
    """A registration as Titan shows it. `hmacKey` is shown once, at creation; never kept."""

    id: int | str
    url: str
    events: tuple[str, ...] = ()
    session: str | None = None
    enabled: bool = True
    created_at: str | int | None = Field(
        default=None, validation_alias=AliasChoices("createdAt", "created_at")
    )

    @field_validator("events", mode="before")
    @classmethod
    def _events(cls, value: Any) -> Any:
        return () if value is None else value

    def delivers(self, event: str) -> bool:
        """Whether this registration sends `event`: "every event" is `[]` or `["*"]`."""
        return not self.events or "*" in self.events or event in self.events
