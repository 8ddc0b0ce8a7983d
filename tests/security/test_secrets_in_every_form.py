"""Secrets in every form, through the installed CLI: a key that cannot be sent as it is is
refused before any call (one final line break is removed, with a warning); a key or webhook
secret an API quotes back in any spelling (repr, bytes repr, percent-encoded in either case,
JSON-escaped, HTML-escaped) is hidden from every message and --debug line, short keys
included; an API address's user name and password are refused and never shown."""

from __future__ import annotations

import html
import json
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from tests.support.processes import run_groupctl, sim_serve

# Every character that some spelling changes; "9f1c" and "2d7e" are in no other text.
KEY = "sekrit/9f1c+2d7e=\"<&>'\\%x"
# A webhook secret is not sent in a header: any character may be in it.
SECRET = "hook/5b8a+3e61=\"<&>'\\%é\u200b"
FRAGMENTS = ("9f1c", "2d7e", "5b8a", "3e61")

# Answers: (status, JSON body) for the method, path and request body a fake Titan received.
Answer = Callable[[str, str, dict[str, str], bytes], tuple[int, Any]]


def quoted_back(secret: str) -> str:
    """`secret` as a careless API or proxy might quote it back: in every spelling at once."""
    percent = quote(secret, safe="")
    return " | ".join(
        [
            secret,
            repr(secret),
            ascii(secret),
            repr(secret.encode()),
            percent,
            re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), percent),
            quote_plus(secret),
            json.dumps(secret),
            json.dumps(secret, ensure_ascii=False),
            html.escape(secret),
        ]
    )


def bearer(headers: dict[str, str]) -> str:
    return headers.get("Authorization", "").removeprefix("Bearer ")


@pytest.fixture
def fake_titan() -> Iterator[Callable[[Answer], str]]:
    """Starts an HTTP server on 127.0.0.1 that answers as told; returns its address."""
    servers: list[ThreadingHTTPServer] = []

    def start(answer: Answer) -> str:
        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, data = answer(self.command, self.path, dict(self.headers), body)
                content = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def shown(text: str) -> list[str]:
    """The fragments of the key or the secret that `text` shows."""
    return [fragment for fragment in FRAGMENTS if fragment in text]


