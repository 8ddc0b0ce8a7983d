"""Logging for the CLI: `-v` shows each API call, `--debug` more; secrets never."""

from __future__ import annotations

import logging
from collections.abc import Iterable

HIDDEN = "<hidden>"


class RedactingFormatter(logging.Formatter):
    """Replaces every known secret in the finished line, tracebacks included."""

    def __init__(self, fmt: str, secrets: Iterable[str]) -> None:
        super().__init__(fmt)
        # Longest first, so a secret containing another is hidden whole.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        for secret in self._secrets:
            line = line.replace(secret, HIDDEN)
        return line


def configure_logging(*, verbose: bool, debug: bool, secrets: Iterable[str]) -> None:
    """Log to stderr: warnings always, API calls with `verbose`, everything with `debug`."""
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s", secrets))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.WARNING)
    ours = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    logging.getLogger("reconciler").setLevel(ours)
