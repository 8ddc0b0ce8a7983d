"""One call to Titan over HTTP, and its answer or failure as our errors.

`TitanHttp.send` is the only way a call reaches the wire: writes are paced, calls at once are
bounded, each is counted, and a session found gone stops it unsent. Its answer is read whole,
within a deadline and a size, and turned into data or an `ApiError` naming the call. The API key
lives only in the request's Authorization header; it, and any other secret a call carries, is
taken out of whatever an API or proxy echoes back before anything is read from it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import pydantic
from aiolimiter import AsyncLimiter

from reconciler.core.limits import SESSION_NAME
from reconciler.errors import (
    ApiConnectionError,
    ApiError,
    ApiResponseError,
    OutcomeUnknownError,
    SettingsError,
    api_error_class,
)
from reconciler.titan.answers import (
    Answer,
    AnswerTooLargeError,
    describe_transport_error,
    error_text,
    hint,
    hopeless,
    only_correlation_id,
    parse_json,
    read_bounded,
    retry_after,
)
from reconciler.titan.lanes import Lanes
from reconciler.titan.pacing import Pacer, Ticket
from reconciler.titan.session_guard import SessionGuard
from reconciler.util.logs import Secrets, without_credentials
from reconciler.util.rates import Rate
from reconciler.util.untrusted import one_line

log = logging.getLogger("reconciler.titan")

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
CLIENT_TOKEN_PREFIX = "titan_ct_"  # noqa: S105 - a prefix, not a secret
# An answer larger than this is not what Titan sends: not read further.
MAX_ANSWER_BYTES = 64 * 1024 * 1024
FIRST_ANSWER_WITHIN = 10.0  # seconds of silence that end a client's first call (see TitanHttp)
_T = TypeVar("_T")


@dataclass(slots=True)
class CallStats:
    """What the client did: HTTP requests sent (retries included) and retries among them."""

    requests: int = 0
    writes: int = 0
    retries: int = 0
    by_status: dict[int, int] = field(default_factory=dict)


class _BearerAuth(httpx.Auth):
    def __init__(self, api_key: str) -> None:
        self._header = f"Bearer {api_key}"

    def auth_flow(self, request: httpx.Request) -> Any:
        request.headers["Authorization"] = self._header
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(<hidden>)"


def check_api_key(api_key: str) -> None:
    """Refuse, before any call, a key that cannot be sent as it is: it goes into the
    Authorization header of every request, where httpx would refuse a line break in an error
    that quotes the header whole, and where a server would read another key."""
    if not api_key:
        raise SettingsError("the API key is empty")
    for position, char in enumerate(api_key, 1):
        if not "!" <= char <= "~":  # a key is printable ASCII, without spaces
            raise SettingsError(
                f"the API key has {_described(char)} at character {position} of {len(api_key)},"
                " which no Titan key has: copy the key again from the Titan dashboard and store"
                " it as it is, without line breaks or spaces around it (printf %s, not echo)"
            )
    if api_key.startswith(CLIENT_TOKEN_PREFIX):
        raise SettingsError(
            "the API key is a Titan client token (titan_ct_...), which cannot call the"
            " groups API: create an API key with the groups:read and groups:manage scopes"
            " in the Titan dashboard"
        )


def _described(char: str) -> str:
    """A character of a refused key, named without showing the key."""
    name = {"\n": "a line break", "\r": "a carriage return", "\t": "a tab", " ": "a space"}
    if char in name:
        return f"{name[char]} (U+{ord(char):04X})"
    kind = "a control character" if char.isascii() else "a non-ASCII character"
    return f"{kind} (U+{ord(char):04X})"


def check_no_credentials(url: str) -> None:
    """Refuse an API address holding a user name or password: groupctl would never send them
    (Titan takes the key alone), and every message naming the address would show them."""
    shown = without_credentials(url)
    if shown != url:
        raise SettingsError(
            f"the API address {shown} has a user name or password in it, which groupctl never"
            " sends (Titan takes only the API key, from TITAN_API_KEY): remove them from the"
            " address"
        )


class TitanHttp:
    """Calls to one Titan session over one `httpx.AsyncClient`, sent one attempt at a time.

    A call's `path` is relative to the session (`/groups`, or `""` for the session itself)
    unless it starts with `/api/` (messages and webhooks are key-wide)."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str,
        session: str,
        transport: httpx.AsyncBaseTransport | None,
        timeout: float,
        write_rate: Rate | None,
        max_concurrency: int,
        stats: CallStats,
        guard: SessionGuard,
        pacer: Pacer | None = None,
    ) -> None:
        # Refused before anything is built: the name goes into every path, the key into every
        # request.
        if not SESSION_NAME.fullmatch(session):
            raise SettingsError(
                f"{session!r} is not a valid session name: letters, digits, '.', '_' and '-',"
                " starting with a letter or digit, at most 64 characters"
            )
        check_api_key(api_key)
        check_no_credentials(base_url)
        self.base_url = base_url
        self._prefix = f"/api/sessions/{quote(session, safe='')}"
        self._stats = stats
        self.secrets = Secrets([api_key])
        self._guard = guard
        self._deadline = timeout  # for a whole answer, however slowly its bytes come
        self._client = httpx.AsyncClient(
            base_url=base_url,
            transport=transport,
            auth=_BearerAuth(api_key),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": "groupctl"},
        )
        # Calls go straight to a transport with the client's headers and timeouts: the
        # client's layers around each call (auth flow, redirects, cookies, a second URL parse)
        # cost a plan of a thousand groups a tenth of its CPU, and do nothing for these calls.
        # The transport given (a simulator in this process) is used as it is; otherwise each
        # call in flight has a connection of its own, as httpx would choose it (lanes.py).
        self._given = transport
        self._lanes = Lanes(str(self._client.base_url), self._client.timeout)
        self._origin = str(self._client.base_url).rstrip("/")
        self._headers = httpx.Headers(self._client.headers)
        self._headers["Authorization"] = f"Bearer {api_key}"
        # Until the API has answered once, no byte for FIRST_ANSWER_WITHIN is silence (the
        # whole answer keeps --timeout: a big list may come slowly), and a failure that says
        # the address is wrong is not tried again (hopeless): a wrong address is said in
        # seconds, not after six tries over two minutes.
        self._contacted = False
        self._first_timeout = min(timeout, FIRST_ANSWER_WITHIN)
        first = httpx.Timeout(timeout, connect=min(timeout, 10.0), read=self._first_timeout)
        self._answer_within = {"timeout": self._client.timeout.as_dict()}
        self._extensions = {"timeout": first.as_dict()}
        self._slots = asyncio.Semaphore(max_concurrency)
        # Every call of the key, reads and writes alike, within Titan's rate limit.
        self._pacer = pacer or Pacer()
        self._writes = AsyncLimiter(1, write_rate.interval) if write_rate else None

    def _silent(self, method: str) -> str | None:
        """Why a read that got no answer in time is not tried again: the API has never
        answered (it took the connection, and said nothing), so the address is likely wrong.
        (A write's lost answer keeps its own handling: it may have been carried out.)"""
        if self._contacted or method != "GET":
            return None
        return f"nothing answered within {self._first_timeout:g} s: is {self.base_url} the API?"

    async def aclose(self) -> None:
        await self._lanes.aclose()
        await self._client.aclose()

    def url(self, path: str) -> str:
        """The URL path a call's `path` is sent to."""
        return path if path.startswith("/api/") else self._prefix + path

    async def send(
        self,
        method: str,
        path: str,
        body: Any,
        params: dict[str, str] | None,
        attempt: int,
        *,
        paced: bool = True,
    ) -> Any:
        """Send one attempt of a call and return its answer's data, or raise an ApiError."""
        url = self.url(path)
        if path:  # the session itself is read even when halted: that is how it is checked
            self._guard.stop_if_halted(method, url)
        self._guard.stop_if_stopping(method, url, attempt)
        if method != "GET" and paced and self._writes is not None:
            await self._guard.unless_stopped(self._writes.acquire())
            # It may have stopped while this waited.
            self._guard.stop_if_halted(method, url)
            self._guard.stop_if_stopping(method, url, attempt)
        async with self._slots:
            turn = Ticket()
            if self._pacer.turn_now(turn):
                pass
            elif method == "GET":
                await self._pacer.turn(turn)
            else:  # a write waiting for its turn stops waiting when the run stops
                await self._guard.unless_stopped(self._pacer.turn(turn))
                self._guard.stop_if_halted(method, url)
                self._guard.stop_if_stopping(method, url, attempt)
            started = time.perf_counter()
            self._stats.requests += 1
            self._stats.writes += method != "GET"
            failure: ApiError | None = None
            request = httpx.Request(
                method,
                self._origin + url,
                params=params,
                json=body,
                headers=self._headers,
                extensions=self._extensions,
            )
            lane = self._given or self._lanes.take()
            try:
                response = await read_bounded(
                    lane.handle_async_request(request),
                    limit=MAX_ANSWER_BYTES,
                    # (Before the first answer, past the silence's limit: silence is said.)
                    deadline=self._deadline + (0 if self._contacted else self._first_timeout),
                )
                self._pacer.answered(turn, response.status, response.headers)
                if not self._contacted:
                    self._contacted = True
                    self._extensions = self._answer_within
            except httpx.TransportError as exc:
                message = describe_transport_error(exc, self.base_url)
                why = hopeless(exc, self.base_url, contacted=self._contacted)
                if why is None and isinstance(exc, httpx.ReadTimeout):
                    why = self._silent(method)
                failure = ApiConnectionError(
                    request_sent=not isinstance(exc, _NOT_SENT),
                    timed_out=isinstance(exc, httpx.TimeoutException),
                    method=method,
                    path=url,
                    message=self.secrets.redact(message if why is None else f"{message}; {why}"),
                    attempts=attempt,
                    hopeless=why is not None,
                )
            except TimeoutError:  # bytes came, too slowly: that can pass
                failure = ApiConnectionError(
                    request_sent=True,
                    timed_out=True,
                    method=method,
                    path=url,
                    message=f"{self.base_url} did not finish answering within {self._deadline:g} s",
                    attempts=attempt,
                )
            except AnswerTooLargeError as exc:
                failure = ApiResponseError(
                    method=method, path=url, status=exc.status, message=str(exc), attempts=attempt
                )
            finally:
                self._pacer.unanswered(turn)  # unless answered: then nothing
                if lane is not self._given:
                    self._lanes.give_back(lane)
        # Raised outside the except block: the httpx error holds the request, headers and key
        # included, and must not ride along as __context__.
        if failure is not None:
            await self._guard.after_failure(path, failure)
            raise failure
        elapsed_ms = (time.perf_counter() - started) * 1000
        status = response.status
        self._stats.by_status[status] = self._stats.by_status.get(status, 0) + 1
        log.info(
            "%s %s -> %d (%.0f ms%s)",
            method,
            url,
            status,
            elapsed_ms,
            f", attempt {attempt}" if attempt > 1 else "",
        )
        # An API or proxy may echo the request back anywhere in an answer (an error, a code, a
        # participant's address): every secret is taken out before anything is read from it.
        content = self.secrets.redact_json_bytes(response.content)
        if log.isEnabledFor(logging.DEBUG):  # redacting every request body costs
            shown = str(self.secrets.redact_json(body))
            # 2,000 characters are shown: at most 4 bytes each, of an answer up to 64 MiB.
            answer_text = content[:8000].decode("utf-8", "replace")
            log.debug("request body: %.2000s; answer: %.2000s", shown, answer_text)
        try:
            answer = self._read_answer(method, url, response, content, attempt)
        except ApiError as exc:
            await self._guard.after_failure(path, exc)
            raise
        self._guard.call_succeeded()
        return answer

    def _read_answer(
        self, method: str, url: str, response: Answer, content: bytes, attempt: int
    ) -> Any:
        """The data of an answer (`content`: its bytes without secrets), or its ApiError."""
        status = response.status
        if 200 <= status < 300:
            if not content and status != 202:
                return None
            try:
                payload = parse_json(content) if content else None
            except ValueError:
                raise ApiResponseError(
                    method=method,
                    path=url,
                    status=status,
                    attempts=attempt,
                    message="the answer is not JSON",
                ) from None
            if isinstance(payload, dict) and "data" in payload:
                payload = payload["data"]
            if status == 202 or only_correlation_id(payload):
                correlation = payload.get("correlationId") if isinstance(payload, dict) else None
                raise OutcomeUnknownError(
                    method=method,
                    path=url,
                    status=status,
                    attempts=attempt,
                    message="Titan accepted the call without doing it yet"
                    + (
                        f" (correlation id {one_line(str(correlation), limit=80)})"
                        if correlation
                        else ""
                    )
                    + ": its outcome is unknown; the next plan shows whether it took effect",
                )
            return payload
        if 300 <= status < 400:
            # Never followed: the key must not travel to wherever the redirect points.
            raise ApiResponseError(
                method=method,
                path=url,
                status=status,
                attempts=attempt,
                message="unexpected redirect; groupctl follows none (check the API address)",
            )
        message, docs = error_text(content, response.reason)
        message = self.secrets.redact(message)
        message = one_line(message) + hint(status, method, url, message)
        raise api_error_class(status)(
            method=method,
            path=url,
            status=status,
            message=message,
            docs=docs,
            attempts=attempt,
            retry_after=retry_after(response.headers),
        )

    def parse(self, validate: Callable[[Any], _T], data: Any, method: str, path: str) -> _T:
        """`validate(data)`, or an ApiResponseError naming the call and the field at fault."""
        try:
            return validate(data)
        except pydantic.ValidationError as exc:
            raise self.shape_error(method, path, exc) from None

    def shape_error(
        self, method: str, path: str, exc: pydantic.ValidationError
    ) -> ApiResponseError:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the answer"
        return ApiResponseError(
            method=method,
            path=self.url(path),
            status=200,
            message=f"unexpected answer shape at {where}: {first['msg']}",
        )

    async def download(self, url: str, *, max_bytes: int) -> bytes:
        """The bytes at `url`. The key goes along only to the API's own origin; anywhere else
        gets no key."""
        own = httpx.URL(url).join("/") == self._client.base_url.join("/")
        response: Answer | None = None
        failure = ""
        status: int | None = None
        async with self._slots:
            try:
                if own:
                    response = await read_bounded(
                        self._client.send(self._client.build_request("GET", url), stream=True),
                        limit=max_bytes,
                        deadline=self._deadline,
                    )
                else:
                    async with httpx.AsyncClient(timeout=self._client.timeout) as plain:
                        response = await read_bounded(
                            plain.send(
                                plain.build_request("GET", url), stream=True, follow_redirects=True
                            ),
                            limit=max_bytes,
                            deadline=self._deadline,
                        )
            except httpx.HTTPError as exc:
                failure = f"cannot download it: {exc or type(exc).__name__}"
            except TimeoutError:
                failure = f"cannot download it: no whole answer within {self._deadline:g} s"
            except AnswerTooLargeError as exc:
                failure, status = f"cannot download it: {exc}", exc.status
        if response is None:  # raised here, so the httpx error (and its request) stays behind
            if status is not None:  # it answered, too much
                raise ApiResponseError(method="GET", path=url, status=status, message=failure)
            raise ApiConnectionError(
                request_sent=True, method="GET", path=url, message=self.secrets.redact(failure)
            )
        if not response.is_success:
            raise ApiResponseError(
                method="GET",
                path=url,
                status=response.status,
                message=f"cannot download it: HTTP {response.status}",
            )
        return response.content
