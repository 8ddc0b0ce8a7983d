"""What watch knows of its session's state, and what that allows.

Titan reports every change of a session's state (`session.status` webhooks); watch reads the
session every 10 s too (for /healthz), and a call the client stopped because the session was
found not connected says the same. While the session is not CONNECTED, healing pauses: drift
is still reported, but nothing is written. CONNECTED again, healing resumes. A TEMPORARY_BAN
stops healing for good, until watch is restarted by someone who knows the ban is over: writing
to a banned account is what makes bans longer.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from reconciler.titan.sessions import SessionVerdict, describe, verdict
from reconciler.watch.metrics import Metrics
from reconciler.watch.reporting import report


class SessionState:
    """The session's last known state. Assumed connected until told otherwise."""

    def __init__(self, name: str, metrics: Metrics) -> None:
        self.name = name
        self.status = "CONNECTED"
        self.reason: str | None = None
        self.paused = False  # not connected: healing waits
        self.stopped: str | None = None  # why healing stopped for good (a ban)
        self._metrics = metrics
        self._show()

    @property
    def healing(self) -> bool:
        """Whether heals may be written now."""
        return not self.paused and self.stopped is None

    @property
    def why_not(self) -> str:
        """Why heals are not written, for reports."""
        return self.stopped or describe(self.name, self.status, self.reason)

    def seen(self, status: str, reason: str | None) -> Literal["paused", "resumed"] | None:
        """The session is in `status` now. Says when healing just paused, or just resumed
        (then the caller checks every group again)."""
        self.status, self.reason = status.upper(), reason
        self._show()
        if self.stopped is not None:
            return None  # only a restart lifts a ban
        decision = verdict(self.status, reason)
        why = describe(self.name, self.status, reason)
        if decision is SessionVerdict.BANNED:
            self.stopped = why
            self._pause(
                "healing_stopped",
                logging.ERROR,
                error=f"{self.stopped}; watch heals nothing more until it is restarted",
            )
            return None
        if decision is SessionVerdict.PROCEED:
            if not self.paused:
                return None
            self.paused = False
            self._metrics.healing_paused.set(0)
            report("healing_resumed", session=self.name, status=self.status)
            return "resumed"
        if self.paused:
            return None
        self._pause("healing_paused", logging.WARNING, advice=why)
        return "paused"

    def _pause(self, event: str, level: int, **said: str) -> None:
        self.paused = True
        self._metrics.healing_paused.set(1)
        report(
            event, level=level, session=self.name, status=self.status, reason=self.reason, **said
        )

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "statusReason": self.reason}

    def _show(self) -> None:
        self._metrics.session_connected.set(1 if self.status == "CONNECTED" else 0)
        self._metrics.session_status.clear()
        self._metrics.session_status.labels(self.status, self.reason or "").set(1)
