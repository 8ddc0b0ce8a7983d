"""Logging for the CLI: `-v` shows each API call, `--debug` more; secrets never."""

from __future__ import annotations

import logging
from collections.abc import Iterable

HIDDEN = "<hidden>"


# Shorter "secrets" (a demo key such as K) would blot out ordinary words, and protect nothing.
MIN_SECRET_LENGTH = 6


class RedactingFormatter(logging.Formatter):
    """Replaces every known secret in the finished line, tracebacks included."""

    def __init__(self, fmt: str, secrets: Iterable[str]) -> None:
        super().__init__(fmt)
        # Longest first, so a secret containing another is hidden whole.
        known = {s for s in secrets if len(s) >= MIN_SECRET_LENGTH}
        self._secrets = sorted(known, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        if record.levelno >= logging.WARNING and not getattr(record, "json_line", False):
            line = f"{record.levelname.lower()}: {line}"
        for secret in self._secrets:
            line = line.replace(secret, HIDDEN)
        return line


def configure_logging(*, verbose: bool, debug: bool, secrets: Iterable[str]) -> None:
    """Log to stderr: warnings always, API calls with `verbose`, everything with `debug`."""
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(message)s", secrets))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.WARNING)
    ours = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    logging.getLogger("reconciler").setLevel(ours)
    # Their debug lines repeat ours (httpx) or say nothing a user can act on.
    for noisy in ("httpx", "httpcore", "asyncio", "uvicorn"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
