"""What watch has to say: one JSON line per thing worth knowing, for log collectors."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("reconciler.watch")


def report(event: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """`{"time": ..., "event": "drift", "group": ..., ...}` on the watch logger."""
    line = {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "level": logging.getLevelName(level).lower(),
        "event": event,
        **fields,
    }
    # Whole JSON lines: the log's "warning: " prefix would make them unreadable to machines.
    log.log(level, json.dumps(line, ensure_ascii=False, default=str), extra={"json_line": True})
