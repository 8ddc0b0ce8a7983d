"""What each session status and reason means for a run (titan-api.md, "Session object").

Titan's sessions are CONNECTING, CONNECTED or DISCONNECTED, with a `statusReason`. The client
turns a session that is not CONNECTED into one of a few decisions: wait for Titan's own
reconnect, retry briefly, or stop; and a temporary ban stops every write at once.
"""

from __future__ import annotations

from enum import StrEnum


class SessionVerdict(StrEnum):
    PROCEED = "proceed"
    WAIT = "wait"  # Titan reconnects by itself: no writes meanwhile, poll to a deadline
    RETRY = "retry"  # a connection error: poll briefly, then stop
    PAIR = "pair"  # the phone must be (re)paired: stop
    STOP = "stop"  # stopped on purpose: stop, and do not start it
    BANNED = "banned"  # suspended by WhatsApp: stop every write, never retry


_BY_REASON: dict[str, SessionVerdict] = {
    "AUTO_RECONNECT": SessionVerdict.WAIT,
    "SCAN_QR": SessionVerdict.PAIR,
    "QR_TIMEOUT": SessionVerdict.PAIR,
    "LOGGED_OUT": SessionVerdict.PAIR,
    "MANUAL_STOP": SessionVerdict.STOP,
    "FAILED": SessionVerdict.RETRY,
    "STREAM_ERROR": SessionVerdict.RETRY,
    "TEMPORARY_BAN": SessionVerdict.BANNED,
}

_ADVICE: dict[SessionVerdict, str] = {
    SessionVerdict.WAIT: "Titan is reconnecting it by itself; try again in a few minutes",
    SessionVerdict.RETRY: (
        "its connection to WhatsApp failed; if it does not come back, restart the session in Titan"
    ),
    SessionVerdict.PAIR: (
        "pair the phone again (scan the session's QR code in Titan), then run groupctl again"
    ),
    SessionVerdict.STOP: "it was stopped on purpose; start it in Titan, then run groupctl again",
    SessionVerdict.BANNED: (
        "WhatsApp has temporarily banned this account: groupctl writes nothing more and retries"
        " nothing. Do not run groupctl against it until the ban is lifted (WhatsApp's app shows"
        " when); writing in bursts is what gets accounts banned"
    ),
}
_NO_REASON = "Titan gives no reason: look at the session in the Titan dashboard"


def verdict(status: str, reason: str | None) -> SessionVerdict:
    """What a run does about a session in `status` for `reason`."""
    if status.upper() == "CONNECTED":
        return SessionVerdict.PROCEED
    known = _BY_REASON.get((reason or "").upper())
    if known is not None:
        return known
    # No (known) reason: CONNECTING is on its way; DISCONNECTED needs a person.
    return SessionVerdict.WAIT if status.upper() == "CONNECTING" else SessionVerdict.STOP


def describe(name: str, status: str, reason: str | None) -> str:
    """`session 'default' is not connected (DISCONNECTED, LOGGED_OUT): pair the phone ...`."""
    shown = f"{status}, {reason}" if reason else status
    decision = verdict(status, reason)
    known = (reason or "").upper() in _BY_REASON or decision is SessionVerdict.WAIT
    return f"session {name!r} is not connected ({shown}): " + (
        _ADVICE[decision] if known else _NO_REASON
    )
