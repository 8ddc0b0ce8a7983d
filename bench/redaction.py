"""What taking secrets out of every answer costs: the client reading a large group list.

    python bench/redaction.py [--groups 2000] [--members 200] [--rounds 5]

An answer to `GET /groups` of GROUPS groups of MEMBERS participants each, with a description
on each, is cleaned of the API key as the client cleans every answer
(`Secrets.redact_json_bytes`) in four shapes: descriptions with line breaks (JSON escapes, as
real answers have); the same with the key quoted back in one description (found in the bytes
and hidden); escapes without line breaks (none at all); and one description whose escapes spell
letters (`\u0041`), which only decoding can read: the worst case, the whole answer decoded and
searched string by string. Beside it: `json.loads` of the same bytes, which reading the answer
pays anyway, and the client's whole `list_groups` (over `httpx.MockTransport`; most of it is
validation). Reported: the best of ROUNDS, in ms, and the answer's size.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import httpx

from reconciler.titan.client import TitanClient
from reconciler.util.logs import Secrets

KEY = "titan_" + "0123456789abcdef" * 6  # as long as Titan's keys (~104 characters)


def answer(groups: int, members: int, shape: str) -> bytes:
    line_break = "\n" if shape != "no escapes" else " "
    data: list[dict[str, Any]] = [
        {
            "id": f"1203630{g:011d}@g.us",
            "subject": f"Group {g:04d}",
            "description": f"Team {g}.{line_break}Be kind.",
            "participants": [
                {"id": f"1212{g % 800 + 200:03d}{m:04d}@s.whatsapp.net", "isAdmin": m == 0}
                for m in range(members)
            ],
        }
        for g in range(groups)
    ]
    if shape == "key quoted back":
        data[groups // 2]["description"] += f" key {KEY}"
    content = json.dumps({"data": data}).encode()
    if shape == "letters spelled in escapes":
        content = content.replace(b"Be kind.", b"\\u0042e kind.", 1)
    return content


def best_ms(rounds: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return min(times)


def read_with_client(content: bytes) -> Callable[[], object]:
    def read() -> object:
        async def go() -> object:
            transport = httpx.MockTransport(lambda request: httpx.Response(200, content=content))
            async with TitanClient(
                "https://titan.test", api_key=KEY, transport=transport, write_rate=None
            ) as client:
                return await client.list_groups()

        return asyncio.run(go())

    return read


SHAPES = ("escapes", "key quoted back", "no escapes", "letters spelled in escapes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=2000)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    secrets = Secrets([KEY])
    print(f"{'answer':<28}{'MB':>6}{'json.loads':>12}{'redaction':>12}{'list_groups':>13}")
    for shape in SHAPES:
        content = answer(args.groups, args.members, shape)
        loads = best_ms(args.rounds, partial(json.loads, content))
        redaction = best_ms(args.rounds, partial(secrets.redact_json_bytes, content))
        client = best_ms(args.rounds, read_with_client(content))
        assert KEY.encode() not in secrets.redact_json_bytes(content)
        print(
            f"{shape:<28}{len(content) / 1e6:>6.1f}{loads:>10.0f}ms{redaction:>10.0f}ms"
            f"{client:>11.0f}ms"
        )


if __name__ == "__main__":
    main()