def test_a_key_quoted_back_in_any_spelling_is_hidden_from_messages_and_debug_lines(
    groupctl: str, example: Path, fake_titan: Callable[[Answer], str]
) -> None:
    def refuse(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        return 401, {"error": f"invalid API key {quoted_back(bearer(headers))}"}

    env = {"TITAN_API_URL": fake_titan(refuse), "TITAN_API_KEY": KEY}
    for args in (["plan", "--debug"], ["status", "-v"], ["apply", "--auto-approve", "--debug"]):
        done = run_groupctl(groupctl, *args, env=env, cwd=example)
        assert done.returncode == 1
        assert "HTTP 401: invalid API key <hidden>" in done.stderr
        assert "Traceback" not in done.stderr
        assert shown(done.stdout + done.stderr) == [], done.stderr


def test_a_webhook_secret_quoted_back_in_any_spelling_is_hidden(
    groupctl: str, example: Path, fake_titan: Callable[[Answer], str]
) -> None:
    def refuse_the_secret(
        method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any]:
        if (method, path) == ("POST", "/api/webhooks"):
            secret = json.loads(body)["hmacKey"]
            return 400, {"error": f"hmacKey {quoted_back(secret)} is too weak"}
        return 404, {"error": "not found"}

    env = {
        "TITAN_API_URL": fake_titan(refuse_the_secret),
        "TITAN_API_KEY": "watch-key-0c41a7",
        "TITAN_WEBHOOK_SECRET": SECRET,
    }
    hook = "https://watch.example.com/webhooks/titan"
    watch = ["--debug", "watch", "--listen", "127.0.0.1:0", "--register", hook]
    done = run_groupctl(groupctl, *watch, env=env, cwd=example)
    assert done.returncode == 1
    assert "HTTP 400: hmacKey <hidden>" in done.stderr
    assert "request body:" in done.stderr  # the registration was logged at --debug...
    assert shown(done.stdout + done.stderr) == [], done.stderr  # ...without the secret


def test_a_short_key_is_hidden_where_it_stands_alone_and_words_stay_whole(
    groupctl: str, example: Path, fake_titan: Callable[[Answer], str]
) -> None:
    def refuse(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        return 401, {"error": f"key {bearer(headers)} refused; see the tab1e of keys"}

    env = {"TITAN_API_URL": fake_titan(refuse), "TITAN_API_KEY": "ab1"}
    done = run_groupctl(groupctl, "status", "--debug", env=env, cwd=example)
    assert done.returncode == 1
    assert "HTTP 401: key <hidden> refused; see the tab1e of keys" in done.stderr
    assert " ab1 " not in done.stderr


@pytest.mark.parametrize("line_break", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_one_final_line_break_is_removed_from_the_key_with_a_warning(
    groupctl: str, example: Path, line_break: str
) -> None:
    with sim_serve(groupctl, example / "world.json", "-v", key=KEY) as served:
        env = {"TITAN_API_URL": served.url, "TITAN_API_KEY": KEY + line_break}
        done = run_groupctl(groupctl, "plan", "--debug", env=env, cwd=example)
        _, sim_log = served.stop()
    assert done.returncode == 0, done.stderr
    assert "warning: the API key ended in a line break, which is not part of it" in done.stderr
    assert "GET /api/sessions/default" in sim_log
    assert shown(done.stdout + done.stderr + sim_log) == []


@pytest.mark.parametrize(
    ("key", "described"),
    [
        (KEY + "\n\n", "a line break (U+000A) at character 26 of 26"),
        (KEY + "\r", "a carriage return (U+000D) at character 26 of 26"),
        ("\t" + KEY, "a tab (U+0009) at character 1 of 26"),
        (KEY.replace("=", " "), "a space (U+0020) at character 17 of 25"),
        (KEY.replace("=", "\x1b"), "a control character (U+001B) at character 17 of 25"),
        (KEY.replace("=", "\u200b"), "a non-ASCII character (U+200B) at character 17 of 25"),
        (KEY.replace("=", "é"), "a non-ASCII character (U+00E9) at character 17 of 25"),
    ],
    ids=["two-line-breaks", "cr", "tab", "space", "escape", "zero-width", "accent"],
)
def test_a_key_that_cannot_be_sent_as_it_is_is_refused_before_any_call(
    groupctl: str, example: Path, key: str, described: str
) -> None:
    with sim_serve(groupctl, example / "world.json", "-v", key=KEY) as served:
        env = {"TITAN_API_URL": served.url, "TITAN_API_KEY": key}
        outputs = []
        for args in (["plan", "--debug"], ["apply", "--auto-approve"], ["import", "--all"]):
            done = run_groupctl(groupctl, *args, env=env, cwd=example)
            assert done.returncode == 1
            assert f"error: the API key has {described}, which no Titan key has" in done.stderr
            assert "Traceback" not in done.stderr
            outputs.append(done.stdout + done.stderr)
        _, sim_log = served.stop()
    assert "/api/" not in sim_log  # nothing was sent
    assert shown("".join(outputs)) == []


@pytest.mark.parametrize(
    "address",
    [
        "http://alice-login:hunter2-pw@127.0.0.1:9",
        "https://alice-login:hunter2-pw@titan.example:notaport",
        "https://alice-login:hunter2-pw@titan.example/api",
        "alice-login:hunter2-pw@titan.example",
        "https://alice-login@hunter2-pw@titan.example/",
    ],
    ids=["valid", "bad-port", "ends-in-api", "no-scheme", "two-at-signs"],
)
def test_an_api_address_with_a_user_and_password_is_refused_without_showing_them(
    groupctl: str, example: Path, address: str
) -> None:
    env = {"TITAN_API_URL": address, "TITAN_API_KEY": "some-api-key-81b2"}
    for args in (["plan", "-v"], ["status", "--debug"], ["--debug", "import", "--all"]):
        done = run_groupctl(groupctl, *args, env=env, cwd=example)
        assert done.returncode == 1
        assert "***@titan.example" in done.stderr or "***@127.0.0.1" in done.stderr
        assert "has a user name or password in it, which groupctl never sends" in done.stderr
        assert "hunter2" not in done.stdout + done.stderr
        assert "alice-login" not in done.stdout + done.stderr
