"""The API key and the webhook secret appear nowhere groupctl writes: not in stdout, stderr,
logs at --debug, plan files, reports, imported configs or state files, on success or on the
error paths (401, 500, a timeout)."""

from __future__ import annotations

import hashlib
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reconciler.sim.webhooks import envelope, sign
from reconciler.util.serving import bind
from tests.support.processes import ServedSim, run_groupctl, sim_serve, start_groupctl

ROOT = Path(__file__).parent.parent.parent
KEY = "sekrit-api-key-9f1c2d7e"
SECRET = "sekrit-webhook-5b8a3e61"
WRONG = "wrong-api-key-3d7f0a19"


def leaks(text: str) -> list[str]:
    """The secrets (or their common encodings) found in `text`."""
    found = []
    for secret in (KEY, SECRET, WRONG):
        for form in (secret, secret.encode().hex(), hashlib.sha256(secret.encode()).hexdigest()):
            if form in text:
                found.append(form)
    return found


Received = list[tuple[dict[str, str], bytes]]


@pytest.fixture
def served(groupctl: str, example: Path, receiver: tuple[str, Received]) -> Iterator[ServedSim]:
    hooks = ("--webhook-url", receiver[0], "--webhook-secret", SECRET)
    with sim_serve(groupctl, example / "world.json", *hooks, "-v", key=KEY) as running:
        yield running


def everything_written(example: Path) -> str:
    """Every file in the working directory, as text."""
    return "".join(
        path.read_text(errors="replace") for path in sorted(example.rglob("*")) if path.is_file()
    )


def test_no_command_reveals_the_key_or_the_webhook_secret(
    groupctl: str, example: Path, served: ServedSim, receiver: tuple[str, Received]
) -> None:
    env = {
        "TITAN_API_URL": served.url,
        "TITAN_API_KEY": KEY,
        "TITAN_WEBHOOK_SECRET": SECRET,
        "TITAN_WRITE_RATE": "unlimited",
    }
    runs = [
        ["--debug", "validate"],
        ["--debug", "status"],
        ["plan", "--debug"],
        ["plan", "--debug", "--format", "markdown"],
        ["plan", "--debug", "--format", "json", "--out", "plan.json"],
        ["apply", "plan.json", "--debug", "--auto-approve", "--format", "json"],
        ["apply", "--debug", "--auto-approve", "--write-ids"],
        ["--debug", "import", "--all", "-o", "imported.yaml"],
        ["--debug", "diff", "groups.yaml", "imported.yaml"],
        ["plan", "--debug", "--api-key", KEY],  # given as a flag too
    ]
    outputs = []
    for args in runs:
        done = run_groupctl(groupctl, *args, env=env, cwd=example)
        assert done.returncode == 0, (args, done.stderr)
        outputs.append(done.stdout + done.stderr)
    assert any("Authorization" in out or "GET /api/sessions" in out for out in outputs)
    _, sim_log = served.stop()
    assert "/api/sessions" in sim_log  # the simulator logged the requests it served
    assert leaks("\n".join(outputs)) == []
    assert leaks(sim_log) == []
    assert leaks(everything_written(example)) == []
    deliveries = receiver[1]
    assert deliveries  # the simulator signed and sent webhooks with the secret...
    assert leaks("".join(str(headers) + body.decode() for headers, body in deliveries)) == []
    assert (example / "plan.json").exists()
    assert (example / ".groupctl-state.json").exists()


@pytest.mark.parametrize(
    ("sim_args", "client_key", "expected"),
    [
        ((), WRONG, "HTTP 401"),
        (("--fault-rate", "500=1", "--seed", "1"), KEY, "HTTP 500"),
    ],
    ids=["401", "500"],
)
def test_error_paths_reveal_no_secret(
    groupctl: str, example: Path, sim_args: tuple[str, ...], client_key: str, expected: str
) -> None:
    with sim_serve(groupctl, example / "world.json", *sim_args, "-v", key=KEY) as served:
        env = {"TITAN_API_URL": served.url, "TITAN_API_KEY": client_key}
        outputs = []
        for args in (["plan", "--debug"], ["apply", "--debug", "--auto-approve"], ["status", "-v"]):
            # One retry: its warning is an error path too; more would only wait longer.
            quick = ("--timeout", "2", "--retries", "1")
            done = run_groupctl(groupctl, *args, *quick, env=env, cwd=example)
            assert done.returncode == 1
            assert expected in done.stderr
            assert "Traceback" not in done.stderr
            outputs.append(done.stdout + done.stderr)
        _, sim_log = served.stop()
    assert leaks("\n".join(outputs) + sim_log + everything_written(example)) == []


