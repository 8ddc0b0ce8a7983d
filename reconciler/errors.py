"""One exception tree for everything groupctl reports to a person.

The CLI catches only `GroupctlError` and prints its message; anything else escaping is a bug.
Each error carries what a person needs to fix the problem and never the API key.

    GroupctlError
    ├── ConfigError            every Problem of the config, each at its file:line:col
    ├── SetupError             the run cannot start as asked:
    │   ├── UsageError           flags and arguments
    │   ├── FileAccessError      a file that cannot be read or written as it is
    │   ├── SettingsError        API address or key, session, git, where a plan was made
    │   └── RunLockedError       another run holds the lock beside the state file
    ├── PictureError           a picture that cannot be used (also a ValueError)
    ├── InvalidJidError        a number or JID that cannot be read (also a ValueError)
    ├── PlanFileError          a plan file that is not exactly as it was made
    │   ├── ExpiredPlanError     made longer ago than --max-plan-age (or in the future)
    │   ├── OutdatedPlanError    the config changed since it was made
    │   └── ReplayedPlanError    applied once already
    ├── UnsafePlanError        the safety brakes stop the plan
    ├── StalePlanError         a saved plan's groups changed since it was made
    ├── InterruptedRunError    SIGINT or SIGTERM stopped the run (exit 130 or 143)
    ├── CutShortError          a call still in flight when the wait after a stop ran out
    └── ApiError               a call to Titan, with method, path and status
        ├── BadRequestError, AuthenticationError, PermissionDeniedError, NotFoundError,
        │   ConflictError, RateLimitedError, ServerError
        ├── SessionNotReadyError ── SessionBannedError
        ├── OutcomeUnknownError, CreateUncertainError   it may or may not have happened
        ├── NotSentError         not sent: the run is stopping
        ├── ApiConnectionError, ApiResponseError
        └── NoPictureGetterError

A person who answers "no" to apply's question has not met an error: apply says "Nothing
applied." and exits 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from reconciler.util.wording import count


class GroupctlError(Exception):
    """Root of every error groupctl reports."""


@dataclass(frozen=True, order=True, slots=True)
class Location:
    """A place in a config file: 1-based line and column; `via`: how a group came to have
    what is there (it extends the template the place is in), when it is not the group's own."""

    file: str
    line: int
    column: int
    via: str = ""

    def __str__(self) -> str:
        place = f"{self.file}:{self.line}:{self.column}"
        return f"{place} ({self.via})" if self.via else place


