"""How soon `groupctl watch` reports a change made by hand: the time from the change to the
drift line on watch's stderr, over real processes and real HTTP.

    python bench/watch_latency.py [--changes 10] [--latency-ms 0]

A copy of examples/ is applied to `groupctl sim serve`, which sends Titan's signed webhooks to
a `groupctl watch` on 127.0.0.1 (reporting only, no healing). Then, CHANGES times, another
account (Maria, an admin) renames the announcements group through the API; each time is taken
from just before that call to the moment watch writes its `drift` line for the group (the
simulator delivers the webhook, watch re-reads the group, plans it and reports). LATENCY ms is
added to every API call the simulator answers. Reported: minimum, median and maximum, in
seconds. Needs `groupctl` installed (pip install .).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-watch-key-0123456789"
SECRET = "bench-watch-secret-0123456789"
GROUP = "120363000000000101@g.us"  # the example's announcements group
TIMEOUT = 60.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--latency-ms", type=int, default=0)
    args = parser.parse_args()
    groupctl = shutil.which("groupctl") or str(Path(sys.executable).with_name("groupctl"))
    with tempfile.TemporaryDirectory() as temp:
        example = Path(temp) / "examples"
        shutil.copytree(ROOT / "examples", example)
        times = measure(groupctl, example, args.changes, args.latency_ms)
    print(f"drift reported after a change by hand, {len(times)} changes:")
    print(
        f"  min {min(times):.3f} s, median {statistics.median(times):.3f} s, max {max(times):.3f} s"
    )
    return 0


def measure(groupctl: str, example: Path, changes: int, latency_ms: int) -> list[float]:
    port = free_port()
    hook = f"http://127.0.0.1:{port}/webhooks/titan"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TITAN_")},
        "TITAN_API_KEY": KEY,
        "TITAN_WEBHOOK_SECRET": SECRET,
        "TITAN_WRITE_RATE": "unlimited",
        "NO_COLOR": "1",
    }
    sim = subprocess.Popen(
        [
            *(groupctl, "sim", "serve", "--port", "0", "--state", str(example / "world.json")),
            *("--webhook-url", hook, "--webhook-secret", SECRET, "--latency-ms", str(latency_ms)),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    watch: subprocess.Popen[str] | None = None
    try:
        assert sim.stdout is not None
        api = sim.stdout.readline().split()[-1]  # "Titan simulator listening on URL"
        env["TITAN_API_URL"] = api
        applied = subprocess.run(
            [groupctl, "apply", "--auto-approve"],
            cwd=example,
            env=env,
            capture_output=True,
            text=True,
        )
        if applied.returncode != 0:
            raise SystemExit(f"apply failed: {applied.stderr}")
        watch = subprocess.Popen(
            [groupctl, "watch", "--listen", f"127.0.0.1:{port}"],
            cwd=example,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert watch.stdout is not None
        assert watch.stderr is not None
        if "listening" not in watch.stdout.readline():
            raise SystemExit("watch did not start")
        drifts = drift_lines(watch.stderr)
        wait_for_first_checks(f"http://127.0.0.1:{port}")
        times = []
        with httpx.Client(
            base_url=f"{api}/api/sessions/maria", headers={"Authorization": f"Bearer {KEY}"}
        ) as maria:
            for n in range(changes):
                while not drifts.empty():  # anything reported before this change
                    drifts.get_nowait()
                started = time.monotonic()
                answer = maria.put(f"/groups/{GROUP}/subject", json={"value": f"Drift {n}"})
                answer.raise_for_status()
                reported = drifts.get(timeout=TIMEOUT)
                times.append(reported - started)
        return times
    finally:
        for process in (watch, sim):
            if process is not None and process.poll() is None:
                process.terminate()
                process.communicate(timeout=30)


def drift_lines(stream: object) -> queue.Queue[float]:
    """When each drift line for the announcements group arrives on watch's stderr."""
    arrived: queue.Queue[float] = queue.Queue()

    def read() -> None:
        for line in stream:  # type: ignore[attr-defined]
            now = time.monotonic()
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("event") == "drift" and record.get("group") == "announcements":
                arrived.put(now)

    threading.Thread(target=read, daemon=True).start()
    return arrived


def wait_for_first_checks(url: str) -> None:
    """Until watch's first check of every group is done and its queue is empty."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        text = httpx.get(f"{url}/metrics", timeout=5).text
        values = {
            line.split()[0].split("{")[0]: float(line.split()[-1])
            for line in text.splitlines()
            if line and not line.startswith("#")
        }
        if values.get("groupctl_group_checks_total", 0) >= 1 and not values.get(
            "groupctl_queue_groups", 1
        ):
            return
        time.sleep(0.1)  # polling an observable state, for a benchmark's set-up
    raise SystemExit("watch did not finish its first checks")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


if __name__ == "__main__":
    sys.exit(main())
