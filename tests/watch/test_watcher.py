"""`groupctl watch` as a whole: a reload of the config; as a real process, drift reported and
healed once, and no start without the webhook secret."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.config import load
from reconciler.sim.state import WorldState
from reconciler.sim.webhooks import envelope
from reconciler.watch import WatchOptions
from tests.support.processes import sim_serve, start_groupctl
from tests.support.watching import (
    LUCAS,
    TEAM,
    Clock,
    Setup,
    eventually,
    free_port,
    running,
    signed,
)

ANNOUNCEMENTS = "120363000000000101@g.us"  # the example's announcements group


async def test_a_reload_takes_the_new_config_and_a_broken_one_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="reconciler.watch")
    config = tmp_path / "groups.yaml"
    config.write_text("version: 1\ngroups:\n  team: {subject: Team, id: '" + TEAM + "'}\n")
    setup = Setup(tmp_path, WatchOptions(), Clock(), reload=lambda: load(config))
    async with running(setup):
        config.write_text(config.read_text() + "  more: {subject: More}\n")
        setup.watcher.reload()
        assert [g.key for g in setup.watcher.desired.groups] == ["team", "more"]
        config.write_text("version: 1\ngroups:\n  team: {subject: ''}\n")
        setup.watcher.reload()
        assert [g.key for g in setup.watcher.desired.groups] == ["team", "more"]  # kept
    events = [json.loads(r.getMessage())["event"] for r in caplog.records]
    assert events.count("reloaded") == 1
    assert events.count("reload_failed") == 1


# -- as real processes ---------------------------------------------------------------------------


class Lines:
    """A process's stderr, read line by line in a thread, waited on with a deadline."""

    def __init__(self, stream: Any) -> None:
        self.lines: list[str] = []
        self._ready = threading.Condition()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            with self._ready:
                self.lines.append(line)
                self._ready.notify_all()

    def wait_for(self, pattern: str, timeout: float, start: int = 0) -> tuple[int, str]:
        """The index and text of the first line from `start` on that matches."""
        deadline = time.monotonic() + timeout
        with self._ready:
            while True:
                for index in range(start, len(self.lines)):
                    if re.search(pattern, self.lines[index]):
                        return index, self.lines[index]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"no line matching {pattern!r} in {timeout} s: {self.lines}"
                    )
                self._ready.wait(left)


def metric(url: str, name: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=5).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


@pytest.mark.slow
def test_watch_reports_drift_and_heals_it_once(groupctl: str, example: Path) -> None:
    port = free_port()
    hook = f"http://127.0.0.1:{port}/webhooks/titan"
    key, secret = "watch-e2e-key-55aa10", "watch-e2e-secret-99bb20"
    hooks = ("--webhook-url", hook, "--webhook-secret", secret)
    with sim_serve(groupctl, example / "world.json", *hooks, key=key) as served:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TITAN_")},
            "TITAN_API_URL": served.url,
            "TITAN_API_KEY": key,
            "TITAN_WEBHOOK_SECRET": secret,
            "TITAN_WRITE_RATE": "unlimited",
            "NO_COLOR": "1",
        }
        done = subprocess.run(
            [groupctl, "apply", "--auto-approve"], cwd=example, env=env, capture_output=True
        )
        assert done.returncode == 0, done.stderr
        watch = start_groupctl(
            groupctl, "watch", "--listen", f"127.0.0.1:{port}", "--self-heal", cwd=example, env=env
        )
        try:
            assert watch.stdout is not None
            assert watch.stderr is not None
            assert f"listening on http://127.0.0.1:{port}" in watch.stdout.readline()
            log = Lines(watch.stderr)
            url = f"http://127.0.0.1:{port}"
            eventually(lambda: metric(url, "groupctl_group_checks_total") >= 6, 20, "a resync")
            eventually(lambda: metric(url, "groupctl_queue_groups") == 0, 20, "an empty queue")
            mark = len(log.lines)
            # Maria, another account and an admin, removes Lucas and renames the group.
            with httpx.Client(
                base_url=f"{served.url}/api/sessions/maria",
                headers={"Authorization": f"Bearer {key}"},
            ) as maria:
                group = "/groups/120363000000000101@g.us"
                maria.request("DELETE", f"{group}/participants", json={"participants": [LUCAS]})
                maria.put(f"{group}/subject", json={"value": "Hacked"})
            # Waited for as an event: how fast it comes is a speed figure, not a test's verdict
            # (a loaded machine must not fail it).
            log.wait_for(r'"event": "drift", "group": "announcements"', 15.0, mark)
            try:
                eventually(lambda: announcements(example) == ("Acme Announcements", True), 15, "")
            except AssertionError:
                raise AssertionError(f"not healed: {announcements(example)} {log.lines}") from None
            # Its own changes come back as webhooks, and are known as its own: no second round.
            own = 'groupctl_webhooks_total{result="own_change"}'
            eventually(lambda: metric(url, own) >= 1, 10, "its own changes seen")
            eventually(lambda: metric(url, "groupctl_queue_groups") == 0, 10, "an empty queue")
            drifts = metric(url, 'groupctl_drift_total{group="announcements"}')
            heals = metric(url, 'groupctl_heals_total{group="announcements",result="applied"}')
            deferred = metric(url, 'groupctl_heals_total{group="announcements",result="deferred"}')
            assert 1 <= heals <= 2  # one per change it saw, at most
            # Maria's two changes are seen in one check or in two; a second heal within the
            # backoff waits (deferred), and is checked and healed once its time comes. None of
            # the drifts comes from its own changes.
            assert drifts == heals + deferred
            watch.send_signal(signal.SIGTERM)
            assert watch.wait(timeout=20) == 0
            output = "".join(log.lines)
            assert "Traceback" not in output
            assert key not in output
            assert secret not in output
        finally:
            if watch.poll() is None:
                watch.kill()
            watch.communicate(timeout=20)  # closes its pipes


