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

from reconciler.util.untrusted import shown_lines

HIDDEN = "<hidden>"

# A secret shorter than this is hidden only where it stands alone, not inside a longer run of
# letters and digits: a demo key such as K or test would otherwise blot out every word holding
# it, and the pattern of what was blotted would give it away all the same. (Titan's keys are
# ~104 characters; a key this short can be guessed whatever a log hides.) A longer one is
# hidden wherever it appears, in the middle of other text too (`code=abc<key>`).
WHOLE_WORD_BELOW = 6

_PERCENT_ESCAPE = re.compile(r"%[0-9A-F]{2}")
_ALNUM_RUN = re.compile(r"[A-Za-z0-9]+")
# A JSON escape of an ASCII letter or digit (U+0030-0039, U+0041-005A, U+0061-007A).
_ESCAPED_ALNUM = re.compile(rb"\\u00(?:3[0-9]|[46][1-9A-Fa-f]|[57][0-9Aa])")
# A URL's user name and password: after its scheme's "//" (if any), up to the last "@" before
# the path, as urlsplit reads it. Found even in text that is no valid URL.
_USERINFO = re.compile(r"^((?:[A-Za-z][A-Za-z0-9+.-]*:)?//)?[^/?#]*@")


def without_credentials(url: str) -> str:
    """`url` fit to show: a user name and password in it replaced by `***`."""
    return _USERINFO.sub(lambda m: f"{m.group(1) or ''}***@", url, count=1)


def _spellings(secret: str) -> set[str]:
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
    before = r"(?<![A-Za-z0-9])" if _is_alnum(form[0]) else ""
    after = r"(?![A-Za-z0-9])" if _is_alnum(form[-1]) else ""
    return before + escaped + after


def _is_alnum(char: str) -> bool:
    return bool(_ALNUM_RUN.fullmatch(char))


def _anchor(secret: str) -> str:
    """The longest run of ASCII letters and digits in `secret`: no spelling escapes them, so
    every spelling holds it ("" when there is none)."""
    return max(_ALNUM_RUN.findall(secret), key=len, default="")


class Secrets:
    """Known secrets, and their removal from text and bytes in every spelling of them."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._known: list[str] = []
        self._text: re.Pattern[str] | None = None
        self._bytes: re.Pattern[bytes] | None = None
        # Text without any secret's anchor holds no spelling of it: most text, found by a plain
        # search, much faster than the pattern (answers can be megabytes, of many strings).
        self._anchors: list[str] = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        if not secret or secret in self._known:
            return
        self._known.append(secret)
        self._anchors.append(_anchor(secret))
        patterns = {
            _pattern(form, whole_word=len(known) < WHOLE_WORD_BELOW)
            for known in self._known
            for form in _spellings(known)
        }
        # Longest first, so a secret containing another is hidden whole.
        alternatives = "|".join(sorted(patterns, key=len, reverse=True))
        self._text = re.compile(alternatives)
        self._bytes = re.compile(alternatives.encode())

    def redact(self, text: str) -> str:
        """`text` without any secret."""
        if self._text is None or not any(anchor in text for anchor in self._anchors):
            return text
        return self._text.sub(HIDDEN, text)

    def redact_bytes(self, content: bytes) -> bytes:
        """`content` (UTF-8) without any secret."""
        if self._bytes is None or not any(a.encode() in content for a in self._anchors):
            return content
        return self._bytes.sub(HIDDEN.encode(), content)

    def redact_json_bytes(self, content: bytes) -> bytes:
        """`content` (UTF-8, JSON or not) without any secret, however spelled: in the bytes,
        or in JSON escapes (`\\u0073...`, `\\"`) that only decoding shows."""
        content = self.redact_bytes(content)
        # Escapes can spell a secret only if the bytes hold its anchor, or spell a letter or
        # digit: nearly every answer does neither, and is not decoded here.
        if b"\\" not in content or not (
            any(anchor.encode() in content for anchor in self._anchors)
            or _ESCAPED_ALNUM.search(content)
        ):
            return content
        try:
            payload = json.loads(content)
        except (ValueError, RecursionError):
            return content  # not JSON: its bytes are all there is to read
        # Written out again without escapes of letters and digits, every anchor in any of its
        # strings shows: in C, many times faster than looking into each string.
        unescaped = json.dumps(payload, ensure_ascii=False)
        if not any(anchor in unescaped for anchor in self._anchors):
            return content
        redacted = self.redact_json(payload)
        return content if redacted == payload else json.dumps(redacted).encode()

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
    """Replaces every known secret in the finished line, tracebacks included, and shows the
    untrusted text in it safely."""

    def __init__(self, fmt: str, secrets: Iterable[str]) -> None:
        super().__init__(fmt)
        self._secrets = Secrets(secrets)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        if getattr(record, "json_line", False):  # JSON already, its strings escaped
            return self._secrets.redact(line)
        if record.levelno >= logging.WARNING:
            line = f"{record.levelname.lower()}: {line}"
        # -v and --debug lines quote WhatsApp's and the config's text: kept on their lines,
        # with no control, bidi or zero-width character and no workflow command (`##[...]`).
        return shown_lines(self._secrets.redact(line))


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
    for noisy in ("httpx", "httpcore", "asyncio", "uvicorn", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
