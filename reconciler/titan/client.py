"""TitanClient: one typed method per endpoint of the Titan groups API (titan-api.md).

Every call goes through `_call`, which paces writes, bounds concurrency, retries what is safe to
retry and turns every failure into an `ApiError` naming the call. The API key lives only in the
request's Authorization header: it is in no repr, log line or error message.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx
import pydantic
from aiolimiter import AsyncLimiter
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
)

from reconciler.core.jid import Jid
from reconciler.core.limits import MAX_PARTICIPANTS_PER_CALL, SESSION_NAME
from reconciler.errors import (
    ApiConnectionError,
    ApiError,
    ApiResponseError,
    AuthenticationError,
    CreateUncertainError,
    NoPictureGetterError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    SessionBannedError,
    SessionNotReadyError,
    SetupError,
    api_error_class,
)
from reconciler.titan.answers import (
    AnswerTooLargeError,
    describe_transport_error,
    error_text,
    hint,
    only_correlation_id,
    parse_json,
    read_bounded,
    retry_after,
)
from reconciler.titan.models import (
    PARTICIPANTS,
    CreatedGroup,
    Group,
    InviteInfo,
    Participant,
    ParticipantResult,
    SessionInfo,
    parse_participant_results,
)
from reconciler.titan.sessions import SessionVerdict, describe, verdict
from reconciler.titan.webhooks import Webhook
from reconciler.util.logs import HIDDEN, MIN_SECRET_LENGTH
from reconciler.util.rates import Rate
from reconciler.util.untrusted import one_line

log = logging.getLogger("reconciler.titan")

# WhatsApp bans accounts that write in bursts: one write every 3 s unless the operator says more.
DEFAULT_WRITE_RATE = Rate(20, 60)
# How far apart the API's clock and ours may be when looking for a group a lost create made.
CLOCK_SKEW = 300.0
_RETRIED_STATUSES = frozenset({429})  # and every 5xx
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Answers after which the session itself is read: Titan documents no code for a session that
# is not connected, so any of these may mean it dropped (titan-api.md, Transport).
_SESSION_SUSPECT = frozenset({409, 422, 502, 503})
_FAILURES_BEFORE_CHECK = 3  # failed calls in a row, of any kind, after which too
# How long a run waits, in all, for a session Titan says it is reconnecting, and for one whose
# connection failed, before it stops.
RECONNECT_WAIT = 120.0
FAILED_CONNECTION_WAIT = 15.0
# A group id no group has: scope checks write to it, so nothing can change.
_NO_GROUP = "0@g.us"
CLIENT_TOKEN_PREFIX = "titan_ct_"  # noqa: S105 - a prefix, not a secret
# An answer larger than this is not what Titan sends: not read further.
MAX_ANSWER_BYTES = 64 * 1024 * 1024
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to keep trying a call that failed in a way that may pass."""

    attempts: int = 6
    total_seconds: float = 120.0
    initial_backoff: float = 0.5
    max_backoff: float = 20.0


@dataclass(frozen=True, slots=True)
class ScopeCheck:
    """Whether the key has a scope: True, False (`why` says the API's words), or None when
    the check itself failed (`why` says how)."""

    present: bool | None
    why: str = ""


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


