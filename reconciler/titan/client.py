"""TitanClient: one typed method per endpoint of the Titan groups API (titan-api.md).

Each call is sent by `titan.http` (pacing, the key, answers and failures as `ApiError`s),
repeated when that is safe by `titan.retries`, and stopped unsent once the session is gone by
`titan.session_guard`; a create whose answer was lost is found again by `titan.recovery`.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx
import pydantic

from reconciler.core.jid import Jid
from reconciler.core.limits import MAX_PARTICIPANTS_PER_CALL
from reconciler.errors import (
    ApiError,
    ApiResponseError,
    NotFoundError,
    PermissionDeniedError,
    SessionNotReadyError,
)
from reconciler.titan.http import CallStats, TitanHttp
from reconciler.titan.models import PARTICIPANTS, Group, InviteInfo, Participant, SessionInfo
from reconciler.titan.pacing import Pacer
from reconciler.titan.picture_getter import PictureGetter
from reconciler.titan.recovery import GroupCreation, find_group_created_since
from reconciler.titan.results import CreatedGroup, ParticipantResult, parse_participant_results
from reconciler.titan.retries import Retrier, RetryPolicy, retryable, surely_not_applied
from reconciler.titan.scopes import ScopeCheck, check_scopes
from reconciler.titan.session_guard import RECONNECT_WAIT, SessionGuard
from reconciler.titan.webhooks import Webhook
from reconciler.util.rates import Rate

log = logging.getLogger("reconciler.titan")

# WhatsApp bans accounts that write in bursts: one write every 3 s unless the operator says more.
DEFAULT_WRITE_RATE = Rate(20, 60)
# Calls at once, at most. Measured on two cores, reading 1,000 groups of 200 with 20 ms of
# latency (bench/plan_scale.py): 4.1 s at 8, 3.4 s at 16, 2.5 s at 32, where the client's CPU
# is the bound (64 gained a tenth more in one run, for twice the connections). With a
# connection of its own for each call (titan/lanes.py) a call costs the same at 32 as at 16;
# with more latency more would help, and Titan's rate limit, from its answers, paces them
# anyway (titan.pacing).
DEFAULT_PARALLELISM = 32
_DEFAULT_RETRY = RetryPolicy()  # frozen: one default shared by every client is safe
_GROUPS = pydantic.TypeAdapter(list[Group])
_WEBHOOKS = "/api/webhooks"
_WEBHOOK_LIST = pydantic.TypeAdapter(list[Webhook])


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
        max_concurrency: int = DEFAULT_PARALLELISM,
        retry: RetryPolicy = _DEFAULT_RETRY,
        reconnect_wait: float = RECONNECT_WAIT,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url
        self.session = session
        self.write_rate = write_rate
        self.max_concurrency = max_concurrency  # calls at once, at most
        self.stats = CallStats()
        self._guard = SessionGuard(
            session,
            lambda: self.get_session(refresh=True),
            reconnect_wait=reconnect_wait,
            sleep=sleep,
        )
        pacer = Pacer(sleep=sleep)
        self._http = TitanHttp(
            base_url,
            api_key=api_key,
            session=session,
            transport=transport,
            timeout=timeout,
            write_rate=write_rate,
            max_concurrency=max_concurrency,
            stats=self.stats,
            guard=self._guard,
            pacer=pacer,
        )
        guard = self._guard

        async def pause(seconds: float) -> None:  # before trying again: not once stopping
            start = pacer.now()
            await guard.unless_stopped(sleep(seconds))
            pacer.slept_until(start + seconds)  # e.g. a 429's Retry-After: waited already

        self._retrier = Retrier(retry, sleep=pause, stats=self.stats)
        self._clock = clock
        self._session_info: SessionInfo | None = None
        self._pictures = PictureGetter(lambda path: self._call("GET", path), self._http.url)

    @property
    def halted(self) -> SessionNotReadyError | None:
        """Set once the session is found not connected: every later call stops with it."""
        return self._guard.halted

    @halted.setter
    def halted(self, error: SessionNotReadyError | None) -> None:
        self._guard.halted = error

    @property
    def picture_getter(self) -> bool | None:
        """Whether Titan shows group pictures: None until `get_picture_url` has probed it."""
        return self._pictures.available

    @property
    def reconnect_wait(self) -> float:
        """Seconds, in all, a run waits for a session Titan says it is reconnecting."""
        return self._guard.reconnect_wait

    @reconnect_wait.setter
    def reconnect_wait(self, seconds: float) -> None:
        self._guard.reconnect_wait = seconds

    def stop(self, reason: str) -> None:
        """The run is stopping (`reason`, e.g. a signal): send no write from now on and try
        no call again; each such call raises NotSentError. Reads still go out once each."""
        self._guard.stop(reason)

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
            self._session_info = self._http.parse(SessionInfo.model_validate, data, "GET", "")
        return self._session_info

    async def wait_until_connected(self) -> SessionInfo:
        """The session, once it is CONNECTED: waited for while Titan reconnects it (up to
        `reconnect_wait` seconds), else SessionNotReadyError saying what to do, and every
        later call of this client stops with it."""
        info = await self.get_session()
        if info.connected:
            return info
        await self._guard.wait_for_reconnect(info, url=self._http.url(""))
        return await self.get_session()

    async def check_scopes(self) -> dict[str, ScopeCheck]:
        """Whether the key has each scope groupctl needs. Nothing is changed: `groups:manage`
        and `messages:write` are checked by writes that cannot succeed (a group that cannot
        exist, a message with no recipient), whose refusal says whether the key was refused
        (403) or the request was (400, 404, ...). They are not paced: they change nothing."""
        return await check_scopes(self._http, write_body=self._body)

    # -- groups ----------------------------------------------------------------------------

    async def list_groups(self) -> list[Group]:
        """Every group the session's account is in. Entries may lack participants."""
        data = await self._call("GET", "/groups")
        if isinstance(data, dict) and isinstance(data.get("groups"), list):
            data = data["groups"]
        return self._http.parse(_GROUPS.validate_python, data, "GET", "/groups")

    async def get_group(self, group: Jid) -> Group:
        """One group with its participants."""
        path = _group_path(group)
        return self._http.parse(Group.model_validate, await self._call("GET", path), "GET", path)

    async def create_group(self, name: str, participants: Sequence[Jid]) -> CreatedGroup:
        """Create a group; the session's account becomes its creator (super admin).

        Creating is not idempotent, so it is never repeated blindly: after a failure that may
        have created the group anyway (a 5xx, a lost answer), the session's groups are searched
        for it first, and creation is repeated only if it is not there.
        """
        _check_batch(participants)
        creation = GroupCreation(
            self,
            self._http,
            name=name,
            body=self._body(name=name, participants=[str(jid) for jid in participants]),
            participants=participants,
            started=self._clock(),
        )
        return await self._retrier.run(creation.attempt, retryable)

    async def own_group_created_since(self, name: str, since: float) -> Group | None:
        """The newest group named `name` that the session's account created at `since` (epoch
        seconds, give or take the clocks' skew) or later, or None. Apply binds to it rather
        than create a second group of that name (another run created it meanwhile)."""
        return await find_group_created_since(self, name, since)

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
                await self._http.send(method, path, None, None, number)
            except (NotFoundError, PermissionDeniedError) as exc:
                if number == 1:
                    raise
                log.info("%s %s: %s; an earlier attempt did it", method, path, exc.message)

        await self._retrier.run(attempt, retryable)

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
        return await self._pictures.picture_url(f"{_group_path(group)}/picture")

    async def download(self, url: str, *, max_bytes: int = 5 * 1024 * 1024) -> bytes:
        """The bytes at `url`, e.g. a picture URL the API gave. The key goes along only to the
        API's own origin (the simulator serves pictures there); anywhere else gets no key."""
        return await self._http.download(url, max_bytes=max_bytes)

    # -- participants ----------------------------------------------------------------------

    async def list_participants(self, group: Jid) -> list[Participant]:
        path = f"{_group_path(group)}/participants"
        data = await self._call("GET", path)
        if isinstance(data, dict) and isinstance(data.get("participants"), list):
            data = data["participants"]
        return list(self._http.parse(PARTICIPANTS.validate_python, data, "GET", path))

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
            raise self._http.shape_error(method, path, exc) from None
        except ValueError as exc:
            raise ApiResponseError(
                method=method, path=self._http.url(path), status=200, message=str(exc)
            ) from None

    # -- invites ---------------------------------------------------------------------------

    async def get_invite_code(self, group: Jid) -> str:
        path = f"{_group_path(group)}/invite"
        return self._code(await self._call("GET", path), "GET", path)

    async def revoke_invite_code(self, group: Jid) -> str | None:
        """Revoke the group's invite link; returns the new code, when the answer has it (Titan
        documents no answer: Baileys' is the new code [inferred]). A success without one is
        a revocation all the same: `get_invite_code` reads the new code."""
        path = f"{_group_path(group)}/invite"
        data = await self._call("DELETE", path, retry_when=surely_not_applied)
        code = data.get("code") if isinstance(data, dict) else data
        return code if isinstance(code, str) and code else None

    async def preview_invite(self, code: str) -> InviteInfo:
        data = await self._call("GET", "/groups/join", params={"inviteCode": code})
        return self._http.parse(InviteInfo.model_validate, data, "GET", "/groups/join")

    async def join_group(self, code: str) -> Jid:
        """Join a group by invite code (the part after chat.whatsapp.com/); returns its id."""
        data = await self._call(
            "POST", "/groups/join", body=self._body(code=code), retry_when=surely_not_applied
        )
        if isinstance(data, dict):
            data = data.get("id") or data.get("groupId") or data.get("gid")
        group = self._http.parse(Group.model_validate, {"id": data}, "POST", "/groups/join").id
        if not group.is_group:
            raise ApiResponseError(
                method="POST",
                path=self._http.url("/groups/join"),
                status=200,
                message=f"the answer's id {group} is not a group",
            )
        return group

    def _code(self, data: Any, method: str, path: str) -> str:
        code = data.get("code") if isinstance(data, dict) else data
        if not isinstance(code, str) or not code:
            raise ApiResponseError(
                method=method,
                path=self._http.url(path),
                status=200,
                message="the answer has no invite code",
            )
        return code

    # -- messages --------------------------------------------------------------------------

    async def send_text(self, chat_id: Jid, text: str) -> str | None:
        """Send a text message (scope `messages:write`); returns its id when the answer has
        one. Repeated only when the first try surely did not arrive: a message sent twice
        cannot be taken back. Any success is a sent message, whatever else its answer holds."""
        data = await self._call(
            "POST",
            "/api/messages/send",
            body=self._body(chatId=str(chat_id), type="text", text=text),
            retry_when=surely_not_applied,
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
        return self._http.parse(_WEBHOOK_LIST.validate_python, data, "GET", _WEBHOOKS)

    async def create_webhook(
        self, url: str, *, events: Sequence[str], hmac_key: str, retries: dict[str, Any]
    ) -> Webhook:
        """Register `url` for this session's `events`, signed with `hmac_key` (which stays out
        of every log line and error). Never repeated after a failure that may have created it."""
        self._http.secrets.add(hmac_key)
        body = self._body(url=url, events=list(events), hmacKey=hmac_key, retries=retries)
        data = await self._call("POST", _WEBHOOKS, body=body, retry_when=surely_not_applied)
        return self._http.parse(Webhook.model_validate, data, "POST", _WEBHOOKS)

    async def delete_webhook(self, webhook_id: int | str) -> None:
        await self._call("DELETE", f"{_WEBHOOKS}/{quote(str(webhook_id), safe='')}")

    # -- plumbing --------------------------------------------------------------------------

    def _body(self, **fields: Any) -> dict[str, Any]:
        """A write's body. api-reference/groups requires `session` in it (the seed page leaves
        it out, and Titan takes it either way)."""
        return {"session": self.session, **fields}

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, str] | None = None,
        retry_when: Callable[[ApiError], bool] = retryable,
    ) -> Any:
        """Send one call, retrying failures that `retry_when` accepts, and return its data."""

        async def attempt(number: int) -> Any:
            return await self._http.send(method, path, body, params, number)

        return await self._retrier.run(attempt, retry_when)


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
