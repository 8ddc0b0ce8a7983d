"""Logging for the CLI: `-v` shows each API call, `--debug` more; secrets never.

`Secrets` is the one way a secret (the API key, the webhook secret) is taken out of text: every
spelling of it that an error or a log line may carry (as it is, escaped by `repr` or by JSON,
percent-encoded, HTML-escaped), whatever its length. The log formatter uses it for every line,
and the Titan client for everything an API or proxy echoes back. `without_credentials` is how
an address that may hold a user name and password is shown.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

HIDDEN = "<hidden>"

# A secret shorter than this is hidden only where it stands alone, not inside a longer run of
# letters and digits: a demo key such as K or test would otherwise blot out every word holding
# it, and the pattern of what was blotted would give it away all the same. (Titan's keys are
# ~104 characters; a key this short can be guessed whatever a log hides.) A longer one is
# hidden wherever it appears, in the middle of other text too (`code=abc<key>`).
WHOLE_WORD_BELOW = 6

_PERCENT_ESCAPE = re.compile(r"%[0-9A-F]{2}")
# A URL's user name and password: after its scheme's "//" (if any), up to the last "@" before
# the path, as urlsplit reads it. Found even in text that is no valid URL.
_USERINFO = re.compile(r"^((?:[A-Za-z][A-Za-z0-9+.-]*:)?//)?[^/?#]*@")


def without_credentials(url: str) -> str:
    """`url` fit to show: a user name and password in it replaced by `***`."""
    return _USERINFO.sub(lambda m: f"{m.group(1) or ''}***@", url, count=1)


def spellings(secret: str) -> set[str]:
    """Every way `secret` may be written in an error or a log line."""
    percent = {quote(secret, safe=""), quote(secret), quote_plus(secret)}
    json_escaped = {json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    forms = {
        secret,
        repr(secret)[1:-1],  # an error's {key!r}
        ascii(secret)[1:-1],
        repr(secret.encode())[2:-1],  # httpx's "Illegal header value b'Bearer ...'"
        html.escape(secret),
        html.escape(secret, quote=False),
        *percent,
        # Percent escapes are read in either case: %2f is %2F.
        *(_PERCENT_ESCAPE.sub(lambda m: m.group().lower(), form) for form in percent),
        *json_escaped,
        *(form.replace("/", "\\/") for form in json_escaped),  # PHP's json_encode escapes /
    }
    return {form for form in forms if form}


def _pattern(form: str, *, whole_word: bool) -> str:
    escaped = re.escape(form)
    if not whole_word:
        return escaped
    # Only where the form itself starts or ends with a letter or digit can it run into a word.
    before = r"(?<![A-Za-z0-9])" if form[0].isalnum() else ""
    after = r"(?![A-Za-z0-9])" if form[-1].isalnum() else ""
    return before + escaped + after


class Secrets:
    """Known secrets, and their removal from text and bytes in every spelling of them."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._known: list[str] = []
        self._text: re.Pattern[str] | None = None
        self._bytes: re.Pattern[bytes] | None = None
        self._encoded: list[bytes] = []  # every spelling, to skip the pattern when none is there
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        if not secret or secret in self._known:
            return
        self._known.append(secret)
        forms = {
            (form, len(known) < WHOLE_WORD_BELOW)
            for known in self._known
            for form in spellings(known)
        }
        self._encoded = [form.encode() for form, _ in forms]
        patterns = {_pattern(form, whole_word=whole_word) for form, whole_word in forms}
        # Longest first, so a secret containing another is hidden whole.
        alternatives = "|".join(sorted(patterns, key=len, reverse=True))
        self._text = re.compile(alternatives)
        self._bytes = re.compile(alternatives.encode())

    def redact(self, text: str) -> str:
        """`text` without any secret."""
        return text if self._text is None else self._text.sub(HIDDEN, text)

    def redact_bytes(self, content: bytes) -> bytes:
        """`content` (UTF-8) without any secret."""
        # An answer can be megabytes: a plain search for each spelling is much faster than
        # the pattern, and nearly always finds none.
        if self._bytes is None or not any(form in content for form in self._encoded):
            return content
        return self._bytes.sub(HIDDEN.encode(), content)

    def redact_json(self, value: Any) -> Any:
        """`value` (decoded JSON) with every secret taken out of every string in it."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, list):
            return [self.redact_json(item) for item in value]
        if isinstance(value, dict):
            return {self.redact(str(k)): self.redact_json(v) for k, v in value.items()}
        return value


class RedactingFormatter(logging.Formatter):
    """Replaces every known secret in the finished line, tracebacks included."""

    def __init__(self, fmt: str, secrets: Iterable[str]) -> None:
        super().__init__(fmt)
        self._secrets = Secrets(secrets)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        if record.levelno >= logging.WARNING and not getattr(record, "json_line", False):
            line = f"{record.levelname.lower()}: {line}"
        return self._secrets.redact(line)


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