@dataclass(frozen=True, order=True, slots=True)
class Problem:
    """One mistake in a config file: where, and what is wrong and how to fix it."""

    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class ConfigError(GroupctlError):
    """The config has mistakes; `problems` lists every one, in file order."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(sorted(problems))
        super().__init__("\n".join(str(problem) for problem in self.problems))


class SetupError(GroupctlError):
    """The run cannot start as asked; raised as one of the four kinds below."""


class UsageError(SetupError):
    """Flags or arguments that do not go together or cannot be read (`--group` a config does
    not have, `20/minute`, `--tls-cert` without `--tls-key`, no terminal to ask on)."""


class FileAccessError(SetupError):
    """A file groupctl needs cannot be read or written as it is (a plan, the state file, a
    world file, the config it writes ids into)."""


class SettingsError(SetupError):
    """The surroundings are wrong for the run: the API address or key, the session, git, or
    a saved plan made against another API or session."""


class RunLockedError(SetupError):
    """Another run (an apply, a heal of watch) holds the lock that keeps two runs from
    changing the same groups at once; `holder` says which, as its lock file does."""

    def __init__(self, path: Path, holder: str, *, waited: float) -> None:
        self.path = path
        self.holder = holder
        how_long = f" for the {waited:g} s this run waited" if waited > 0 else ""
        super().__init__(
            f"another groupctl run holds {path}{how_long}: {holder}. Two runs at once could"
            " create a group twice or invite someone twice. It lets go when that run ends:"
            " run again then, or wait for it with --lock-timeout SECONDS"
        )


class PictureError(GroupctlError, ValueError):
    """A picture that cannot be used: a config's URL or file, or bytes that are no image.

    Also a `ValueError`, like `InvalidJidError`."""


class InvalidJidError(GroupctlError, ValueError):
    """A phone number or JID that cannot be understood.

    Also a `ValueError`, so pydantic validators turn it into a validation error.
    """


class PlanFileError(GroupctlError):
    """A plan file that cannot be used: unreadable, of another version, or altered."""


# The exit status of apply when a saved plan is refused as out of date (too old, its config
# changed, or its groups): nothing was changed, and a new plan is what is needed. CI tells it
# from other failures by it (the action re-plans, and says so on the pull request).
OUT_OF_DATE_EXIT = 4


class ExpiredPlanError(PlanFileError):
    """A saved plan made longer ago than apply accepts (--max-plan-age), or later than now."""

    exit_code = OUT_OF_DATE_EXIT


class OutdatedPlanError(PlanFileError):
    """A saved plan whose config files changed since it was made: it no longer shows what
    the reviewed config says."""

    exit_code = OUT_OF_DATE_EXIT


class ReplayedPlanError(PlanFileError):
    """A saved plan that was applied already: a plan is applied once."""


class UnsafePlanError(GroupctlError):
    """The plan trips a safety brake; `reasons` says which, and how to go ahead."""

    def __init__(self, reasons: Sequence[str]) -> None:
        self.reasons = tuple(reasons)
        lines = "\n".join(f"  - {reason}" for reason in reasons)
        super().__init__(f"the plan is refused by the safety brakes:\n{lines}\n  {HOW_TO_FORCE}")


class InterruptedRunError(GroupctlError):
    """A signal stopped the run. Its exit status is 128 plus the signal's number (130 for
    SIGINT, 143 for SIGTERM), as a shell reports a command the signal ended."""

    def __init__(self, message: str, *, signal_number: int) -> None:
        self.exit_code = 128 + signal_number
        super().__init__(message)


class CutShortError(GroupctlError):
    """A call was still in flight when the wait after a stop ran out: it was abandoned, and
    may or may not have been carried out (the next plan shows which)."""


HOW_TO_FORCE = (
    "If these changes are intended, run again with --force (or raise the limit each names:"
    " its --max-... flag, or the limits: of the group, or of its session, in the config)."
)


class StalePlanError(GroupctlError):
    """The world changed since a saved plan was made; `changes` says how, group by group."""

    exit_code = OUT_OF_DATE_EXIT

    def __init__(self, changes: Mapping[str, Sequence[str]]) -> None:
        self.changes = {key: list(lines) for key, lines in changes.items()}
        described = [
            f"  {key}:\n" + "\n".join(f"    - {line}" for line in lines)
            for key, lines in self.changes.items()
        ]
        super().__init__(
            f"the plan is stale: {count(len(self.changes), 'group')} changed since it was made,"
            " so it is not applied:\n"
            + "\n".join(described)
            + "\n  Make a new plan (groupctl plan --out ...), review it, and apply that."
        )


class ApiError(GroupctlError):
    """A Titan API call failed. Carries the call and the answer, never the credentials."""

    def __init__(
        self,
        *,
        method: str,
        path: str,
        status: int | None,
        message: str,
        docs: str | None = None,
        attempts: int = 1,
        retry_after: float | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.message = message
        self.docs = docs
        self.attempts = attempts
        # Seconds the API asked us to wait before trying again (Retry-After on 429 or 503).
        self.retry_after = retry_after
        super().__init__(self._describe())

    def _describe(self) -> str:
        answer = f"HTTP {self.status}" if self.status is not None else "no answer"
        text = f"{self.method} {self.path}: {answer}: {self.message}"
        if self.attempts > 1:
            text += f" (after {self.attempts} attempts)"
        return text


class BadRequestError(ApiError):
    """400: the API refused the request as malformed or against its limits."""


class AuthenticationError(ApiError):
    """401: the API key is missing or wrong."""


class PermissionDeniedError(ApiError):
    """403: the key lacks a scope, or the session's account may not do this in this group."""


