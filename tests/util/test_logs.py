"""The log formatter and `Secrets`: every spelling of a secret is hidden, whatever its
length, without blotting out the words around a short one; addresses lose their passwords."""

from __future__ import annotations

import html
import json
import logging
import re
from urllib.parse import quote, quote_plus

import pytest

from reconciler.util.logs import RedactingFormatter, Secrets, without_credentials

KEY = "k3y/9f1c+2d7e=\"<&>'\\%é"


def formatted(message: str, *secrets: str) -> str:
    record = logging.LogRecord("reconciler", logging.INFO, __file__, 1, message, (), None)
    return RedactingFormatter("%(message)s", secrets).format(record)


@pytest.mark.parametrize(
    "spelling",
    [
        KEY,
        repr(KEY),
        ascii(KEY),
        repr(KEY.encode()),  # httpx: "Illegal header value b'Bearer ...'"
        quote(KEY, safe=""),
        re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), quote(KEY, safe="")),
        quote(KEY),
        quote_plus(KEY),
        json.dumps(KEY),
        json.dumps(KEY, ensure_ascii=False),
        json.dumps(KEY).replace("/", "\\/"),
        html.escape(KEY),
    ],
)
def test_every_spelling_of_a_secret_is_hidden_from_a_log_line(spelling: str) -> None:
    line = formatted(f"failed: {spelling}!", KEY)
    assert "9f1c" not in line
    assert "2d7e" not in line
    assert line.startswith("failed: ")


def test_a_short_secret_is_hidden_where_it_stands_alone_not_inside_words() -> None:
    line = formatted("Bearer K; Kate OK, key=K&x", "K")
    assert line == "Bearer <hidden>; Kate OK, key=<hidden>&x"


def test_a_secret_holding_another_is_hidden_whole() -> None:
    secrets = Secrets(["abcdef", "xxabcdefyy"])
    assert secrets.redact("1 xxabcdefyy 2 abcdef") == "1 <hidden> 2 <hidden>"
    assert secrets.redact_bytes(b"1 xxabcdefyy 2") == b"1 <hidden> 2"


@pytest.mark.parametrize(
    ("address", "shown"),
    [
        ("https://me:hunter2@titan.test/x", "https://***@titan.test/x"),
        ("https://a@b@titan.test:99/x@y", "https://***@titan.test:99/x@y"),
        ("me:hunter2@titan.test", "***@titan.test"),
        ("https://titan.test/path@x?q=@", "https://titan.test/path@x?q=@"),
    ],
)
def test_an_address_is_shown_without_its_user_and_password(address: str, shown: str) -> None:
    assert without_credentials(address) == shown


def test_a_secret_without_letters_or_digits_is_hidden_too() -> None:
    secrets = Secrets(["%%//--!!"])
    assert secrets.redact("a %%//--!! b %25%25%2F%2F--%21%21") == "a <hidden> b <hidden>"
    assert secrets.redact_json_bytes(b'["\\u0025%//--!!"]') == b'["<hidden>"]'


def test_a_debug_line_quoting_hostile_text_starts_no_command_and_hides_nothing() -> None:
    formatter = RedactingFormatter("%(message)s", ["sk-secret-0123456789"])
    record = logging.LogRecord(
        "reconciler.titan",
        logging.DEBUG,
        __file__,
        1,
        "answer: %s",
        ("x\n::error::pwned ##[add-mask]sk-secret-0123456789 \u202eevil",),
        None,
    )
    line = formatter.format(record)
    assert "##[" not in line
    assert "\u202e" not in line
    assert not any(part.startswith("::") for part in line.split("\n"))
    assert "sk-secret" not in line