def test_a_timeout_reveals_no_secret(groupctl: str, example: Path) -> None:
    # A server that accepts connections and never answers.
    silent = bind("127.0.0.1", 0)
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        env = {"TITAN_API_URL": url, "TITAN_API_KEY": KEY}
        done = run_groupctl(groupctl, "status", "--debug", "--timeout", "0.3", env=env, cwd=example)
    finally:
        silent.close()
    assert done.returncode == 1
    assert "timed out" in done.stderr or "no answer" in done.stderr
    assert "Traceback" not in done.stderr
    assert leaks(done.stdout + done.stderr) == []


def test_watch_reveals_no_secret(groupctl: str, example: Path, served: ServedSim) -> None:
    port = bind("127.0.0.1", 0)
    number = port.getsockname()[1]
    port.close()
    env = {
        "TITAN_API_URL": served.url,
        "TITAN_API_KEY": KEY,
        "TITAN_WEBHOOK_SECRET": SECRET,
        "PATH": "/usr/bin:/bin",
        "NO_COLOR": "1",
    }
    watch = start_groupctl(
        groupctl, "--debug", "watch", "--listen", f"127.0.0.1:{number}", cwd=example, env=env
    )
    try:
        assert watch.stdout is not None
        assert "listening" in watch.stdout.readline()
        body = envelope(
            "group.participant", {"id": "120363000000000101@g.us", "left": []}, "default"
        )
        with httpx.Client(base_url=f"http://127.0.0.1:{number}") as http:
            checked = 0.0
            deadline = time.monotonic() + 30
            while checked < 6 and time.monotonic() < deadline:  # its first resync, done
                metrics = http.get("/metrics").text
                checked = sum(
                    float(line.split()[-1])
                    for line in metrics.splitlines()
                    if line.startswith("groupctl_group_checks_total")
                )
            signed = http.post(
                "/webhooks/titan", content=body, headers={"X-Webhook-Signature": sign(SECRET, body)}
            )
            forged = http.post(
                "/webhooks/titan", content=body, headers={"X-Webhook-Signature": sign(WRONG, body)}
            )
            assert (signed.status_code, forged.status_code) == (202, 401)
            assert leaks(http.get("/metrics").text + http.get("/healthz").text) == []
        watch.send_signal(signal.SIGTERM)
        out, err = watch.communicate(timeout=20)
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.communicate()
    assert watch.returncode == 0, err
    assert leaks(out + err) == []


def test_watch_register_reveals_no_secret(groupctl: str, example: Path, served: ServedSim) -> None:
    env = {
        "TITAN_API_URL": served.url,
        "TITAN_API_KEY": KEY,
        "TITAN_WEBHOOK_SECRET": SECRET,
        "PATH": "/usr/bin:/bin",
        "NO_COLOR": "1",
    }
    hook = "https://watch.example.com/webhooks/titan"
    outputs = []
    for _ in range(2):  # registered, then found registered
        watch = start_groupctl(
            groupctl,
            "--debug",
            "watch",
            "--listen",
            "127.0.0.1:0",
            "--register",
            hook,
            cwd=example,
            env=env,
        )
        try:
            assert watch.stdout is not None
            first = watch.stdout.readline()
            assert "listening" in first
            httpx.get(f"{first.split()[-1]}/healthz", timeout=30)  # serving: handlers in place
            watch.send_signal(signal.SIGTERM)
            out, err = watch.communicate(timeout=20)
        finally:
            if watch.poll() is None:
                watch.kill()
                watch.communicate()
        assert watch.returncode == 0, err
        outputs.append(first + out + err)
    assert "POST /api/webhooks" in outputs[0]  # the registration was logged...
    assert "hmacKey" in outputs[0]
    assert "already registered" in outputs[1]
    listed = httpx.get(f"{served.url}/api/webhooks", headers={"Authorization": f"Bearer {KEY}"})
    assert listed.json()["data"][0]["url"] == hook
    _, sim_log = served.stop()
    assert leaks("\n".join(outputs)) == []  # ...without the secret
    assert leaks(sim_log + listed.text) == []
    # The simulator's world file is Titan's side: it keeps the key, as Titan does.
    written = "".join(
        path.read_text(errors="replace")
        for path in sorted(example.rglob("*"))
        if path.is_file() and path.name != "world.json"
    )
    assert leaks(written) == []