class TitanClient:
    """Async client of one Titan session. Use as `async with TitanClient(...) as client:`."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str,
        session: str = "default",
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
        write_rate: Rate | None = DEFAULT_WRITE_RATE,
        max_concurrency: int = 8,
        retry: RetryPolicy = RetryPolicy(),
        reconnect_wait: float = RECONNECT_WAIT,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not SESSION_NAME.fullmatch(session):
            raise SetupError(
                f"{session!r} is not a valid session name: letters, digits, '.', '_' and '-',"
                " starting with a letter or digit, at most 64 characters"
            )
        if not api_key:
            raise SetupError("the API key is empty")
        if api_key.startswith(CLIENT_TOKEN_PREFIX):
            raise SetupError(
                "the API key is a Titan client token (titan_ct_...), which cannot call the"
                " groups API: create an API key with the groups:read and groups:manage scopes"
                " in the Titan dashboard"
            )
        self.base_url = base_url
        self.session = session
        self.write_rate = write_rate
        self.stats = CallStats()
        self._api_key = api_key
        self._secrets: list[str] = []  # others kept out of logs and errors: webhook keys
        self._deadline = timeout  # for a whole answer, however slowly its bytes come
        self._http = httpx.AsyncClient(
            base_url=base_url,
            transport=transport,
            auth=_BearerAuth(api_key),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": "groupctl"},
        )
        self._prefix = f"/api/sessions/{quote(session, safe='')}"
        self._slots = asyncio.Semaphore(max_concurrency)
        self._writes = AsyncLimiter(1, write_rate.interval) if write_rate else None
        self._retry = retry
        self._sleep = sleep
        self._clock = clock
        self._session_info: SessionInfo | None = None
        self.reconnect_wait = reconnect_wait
        # Set once the session is found not connected: every later call stops with it.
        self.halted: SessionNotReadyError | None = None
        self._failures_in_a_row = 0
        self._session_check = asyncio.Lock()
        # Whether Titan shows group pictures: None until `get_picture_url` has probed it.
        self.picture_getter: bool | None = None
        self._no_picture_getter: NoPictureGetterError | None = None
        self._picture_probe = asyncio.Lock()

    def reset_halt(self) -> None:
        """Send calls again after `halted` stopped them: for a long-running process that
        learned the session is CONNECTED again (a run stops for good instead)."""
        self.halted = None

    def __repr__(self) -> str:
        return f"TitanClient(base_url={self.base_url!r}, session={self.session!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- session ---------------------------------------------------------------------------

    async def get_session(self, *, refresh: bool = False) -> SessionInfo:
        """The session: its status and the account (`me`) it acts as. Cached after one call."""
        if self._session_info is None or refresh:
            data = await self._call("GET", "")
            self._session_info = self._parse(SessionInfo.model_validate, data, "GET", "")
        return self._session_info

    async def check_scopes(self) -> dict[str, ScopeCheck]:
        """Whether the key has each scope groupctl needs. Nothing is changed: `groups:manage`
        and `messages:write` are checked by writes that cannot succeed (a group that cannot
        exist, a message with no recipient), whose refusal says whether the key was refused
        (403) or the request was (400, 404, ...). They are not paced: they change nothing."""
        probes = {
            "sessions:read": ("GET", "", None),
            "groups:read": ("GET", "/groups", None),
            "groups:manage": (
                "PUT",
                f"/groups/{quote(_NO_GROUP, safe='')}/subject",
                self._body(value="groupctl scope check"),
            ),
            "messages:write": ("POST", "/api/messages/send", self._body()),
        }
        found: dict[str, ScopeCheck] = {}
        for scope, (method, path, body) in probes.items():
            try:
                await self._send(method, path, body, None, 1, paced=False)
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

    # -- groups ----------------------------------------------------------------------------

    async def list_groups(self) -> list[Group]:
        """Every group the session's account is in. Entries may lack participants."""
        data = await self._call("GET", "/groups")
        if isinstance(data, dict) and isinstance(data.get("groups"), list):
            data = data["groups"]
        return self._parse(_GROUPS.validate_python, data, "GET", "/groups")

    async def get_group(self, group: Jid) -> Group:
        """One group with its participants."""
        path = _group_path(group)
        return self._parse(Group.model_validate, await self._call("GET", path), "GET", path)

    async def create_group(self, name: str, participants: Sequence[Jid]) -> CreatedGroup:
        """Create a group; the session's account becomes its creator (super admin).

        Creating is not idempotent, so it is never repeated blindly: after a failure that may
        have created the group anyway (a 5xx, a lost answer), the session's groups are searched
        for it first, and creation is repeated only if it is not there.
        """
        _check_batch(participants)
        started = self._clock()
        body = self._body(name=name, participants=[str(jid) for jid in participants])
        unsettled: ApiError | None = None  # a failure after which the group may exist

        async def attempt(number: int) -> CreatedGroup:
            nonlocal unsettled
            if unsettled is not None:
                found = await self._find_group_created_since(name, started, unsettled)
                if found is not None:
                    log.warning("create %r: the earlier answer was lost; found %s", name, found.id)
                    return CreatedGroup(group=found)
                if isinstance(unsettled, ApiConnectionError) and unsettled.timed_out:
                    # Titan may still be creating it: not finding it yet proves nothing.
                    raise _uncertain(
                        unsettled,
                        f"the create of {name!r} timed out and the group"
                        " may still appear: not created again",
                    )
            try:
                data = await self._send("POST", "/groups", body, None, number)
            except ApiError as exc:
                if not _surely_not_applied(exc):
                    unsettled = exc
                raise
            return self._created(data, participants)

        return await self._retrying("POST", "/groups", attempt, _retryable)

    async def leave_group(self, group: Jid) -> None:
        await self._until_gone("POST", f"{_group_path(group)}/leave")

    async def delete_group(self, group: Jid) -> None:
        """Delete a group; only its creator may."""
        await self._until_gone("DELETE", _group_path(group))

    async def _until_gone(self, method: str, path: str) -> None:
        """Leave or delete, retried like any call whose repetition is harmless: repeated after
        a failure that took effect anyway (a lost answer), it finds the group gone (404), or
        the session no longer in it (403), which is what was asked."""

        async def attempt(number: int) -> None:
            try:
                await self._send(method, path, None, None, number)
            except (NotFoundError, PermissionDeniedError) as exc:
                if number == 1:
                    raise
                log.info("%s %s: %s; an earlier attempt did it", method, path, exc.message)

        await self._retrying(method, path, attempt, _retryable)

    async def set_subject(self, group: Jid, subject: str) -> None:
        await self._call("PUT", f"{_group_path(group)}/subject", body=self._body(value=subject))

    async def set_description(self, group: Jid, description: str) -> None:
        await self._call(
            "PUT", f"{_group_path(group)}/description", body=self._body(value=description)
        )

    async def set_picture(
        self, group: Jid, *, url: str | None = None, jpeg: bytes | None = None
    ) -> None:
        """Set the group picture from an image URL or from JPEG bytes (sent as base64)."""
        if (url is None) == (jpeg is None):
            raise ValueError("set_picture takes exactly one of url or jpeg")
        body = (
            self._body(url=url)
            if url is not None
            else self._body(base64=base64.b64encode(jpeg or b"").decode())
        )
        await self._call("PUT", f"{_group_path(group)}/picture", body=body)

    async def get_picture_url(self, group: Jid) -> str | None:
        """A downloadable URL of the group picture, or None when the group has none.

        Titan documents no such route (only contacts' pictures), so the first call probes it,
        once for the whole client: a 404 or 405 there, for a group the caller has just read,
        means this Titan has none. `picture_getter` says so from then on, and this call and
        every later one raise `NoPictureGetterError`, the later ones without asking again.
        """
        path = f"{_group_path(group)}/picture"
        if self.picture_getter is None:
            async with self._picture_probe:  # groups read at once wait for the one answer
                if self.picture_getter is None:
                    return await self._probe_picture_getter(path)
        if self._no_picture_getter is not None:
            raise NoPictureGetterError(
                method="GET",
                path=self._prefix + path,
                status=self._no_picture_getter.status,
                message=self._no_picture_getter.message,
            )
        return _picture_url(await self._call("GET", path))

    async def _probe_picture_getter(self, path: str) -> str | None:
        try:
            data = await self._call("GET", path)
        except ApiError as exc:
            if exc.status not in (404, 405):
                raise  # a failure like any other: the next call probes again
            self.picture_getter = False
            self._no_picture_getter = NoPictureGetterError(
                method=exc.method,
                path=exc.path,
                status=exc.status,
                message="this Titan has no route that shows a group's picture",
            )
            log.info("%s: pictures are planned from the state file", self._no_picture_getter)
            raise self._no_picture_getter from None
        self.picture_getter = True
        return _picture_url(data)

    async def download(self, url: str, *, max_bytes: int = 5 * 1024 * 1024) -> bytes:
        """The bytes at `url`, e.g. a picture URL the API gave. The key goes along only to the
        API's own origin (the simulator serves pictures there); anywhere else gets no key."""
        own = httpx.URL(url).join("/") == self._http.base_url.join("/")
        response: httpx.Response | None = None
        failure = ""
        status: int | None = None
        async with self._slots:
            try:
                if own:
                    request = self._http.build_request("GET", url)
                    response = await read_bounded(
                        self._http, request, limit=max_bytes, deadline=self._deadline
                    )
                else:
                    async with httpx.AsyncClient(timeout=self._http.timeout) as plain:
                        response = await read_bounded(
                            plain,
                            plain.build_request("GET", url),
                            limit=max_bytes,
                            deadline=self._deadline,
                            follow_redirects=True,
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
                request_sent=True, method="GET", path=url, message=self._redact(failure)
            )
        if not response.is_success:
            raise ApiResponseError(
                method="GET",
                path=url,
                status=response.status_code,
                message=f"cannot download it: HTTP {response.status_code}",
            )
        return response.content

    # -- participants ----------------------------------------------------------------------

    async def list_participants(self, group: Jid) -> list[Participant]:
        path = f"{_group_path(group)}/participants"
        data = await self._call("GET", path)
        if isinstance(data, dict) and isinstance(data.get("participants"), list):
            data = data["participants"]
        return list(self._parse(PARTICIPANTS.validate_python, data, "GET", path))

    async def add_participants(
        self, group: Jid, participants: Sequence[Jid]
    ) -> tuple[ParticipantResult, ...]:
        """Add people. Per person: 200 added, 403 invited instead (privacy), 408 left recently,
        409 already a member, 417 not allowed (community), 419 group full."""
        return await self._participants("POST", group, "", participants)

    async def remove_participants(
        self, group: Jid, participants: Sequence[Jid]
    ) -> tuple[ParticipantResult, ...]:
        """Remove people. Per person: 200 removed, 404 not a participant, 403 not allowed."""
        return await self._participants("DELETE", group, "", participants)

    async def promote_participants(
        self, group: Jid, participants: Sequence[Jid]
    ) -> tuple[ParticipantResult, ...]:
        """Make members admins. Per person: 200, 409 already admin, 404 not a participant."""
        return await self._participants("POST", group, "/promote", participants)

    async def demote_participants(
        self, group: Jid, participants: Sequence[Jid]
    ) -> tuple[ParticipantResult, ...]:
        """Take admin rights away (creator's session only). Per person: 200, 409 not an admin,
        404 not a participant, 403 the creator."""
        return await self._participants("POST", group, "/demote", participants)

    # -- invites ---------------------------------------------------------------------------

    async def get_invite_code(self, group: Jid) -> str:
        path = f"{_group_path(group)}/invite"
        return self._code(await self._call("GET", path), "GET", path)

    async def revoke_invite_code(self, group: Jid) -> str:
        """Revoke the group's invite link; returns the new code."""
        path = f"{_group_path(group)}/invite"
        data = await self._call("DELETE", path, retry_when=_surely_not_applied)
        return self._code(data, "DELETE", path)

    async def preview_invite(self, code: str) -> InviteInfo:
        data = await self._call("GET", "/groups/join", params={"inviteCode": code})
        return self._parse(InviteInfo.model_validate, data, "GET", "/groups/join")

    async def join_group(self, code: str) -> Jid:
        """Join a group by invite code (the part after chat.whatsapp.com/); returns its id."""
        data = await self._call(
            "POST", "/groups/join", body=self._body(code=code), retry_when=_surely_not_applied
        )
        if isinstance(data, dict):
            data = data.get("id") or data.get("groupId") or data.get("gid")
        group = self._parse(Group.model_validate, {"id": data}, "POST", "/groups/join").id
        if not group.is_group:
            raise ApiResponseError(
                method="POST",
                path=f"{self._prefix}/groups/join",
                status=200,
                message=f"the answer's id {group} is not a group",
            )
        return group

    # -- messages --------------------------------------------------------------------------

    async def send_text(self, chat_id: Jid, text: str) -> str | None:
        """Send a text message (scope `messages:write`); returns its id when the answer has
        one. Repeated only when the first try surely did not arrive: a message sent twice
        cannot be taken back. Any success is a sent message, whatever else its answer holds."""
        data = await self._call(
            "POST",
            "/api/messages/send",
            body=self._body(chatId=str(chat_id), type="text", text=text),
            retry_when=_surely_not_applied,
        )
        ident = data.get("id", data.get("messageId")) if isinstance(data, dict) else None
        return ident if isinstance(ident, str) else None

    # -- webhooks (absolute paths, key-wide; titan-api.md, "Webhooks") ------------------------

    async def list_webhooks(self) -> list[Webhook]:
        """The key's webhook registrations. The route is inferred (Titan's pages document
        only creation): callers treat a 404 or 405 as "cannot tell"."""
        data = await self._call("GET", _WEBHOOKS)
        if isinstance(data, dict) and isinstance(data.get("webhooks"), list):
            data = data["webhooks"]
        return self._parse(_WEBHOOK_LIST.validate_python, data, "GET", _WEBHOOKS)

    async def create_webhook(
        self, url: str, *, events: Sequence[str], hmac_key: str, retries: dict[str, Any]
    ) -> Webhook:
        """Register `url` for this session's `events`, signed with `hmac_key` (which stays out
        of every log line and error). Never repeated after a failure that may have created it."""
        self._secrets.append(hmac_key)
        body = self._body(url=url, events=list(events), hmacKey=hmac_key, retries=retries)
        data = await self._call("POST", _WEBHOOKS, body=body, retry_when=_surely_not_applied)
        return self._parse(Webhook.model_validate, data, "POST", _WEBHOOKS)

    async def delete_webhook(self, webhook_id: int | str) -> None:
        await self._call("DELETE", f"{_WEBHOOKS}/{quote(str(webhook_id), safe='')}")

    # -- plumbing --------------------------------------------------------------------------

    def _body(self, **fields: Any) -> dict[str, Any]:
        """A write's body. api-reference/groups requires `session` in it (the seed page leaves
        it out, and Titan takes it either way)."""
        return {"session": self.session, **fields}

    async def _participants(
        self, method: str, group: Jid, suffix: str, participants: Sequence[Jid]
    ) -> tuple[ParticipantResult, ...]:
        _check_batch(participants)
        path = f"{_group_path(group)}/participants{suffix}"
        data = await self._call(
            method, path, body=self._body(participants=[str(jid) for jid in participants])
        )
        try:
            return parse_participant_results(data, participants)
        except pydantic.ValidationError as exc:
            raise self._shape_error(method, path, exc) from None
        except ValueError as exc:
            raise ApiResponseError(
                method=method, path=self._prefix + path, status=200, message=str(exc)
            ) from None

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, str] | None = None,
        retry_when: Callable[[ApiError], bool] | None = None,
    ) -> Any:
        """Send one call, retrying failures that `retry_when` accepts, and return its data."""
        if retry_when is None:
            retry_when = _retryable

        async def attempt(number: int) -> Any:
            return await self._send(method, path, body, params, number)

        return await self._retrying(method, path, attempt, retry_when)

    async def _retrying(
        self,
        method: str,
        path: str,
        attempt: Callable[[int], Awaitable[_T]],
        retry_when: Callable[[ApiError], bool],
    ) -> _T:
        def log_retry(state: RetryCallState) -> None:
            self.stats.retries += 1
            error = state.outcome.exception() if state.outcome else None
            # Shown without -v: a run that waits should say why. Rate limits are expected.
            level = logging.INFO if isinstance(error, RateLimitedError) else logging.WARNING
            log.log(level, "%s; retrying in %.1f s", error, state.upcoming_sleep)

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._retry.attempts)
            | stop_before_delay(self._retry.total_seconds),
            wait=self._backoff,
            retry=retry_if_exception(
                lambda exc: (
                    isinstance(exc, ApiError)
                    # Repeating these is what they prevent, or cannot help.
                    and not isinstance(
                        exc, CreateUncertainError | SessionNotReadyError | OutcomeUnknownError
                    )
                    and retry_when(exc)
                )
            ),
            sleep=self._sleep,
            before_sleep=log_retry,
            reraise=True,
        )
        async for state in retrying:
            with state:
                return await attempt(state.retry_state.attempt_number)
        raise AssertionError("unreachable: tenacity reraises the last error")

    def _backoff(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, ApiError) and error.retry_after is not None:
            return error.retry_after + random.uniform(0, 0.1 * error.retry_after + 0.05)  # noqa: S311
        # Exponential backoff with full jitter: spreads out clients that failed together.
        ceiling = min(
            self._retry.max_backoff, self._retry.initial_backoff * 2 ** (state.attempt_number - 1)
        )
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311

    async def _send(
        self,
        method: str,
        path: str,
        body: Any,
        params: dict[str, str] | None,
        attempt: int,
        *,
        paced: bool = True,
    ) -> Any:
        url = path if path.startswith("/api/") else self._prefix + path
        if self.halted is not None and path:
            raise self._not_sent(method, url, self.halted)
        if method != "GET" and paced and self._writes is not None:
            await self._writes.acquire()
            if self.halted is not None:  # it may have stopped while this write waited its turn
                raise self._not_sent(method, url, self.halted)
        async with self._slots:
            started = time.perf_counter()
            self.stats.requests += 1
            self.stats.writes += method != "GET"
            failure: ApiError | None = None
            request = self._http.build_request(method, url, json=body, params=params)
            try:
                response = await read_bounded(
                    self._http, request, limit=MAX_ANSWER_BYTES, deadline=self._deadline
                )
            except httpx.TransportError as exc:
                failure = ApiConnectionError(
                    request_sent=not isinstance(exc, _NOT_SENT),
                    timed_out=isinstance(exc, httpx.TimeoutException),
                    method=method,
                    path=url,
                    message=self._redact(describe_transport_error(exc, self.base_url)),
                    attempts=attempt,
                )
            except TimeoutError:
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
        # Raised outside the except block: the httpx error holds the request, headers and key
        # included, and must not ride along as __context__.
        if failure is not None:
            await self._after_failure(path, failure)
            raise failure
        elapsed_ms = (time.perf_counter() - started) * 1000
        status = response.status_code
        self.stats.by_status[status] = self.stats.by_status.get(status, 0) + 1
        log.info(
            "%s %s -> %d (%.0f ms%s)",
            method,
            url,
            status,
            elapsed_ms,
            f", attempt {attempt}" if attempt > 1 else "",
        )
        if log.isEnabledFor(logging.DEBUG):  # decoding and redacting every answer costs
            shown = str(self._redact_deep(body))
            log.debug("request body: %.2000s; answer: %.2000s", shown, self._redact(response.text))
        try:
            answer = self._read_answer(method, url, response, attempt)
        except ApiError as exc:
            await self._after_failure(path, exc)
            raise
        self._failures_in_a_row = 0
        return answer

    async def _after_failure(self, path: str, failure: ApiError) -> None:
        """Read the session after an answer that may mean it dropped, or after calls have
        failed on Titan's side several times in a row (5xx, no answer): a run must not spend
        minutes retrying call after call against a session that is gone."""
        if isinstance(failure, ServerError | ApiConnectionError):
            self._failures_in_a_row += 1
        if path and (
            failure.status in _SESSION_SUSPECT or self._failures_in_a_row >= _FAILURES_BEFORE_CHECK
        ):
            self._failures_in_a_row = 0
            await self._check_session(failure)

    def _not_sent(self, method: str, url: str, halted: SessionNotReadyError) -> ApiError:
        error = type(halted)
        return error(
            method=method,
            path=url,
            status=None,
            message=f"not sent: {halted.message}",
            session_status=halted.session_status,
            status_reason=halted.status_reason,
        )

    async def wait_until_connected(self) -> SessionInfo:
        """The session, once it is CONNECTED: waited for while Titan reconnects it (up to
        `reconnect_wait` seconds), else SessionNotReadyError saying what to do, and every
        later call of this client stops with it."""
        info = await self.get_session()
        if info.connected:
            return info
        await self._check_session(
            SessionNotReadyError(
                method="GET",
                path=self._prefix,
                status=None,
                message="not connected",
                session_status=info.status,
                status_reason=info.status_reason,
            )
        )
        return await self.get_session()

    async def _check_session(self, failure: ApiError) -> None:
        """After a failure that may mean the session dropped: read the session. Connected,
        the failure stands (and is retried as usual). Reconnecting, wait for it. Otherwise the
        run stops: `halted` is set and every later call of this client raises it, unsent."""
        async with self._session_check:  # concurrent failures read the session once
            if self.halted is not None:
                raise self._not_sent(failure.method, failure.path, self.halted)
            waited, delay = 0.0, 1.0
            while True:
                try:
                    info = await self.get_session(refresh=True)
                except ApiError:
                    return  # the session cannot be read either: the failure stands
                decision = verdict(info.status, info.status_reason)
                if decision is SessionVerdict.PROCEED:
                    return
                budget = {
                    SessionVerdict.WAIT: self.reconnect_wait,
                    SessionVerdict.RETRY: min(FAILED_CONNECTION_WAIT, self.reconnect_wait),
                }.get(decision, 0.0)
                if waited < budget:
                    pause = min(delay, budget - waited)  # never past the deadline
                    log.warning(
                        "session %r is %s (%s): waiting %.0f s for it to reconnect",
                        self.session,
                        info.status,
                        info.status_reason or "no reason given",
                        pause,
                    )
                    await self._sleep(pause)
                    waited, delay = waited + pause, min(delay * 2, 30.0)
                    continue
                error = (
                    SessionBannedError
                    if decision is SessionVerdict.BANNED
                    else SessionNotReadyError
                )
                self.halted = error(
                    method=failure.method,
                    path=failure.path,
                    status=failure.status,
                    message=describe(self.session, info.status, info.status_reason),
                    session_status=info.status,
                    status_reason=info.status_reason,
                )
                raise self.halted

    def _read_answer(self, method: str, url: str, response: httpx.Response, attempt: int) -> Any:
        status = response.status_code
        # An API or proxy may echo the request back anywhere in an answer (an error, a code, a
        # participant's address): the key is taken out before anything is read from it.
        content = self._redact_bytes(response.content)
        if 200 <= status < 300:
            if not content and status != 202:
                return None
            try:
                payload = parse_json(content) if content else None
                if b"\\" in content:  # JSON escapes could spell a secret the bytes do not show
                    payload = self._redact_deep(payload)
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
        message, docs = error_text(content, response.reason_phrase)
        message = self._redact(message)
        message = one_line(message) + hint(status, method, url, message)
        raise api_error_class(status)(
            method=method,
            path=url,
            status=status,
            message=message,
            docs=docs,
            attempts=attempt,
            retry_after=retry_after(response),
        )

    def _redact_bytes(self, content: bytes) -> bytes:
        for secret in (self._api_key, *self._secrets):
            raw = secret.encode()
            if len(secret) >= MIN_SECRET_LENGTH and raw in content:
                content = content.replace(raw, HIDDEN.encode())
        return content

    def _redact_deep(self, value: Any) -> Any:
        """`value` (decoded JSON) with every secret taken out of every string in it."""
        if isinstance(value, str):
            return self._redact(value)
        if isinstance(value, list):
            return [self._redact_deep(item) for item in value]
        if isinstance(value, dict):
            return {self._redact(str(k)): self._redact_deep(v) for k, v in value.items()}
        return value

    def _redact(self, text: str) -> str:
        """`text` without the key: an API or proxy may echo the request back."""
        for secret in (self._api_key, *self._secrets):
            if len(secret) >= MIN_SECRET_LENGTH:
                text = text.replace(secret, HIDDEN)
        return text

    def _parse(self, validate: Callable[[Any], _T], data: Any, method: str, path: str) -> _T:
        try:
            return validate(data)
        except pydantic.ValidationError as exc:
            raise self._shape_error(method, path, exc) from None

    def _shape_error(
        self, method: str, path: str, exc: pydantic.ValidationError
    ) -> ApiResponseError:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the answer"
        return ApiResponseError(
            method=method,
            path=path if path.startswith("/api/") else self._prefix + path,
            status=200,
            message=f"unexpected answer shape at {where}: {first['msg']}",
        )

    def _created(self, data: Any, participants: Sequence[Jid]) -> CreatedGroup:
        group = self._parse(Group.model_validate, data, "POST", "/groups")
        results: tuple[ParticipantResult, ...] = ()
        if isinstance(data, dict) and "results" in data:
            try:
                results = parse_participant_results({"results": data["results"]}, participants)
            except ValueError as exc:  # pydantic's ValidationError included
                # The group exists: failing here would leave it unreported. Without results,
                # whoever is among its participants was added, and the others were not.
                log.warning("POST /groups: unreadable participant results (%s)", exc)
        return CreatedGroup(group=group, results=results)

    def _code(self, data: Any, method: str, path: str) -> str:
        code = data.get("code") if isinstance(data, dict) else data
        if not isinstance(code, str) or not code:
            raise ApiResponseError(
                method=method,
                path=self._prefix + path,
                status=200,
                message="the answer has no invite code",
            )
        return code

    async def _find_group_created_since(
        self, name: str, since: float, failure: ApiError
    ) -> Group | None:
        """The newest group named `name` that this session's account created after `since`.

        A same-named group of ours whose creation time the API does not give cannot be told
        apart from one this call made: that is `CreateUncertainError`, not a second create.
        """
        me = await self.get_session()
        candidates = [group for group in await self.list_groups() if group.name == name]
        found: list[Group] = []
        for candidate in candidates:
            group = candidate
            if group.created_at is None or group.owner_lid is None:
                group = await self.get_group(candidate.id)
            if me.phone is not None and not _owned_by(group, me.phone, me.lid):
                continue
            if group.created_at is None:
                raise _uncertain(
                    failure,
                    f"the create of {name!r} failed, and {group.id} has"
                    " that name but no creation time: not created again",
                )
            if group.created_at >= since - CLOCK_SKEW:
                found.append(group)
        if not found:
            return None
        newest = max(found, key=lambda group: group.created_at or 0)
        return newest if newest.participants is not None else await self.get_group(newest.id)


