"""Fuzzing the client's reading of answers: whatever a (broken or hostile) API sends, a call
returns typed data or raises an ApiError, never anything else.

Profiles (tests/conftest.py): HYPOTHESIS_PROFILE=ci, the default, 500 examples a target;
HYPOTHESIS_PROFILE=long, 20,000, by hand. Findings: tests/security/README.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from hypothesis import given
from hypothesis import strategies as st

from reconciler.core.jid import parse_group_jid, parse_jid
from reconciler.errors import ApiError
from reconciler.titan.client import TitanClient
from reconciler.titan.retries import RetryPolicy

GROUP = parse_group_jid("120363000000000001@g.us")
ALICE = parse_jid("+14155550101")
WORDS = [
    "120363000000000001@g.us",
    "14155550101@s.whatsapp.net",
    "14155550101@c.us",
    "998877@lid",
    "+14155550101",
    "not@a@jid",
    "",
    "CONNECTED",
    "admin",
    "superadmin",
]
KEYS = [
    "data", "id", "name", "subject", "description", "participants", "results", "jid", "status",
    "code", "phoneNumber", "lid", "isAdmin", "isSuperAdmin", "me", "groups", "url", "success",
    "error", "createdAt", "ownerLid", "admin",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(WORDS),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6), st.dictionaries(st.sampled_from(KEYS), inner, max_size=6)
    ),
    max_leaves=40,
)
# Realistic answers, then bent: a field dropped, retyped or replaced.
GOOD = {
    "data": {
        "id": "120363000000000001@g.us",
        "name": "Team",
        "participants": [
            {"phoneNumber": "+14155550101", "lid": "998877@lid", "isAdmin": True},
            {"lid": "112233@lid", "isAdmin": False, "isSuperAdmin": False},
        ],
        "results": [{"jid": "14155550101@s.whatsapp.net", "status": 200}],
        "me": {"id": "14155550100@s.whatsapp.net"},
        "status": "CONNECTED",
        "url": "https://titan.test/p.jpg",
    }
}


@st.composite
def bent(draw: st.DrawFn) -> Any:
    answer = json.loads(json.dumps(GOOD))
    for _ in range(draw(st.integers(1, 4))):
        target = answer["data"]
        key = draw(st.sampled_from(sorted(target)))
        if isinstance(target[key], list) and target[key] and draw(st.booleans()):
            item = target[key][draw(st.integers(0, len(target[key]) - 1))]
            if isinstance(item, dict):
                item[draw(st.sampled_from(KEYS))] = draw(values)
                continue
        target[key] = draw(values)
    return answer


bodies = st.one_of(
    values.map(lambda v: json.dumps(v, allow_nan=True).encode()),
    bent().map(lambda v: json.dumps(v, allow_nan=True).encode()),
    st.binary(max_size=200),
)
CALLS: list[Callable[[TitanClient], Awaitable[Any]]] = [
    lambda c: c.get_session(),
    lambda c: c.list_groups(),
    lambda c: c.get_group(GROUP),
    lambda c: c.list_participants(GROUP),
    lambda c: c.add_participants(GROUP, [ALICE]),
    lambda c: c.remove_participants(GROUP, [ALICE]),
    lambda c: c.create_group("Team", [ALICE]),
    lambda c: c.get_picture_url(GROUP),
    lambda c: c.get_invite_code(GROUP),
    lambda c: c.preview_invite("Code"),
    lambda c: c.join_group("Code"),
]


@given(body=bodies, status=st.sampled_from([200, 201, 400, 404, 409, 500]))
def test_any_answer_is_data_or_an_api_error(body: bytes, status: int) -> None:
    async def each_call() -> None:
        transport = httpx.MockTransport(lambda request: httpx.Response(status, content=body))
        async with TitanClient(
            "https://titan.test",
            api_key="fuzz-key-000000",
            transport=transport,
            retry=RetryPolicy(attempts=1),
            write_rate=None,
        ) as client:
            for call in CALLS:
                with contextlib.suppress(ApiError):
                    await call(client)

    asyncio.run(each_call())