class NotFoundError(ApiError):
    """404: no such session or group (or the session is not in it)."""


class ConflictError(ApiError):
    """409: the request conflicts with the current state."""


class SessionNotReadyError(ApiError):
    """The session is not CONNECTED to WhatsApp (found by reading it after a call failed).

    `session_status` and `status_reason` are Titan's; the message says what to do. Never
    retried: the client stops every later call of the run with this same error.
    """

    def __init__(
        self,
        *,
        method: str,
        path: str,
        status: int | None,
        message: str,
        session_status: str,
        status_reason: str | None,
    ) -> None:
        self.session_status = session_status
        self.status_reason = status_reason
        super().__init__(method=method, path=path, status=status, message=message)

    def _describe(self) -> str:
        # The session's own state is the news, whatever the call that found it answered.
        return f"{self.method} {self.path}: {self.message}"


class SessionBannedError(SessionNotReadyError):
    """The account is temporarily banned by WhatsApp: no write is sent, none retried."""


class OutcomeUnknownError(ApiError):
    """The API accepted the call but did not say what happened (202, or only a correlation
    id): it may be carried out later, or not at all. Never counted as success."""


class NotSentError(ApiError):
    """A call not sent because the run is stopping (a signal). `earlier` is the failure of
    the call's attempt before, if there was one: that attempt may have done its work."""

    def __init__(self, *, method: str, path: str, reason: str, earlier: ApiError | None = None):
        self.reason = reason
        self.earlier = earlier
        message = f"not sent: {reason}"
        if earlier is not None:
            message += f"; the attempt before failed: {earlier.message}"
        super().__init__(method=method, path=path, status=None, message=message)

    def _describe(self) -> str:
        return f"{self.method} {self.path}: {self.message}"

    def after(self, earlier: ApiError) -> NotSentError:
        """This refusal, of a call whose attempt before failed with `earlier`."""
        return NotSentError(method=self.method, path=self.path, reason=self.reason, earlier=earlier)


class RateLimitedError(ApiError):
    """429: too many requests; `retry_after` says when to come back, in seconds."""


class ServerError(ApiError):
    """5xx: the API failed on its side."""


class ApiConnectionError(ApiError):
    """The API could not be reached, or the connection failed before an answer arrived.

    `request_sent` is False when the request surely never reached the API (connection refused,
    connect timeout), so repeating it cannot do anything twice.
    """

    def __init__(
        self,
        *,
        request_sent: bool,
        timed_out: bool = False,
        method: str,
        path: str,
        message: str,
        attempts: int = 1,
        hopeless: bool = False,
    ) -> None:
        self.request_sent = request_sent
        # No answer in time: the API may still be carrying the request out.
        self.timed_out = timed_out
        # Trying again cannot help (TLS that fails, an address never reached): not retried.
        self.hopeless = hopeless
        super().__init__(method=method, path=path, status=None, message=message, attempts=attempts)


class CreateUncertainError(ApiError):
    """A create failed in a way that may have made the group, and groupctl cannot tell whether
    it did. It is not repeated (that could make a second group): the next plan finds the group
    by its subject if it exists, or creates it."""


class ApiResponseError(ApiError):
    """The API answered with something groupctl cannot read (not JSON, or the wrong shape)."""


class NoPictureGetterError(ApiError):
    """This Titan has no route that shows a group's picture (Titan documents none): the route
    answered 404 or 405 for a group that was just read. Plans then go by the state file's
    record of the pictures apply uploaded, so it is no failure of a run."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitedError,
}


def api_error_class(status: int) -> type[ApiError]:
    """The most specific `ApiError` subclass for an HTTP status."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, ApiError)
