"""What WhatsApp's per-person answers mean for apply: each code, by action, as an `Outcome`
and the words the report gives it; and whether a failed message may have gone out."""

from __future__ import annotations

from reconciler.engine.plan import Kind
from reconciler.engine.report import ADDS, NO_PER_PERSON_ANSWER, Outcome
from reconciler.errors import (
    ApiConnectionError,
    ApiResponseError,
    GroupctlError,
    OutcomeUnknownError,
    ServerError,
)
from reconciler.titan.results import ParticipantResult, ParticipantStatus

# WhatsApp's per-person codes, by action (None: any action). 403 on add: see `outcome_of`.
_OUTCOMES: dict[tuple[Kind | None, int], Outcome] = {
    (None, ParticipantStatus.DONE): Outcome.DONE,
    (Kind.ADD, ParticipantStatus.ALREADY): Outcome.ALREADY,
    (Kind.ADD, ParticipantStatus.RECENTLY_LEFT): Outcome.LEFT_RECENTLY,
    (Kind.PROMOTE, ParticipantStatus.ALREADY): Outcome.ALREADY,
    (Kind.DEMOTE, ParticipantStatus.ALREADY): Outcome.ALREADY,
    (Kind.REMOVE, ParticipantStatus.NOT_PARTICIPANT): Outcome.ALREADY,
}
# What a code means for an add, said in the report whatever the API's own words.
_MEANINGS: dict[int, str] = {
    ParticipantStatus.NOT_PARTICIPANT: "not on WhatsApp",
    ParticipantStatus.COMMUNITY: "cannot be added to a community's group",
    ParticipantStatus.GROUP_FULL: "the group is full",
}


def outcome_of(kind: Kind, result: ParticipantResult) -> Outcome:
    """What WhatsApp's answer for one person means for the action."""
    status = result.status
    if kind in ADDS and status == ParticipantStatus.NEEDS_INVITE:
        # Nothing reaches the person unless the answer says an invite was sent.
        return Outcome.INVITED if result.invite_sent else Outcome.NEEDS_INVITE
    return _OUTCOMES.get((kind, status)) or _OUTCOMES.get((None, status)) or Outcome.FAILED


def detail_of(kind: Kind, outcome: Outcome, result: ParticipantResult) -> str:
    """The report's words for one person's outcome: the code, what it means, the API's text."""
    if outcome == Outcome.DONE:
        return "" if result.per_person else NO_PER_PERSON_ANSWER
    meaning = _MEANINGS.get(result.status) if kind in ADDS else None
    words = [w for w in (meaning, result.message) if w] or [outcome.value]
    return f"{result.status}: " + ": ".join(words)


def maybe_sent(error: GroupctlError) -> bool:
    """Whether a message whose call failed may have gone out all the same."""
    if isinstance(error, ApiConnectionError):
        return error.request_sent
    return isinstance(error, OutcomeUnknownError | ServerError | ApiResponseError)
