"""Titan's webhook registrations (titan-api.md, "Webhooks"): the URLs Titan delivers to, and
the registration object as `POST /api/webhooks` and `GET /api/webhooks` answer it.

Titan delivers only to public HTTPS URLs: private addresses, localhost and internal host names
are refused (SSRF protection). `url_problem` applies that rule to the URL's form, so a URL
Titan would refuse is refused before any call; Titan also resolves the name, which this does
not.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import httpx
from pydantic import AliasChoices, Field, field_validator

from reconciler.titan.models import ApiModel

# What `groupctl watch` listens to, listed explicitly: Titan's pages disagree on how "every
# event" is written (`[]` or `["*"]`).
WATCH_EVENTS = ("group.update", "group.participant", "session.status")
# Titan's documented example; a receiver that is down for a while is tried again later.
WATCH_RETRIES = {"attempts": 3, "delaySeconds": 5, "policy": "exponential"}

TITAN_RULE = (
    "Titan delivers webhooks only to public HTTPS URLs (private addresses, localhost and"
    " internal host names are refused)"
)
# Names that only mean something inside a network (RFC 6761, RFC 6762, RFC 8375, ICANN's
# reserved .internal).
_INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa", ".lan", ".intranet")


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address `host` is, read as resolvers read it (`127.1` is 127.0.0.1), or None."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def url_problem(url: str) -> str | None:
    """Why Titan would refuse `url` as a webhook URL, or None when its form is acceptable."""
    if any(char.isspace() for char in url):
        return f"{url!r} is not a URL: it holds white space"
    try:
        parsed = httpx.URL(url)
        host = parsed.host.rstrip(".").lower()
    except (httpx.InvalidURL, ValueError):  # UnicodeError (a name IDNA refuses) included
        return f"{url!r} is not a URL"
    if parsed.scheme != "https":
        return f"{url!r} is not HTTPS"
    if parsed.userinfo:
        # Titan would keep (and show) the credentials; a webhook is signed, not logged into.
        return "the URL holds a user name or password: give it without (webhooks are signed)"
    if not host:
        return f"{url!r} has no host"
    address = _address(host.strip("[]"))
    if address is not None:
        if not address.is_global:
            return f"{url!r} points to a private or reserved address ({address})"
        return None
    if host == "localhost" or host.endswith(_INTERNAL_SUFFIXES):
        return f"{url!r} names a local host ({host})"
    if "." not in host:
        return f"{url!r} names an internal host ({host}): give a public domain name"
    return None


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
