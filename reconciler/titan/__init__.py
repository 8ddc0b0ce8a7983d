"""The Titan HTTP API as groupctl uses it (titan-api.md): `TitanClient` and its payloads.

`client` has one method per route; `http` sends a call and maps its answer or failure to our
errors (`answers` reads the answer); `retries` repeats what is safe to repeat; `session_guard`
stops the calls of a session that is gone (`sessions` says what each status means); `recovery`
finds the group a create whose answer was lost made; `scopes` and `picture_getter` probe what
the key and this Titan allow. `models`, `results` and `webhooks` are the payloads: tolerant
responses.
"""

from __future__ import annotations

from reconciler.titan.client import DEFAULT_WRITE_RATE, TitanClient
from reconciler.titan.http import CallStats
from reconciler.titan.retries import RetryPolicy
from reconciler.titan.scopes import ScopeCheck
from reconciler.titan.session_guard import RECONNECT_WAIT

__all__ = [
    "DEFAULT_WRITE_RATE",
    "RECONNECT_WAIT",
    "CallStats",
    "RetryPolicy",
    "ScopeCheck",
    "TitanClient",
]
