"""A scripted Titan for the client's tests: answers from a list, a recorded sleep, a client."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import httpx

from reconciler.titan.client import TitanClient
from tests.support.harness import ENGINEERING, gid

SECRET = "sk-live-9f8e7d6c5b4a"
ENG = gid(ENGINEERING)


CONNECTED: Mapping[str, object] = {
    "name": "default",
    "status": "CONNECTED",
    "phoneNumber": "+14155550100",
}


class Script:
    """A transport answering from a list, recording each request. The session object (read
    when a call fails in a way that may mean the session dropped) is answered apart, from
    `session`, so that scripts list only the calls under test."""

    def __init__(
        self,
        *answers: httpx.Response | Exception,
        session: Mapping[str, object] | httpx.Response | None = None,
        sessions: Sequence[Mapping[str, object]] = (),
    ) -> None:
        self.answers = list(answers)
        self.session = session or CONNECTED
        # Session objects for successive reads, before `session` answers every later one.
        self.sessions = list(sessions)
        self.requests: list[httpx.Request] = []

    @property
    def calls(self) -> list[httpx.Request]:
        """The requests sent, but for the session reads."""
        return [r for r in self.requests if not _is_session_read(r)]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if _is_session_read(request):
            session = self.sessions.pop(0) if self.sessions else self.session
            return session if isinstance(session, httpx.Response) else ok(session)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def _is_session_read(request: httpx.Request) -> bool:
    return request.method == "GET" and request.url.path.count("/") == 3


class Sleeps:
    """Stands in for asyncio.sleep: records how long the client asked to wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def client_for(script: Script, sleeps: Sleeps | None = None, **options: object) -> TitanClient:
    settings: dict[str, object] = {"api_key": SECRET, "write_rate": None, **options}
    return TitanClient(
        "https://titan.test",
        transport=httpx.MockTransport(script),
        sleep=sleeps or Sleeps(),
        **settings,  # type: ignore[arg-type]
    )


def ok(data: object, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json={"data": data})


def error(status: int, message: str, **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"error": message, "docs": "https://d"}, headers=headers)