_GROUPS = pydantic.TypeAdapter(list[Group])
_WEBHOOKS = "/api/webhooks"
_WEBHOOK_LIST = pydantic.TypeAdapter(list[Webhook])


def _uncertain(failure: ApiError, message: str) -> CreateUncertainError:
    return CreateUncertainError(
        method=failure.method,
        path=failure.path,
        status=failure.status,
        attempts=failure.attempts,
        message=f"{failure.message}; {message}; the next plan finds it if it was made",
    )


def _owned_by(group: Group, phone: Jid, lid: Jid | None) -> bool:
    if group.owner_lid is not None:
        return group.owner_lid in (phone, lid)
    return any(
        p.is_super_admin and (p.phone == phone or (lid is not None and p.lid == lid))
        for p in group.participants or ()
    )


def _group_path(group: Jid) -> str:
    if not group.is_group:
        raise ValueError(f"{group} is not a group JID")
    return f"/groups/{quote(str(group), safe='')}"


def _check_batch(participants: Sequence[Jid]) -> None:
    if len(participants) > MAX_PARTICIPANTS_PER_CALL:
        raise ValueError(
            f"{len(participants)} participants in one call; Titan takes at most"
            f" {MAX_PARTICIPANTS_PER_CALL}: split them into batches"
        )


def _picture_url(data: Any) -> str | None:
    url = data.get("url") if isinstance(data, dict) else data
    return url if isinstance(url, str) and url else None


def _surely_not_applied(error: ApiError) -> bool:
    """The call certainly had no effect, so repeating it cannot do anything twice."""
    if isinstance(error, ApiConnectionError):
        return not error.request_sent
    return isinstance(error, RateLimitedError)


def _retryable(error: ApiError) -> bool:
    """For calls whose repetition is harmless: reads, setting a value, adding a member (the
    answer to a repeat says "already"). A plain 500 counts too: it may well pass."""
    if isinstance(error, ApiConnectionError | ServerError):
        return True
    return error.status in _RETRIED_STATUSES