def announcements(example: Path) -> tuple[str, bool]:
    state = WorldState.model_validate_json((example / "world.json").read_text())
    group = next(g for g in state.groups if g.id == "120363000000000101@g.us")
    return group.subject, "+14155550110" in group.participants


@pytest.mark.slow
def test_sigterm_stops_watch_promptly_while_a_check_retries_an_api_that_is_gone(
    groupctl: str, example: Path
) -> None:
    """A check in progress at SIGTERM gets a few seconds, not the retries' two minutes: a
    container is killed 10 s after SIGTERM, and a watch that the API keeps waiting never got
    to say it stopped."""
    port = free_port()
    key, secret = "watch-stop-key-31ac07", "watch-stop-secret-8d2e41"
    with sim_serve(groupctl, example / "world.json", key=key) as served:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TITAN_")},
            "TITAN_API_URL": served.url,
            "TITAN_API_KEY": key,
            "TITAN_WEBHOOK_SECRET": secret,
            "NO_COLOR": "1",
        }
        # With 20 retries, a check of an API that is gone would wait out their two minutes.
        watch = start_groupctl(
            groupctl,
            "watch",
            "--listen",
            f"127.0.0.1:{port}",
            "--retries",
            "20",
            cwd=example,
            env=env,
        )
        try:
            assert watch.stdout is not None
            assert watch.stderr is not None
            assert f"listening on http://127.0.0.1:{port}" in watch.stdout.readline()
            log = Lines(watch.stderr)
            url = f"http://127.0.0.1:{port}"
            eventually(lambda: metric(url, "groupctl_group_checks_total") >= 6, 20, "a resync")
            eventually(lambda: metric(url, "groupctl_queue_groups") == 0, 20, "an empty queue")
            served.kill()  # the API is gone: its connections are refused from now on
            served.process.communicate(timeout=10)
            body = envelope("group.update", {"id": ANNOUNCEMENTS, "newSubject": "x"}, "default")
            answer = httpx.post(f"{url}/webhooks/titan", content=body, headers=signed(body, secret))
            assert answer.status_code == 202
            log.wait_for(r"retrying in", 30)  # the check is under way, and waits to try again
            watch.send_signal(signal.SIGTERM)
            # The check's grace (5 s), then it stops: not the retries' two minutes.
            assert watch.wait(timeout=30) == 0
            log.wait_for(r'"event": "check_stopped", "group": "announcements"', 5)
        finally:
            if watch.poll() is None:
                watch.kill()
            watch.communicate(timeout=20)  # closes its pipes


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        ([], "no webhook secret: set TITAN_WEBHOOK_SECRET"),
        # A wrong flag is said first, before the missing secret.
        (["--health-interval", "0.5s"], "'--health-interval': 0.5s: give 1s to 1h"),
        (["--health-interval", "2h"], "'--health-interval': 2h: give 1s to 1h"),
        (["--resync-interval", "0s"], "'--resync-interval': '0s': a duration is more than 0"),
    ],
)
def test_watch_refuses_to_start_without_its_secret_or_with_a_wrong_interval(
    groupctl: str, example: Path, flags: list[str], said: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TITAN_")}  # no secret
    done = subprocess.run(
        [groupctl, "watch", "--api", "sim:world.json", *flags],
        cwd=example,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert said in done.stderr
    if flags:  # a command-line mistake: the usage line, and nothing else looked at
        assert done.stderr.startswith("Usage: groupctl watch [OPTIONS]")
        assert "webhook secret" not in done.stderr


@pytest.mark.parametrize(
    ("listen", "said"),
    [
        (
            "127.0.0.1:99999",
            "--listen '127.0.0.1:99999': a port is 0 to 65535 (0 picks a free one)",
        ),
        ("8080", "--listen '8080': give HOST:PORT, e.g. 127.0.0.1:8080"),
    ],
)
def test_a_listen_address_that_cannot_be_is_said_as_it_is(
    groupctl: str, example: Path, listen: str, said: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TITAN_")}
    done = subprocess.run(
        [groupctl, "watch", "--api", "sim:world.json", "--listen", listen],
        cwd=example,
        env={**env, "TITAN_WEBHOOK_SECRET": "s"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (1, f"error: {said}\n")
