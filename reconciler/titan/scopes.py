"""Which scopes the API key has, found out without changing anything (`groupctl status`).

Reads show `sessions:read` and `groups:read`. `groups:manage` and `messages:write` are checked
by writes that cannot succeed (a group that cannot exist, a message with no recipient), whose
refusal says whether the key was refused (403) or the request was (400, 404, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from reconciler.errors import ApiError, AuthenticationError, PermissionDeniedError
from reconciler.titan.http import TitanHttp

# A group id no group has: scope checks write to it, so nothing can change.
_NO_GROUP = "0@g.us"


@dataclass(frozen=True, slots=True)
class ScopeCheck:
    """Whether the key has a scope: True, False (`why` says the API's words), or None when
    the check itself failed (`why` says how)."""

    present: bool | None
    why: str = ""


async def check_scopes(
    http: TitanHttp, write_body: Callable[..., dict[str, Any]]
) -> dict[str, ScopeCheck]:
    """Each scope groupctl needs, checked once, unretried; `write_body` makes a write's body.
    The writes are not paced: they change nothing."""
    probes = {
        "sessions:read": ("GET", "", None),
        "groups:read": ("GET", "/groups", None),
        "groups:manage": (
            "PUT",
            f"/groups/{quote(_NO_GROUP, safe='')}/subject",
            write_body(value="groupctl scope check"),
        ),
        "messages:write": ("POST", "/api/messages/send", write_body()),
    }
    found: dict[str, ScopeCheck] = {}
    for scope, (method, path, body) in probes.items():
        try:
            await http.send(method, path, body, None, 1, paced=False)
        except PermissionDeniedError as exc:
            found[scope] = ScopeCheck(False, exc.message)
        except AuthenticationError:
            raise
        except ApiError as exc:
            if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                found[scope] = ScopeCheck(True)  # the key got through; the request did not
            else:
                found[scope] = ScopeCheck(None, str(exc))
        else:
            found[scope] = ScopeCheck(True)
    return found
