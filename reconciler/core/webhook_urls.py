"""The URLs Titan delivers webhooks to (titan-api.md, "Webhooks").

Titan delivers only to public HTTPS URLs: private addresses, localhost and internal host names
are refused (SSRF protection). `url_problem` applies that rule to the URL's form, so a URL
Titan would refuse is refused before any call; Titan also resolves the name, which this does
not. The simulator keeps the same rule.
"""

from __future__ import annotations

import ipaddress
import socket

import httpx

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
