"""What watch has to say: one JSON line per thing worth knowing, for log collectors."""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("reconciler.watch")

# The session a task's reports are about, in a watch of several sessions: set in each
# session's worker task, whose heals inherit it.
_session: ContextVar[str | None] = ContextVar("reported_session", default=None)


def about_session(name: str) -> None:
    """From now on in this task, every report names the session `name` (unless it names one
    itself)."""
    _session.set(name)


def report(event: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """`{"time": ..., "event": "drift", "group": ..., ...}` on the watch logger."""
    session = _session.get()
    line = {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "level": logging.getLevelName(level).lower(),
        "event": event,
        **({"session": session} if session is not None else {}),
        **fields,
    }
    # Whole JSON lines: the log's "warning: " prefix would make them unreadable to machines.
    log.log(level, json.dumps(line, ensure_ascii=False, default=str), extra={"json_line": True})
