"""What many slow, unauthenticated connections cost `groupctl watch`: its peak memory while
CONNECTIONS clients each send a webhook's headers, part of a body, then a trickle of it.

    python bench/watch_connections.py [--connections 1000] [--burst-kib 64] [--hold 30] [--tls]

A copy of examples/ is served by `groupctl sim serve`; a `groupctl watch` (reporting only)
listens on 127.0.0.1 (with --tls, serving HTTPS with a certificate of a throwaway authority,
and the connections complete their TLS handshakes first). Then CONNECTIONS connections are
opened at once. Each sends the headers of a POST to /webhooks/titan (a wrong signature, a
Content-Length as large as watch takes), BURST KiB of body, then one byte a second, for up to
HOLD seconds or until watch answers or closes it. Reported: how watch answered, how long the
connections lasted, whether it still answered /healthz and a signed delivery during the
attack, and its peak resident memory (VmHWM of /proc/<pid>/status) before and after. Needs
Linux, `groupctl` installed and the dev extras (trustme).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import resource
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import trustme

from reconciler.sim.webhooks import envelope, sign
from reconciler.watch import MAX_BODY

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-conn-key-0123456789"
SECRET = "bench-conn-secret-0123456789"
STARTUP = 60.0  # seconds for the simulator and watch to start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--burst-kib", type=int, default=64, help="body sent at once (KiB)")
    parser.add_argument("--hold", type=float, default=30.0, help="longest trickle (s)")
    parser.add_argument("--tls", action="store_true", help="watch serves HTTPS")
    args = parser.parse_args()
    # Every connection is a file descriptor here and one in watch (which inherits the limit).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = args.connections + 256
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    groupctl = shutil.which("groupctl") or str(Path(sys.executable).with_name("groupctl"))
    with tempfile.TemporaryDirectory() as temp:
        example = Path(temp) / "examples"
        shutil.copytree(ROOT / "examples", example)
        trust = tls_files(Path(temp)) if args.tls else None
        with serving(groupctl, example, trust) as (url, pid):
            before = peak_kib(pid)
            findings = asyncio.run(attack(url, args, trust))
            peak = peak_kib(pid)
    report(args, findings, before, peak)
    return 0


@dataclass
class Trust:
    cert: Path  # watch's certificate and chain
    key: Path
    context: ssl.SSLContext  # the clients': trusts the authority that issued it


def tls_files(directory: Path) -> Trust:
    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1")
    cert, key = directory / "cert.pem", directory / "key.pem"
    cert.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    issued.private_key_pem.write_to_path(str(key))
    context = ssl.create_default_context()
    authority.configure_trust(context)
    return Trust(cert, key, context)


@contextlib.contextmanager
def serving(groupctl: str, example: Path, trust: Trust | None) -> Iterator[tuple[str, int]]:
    """`groupctl watch` (reporting only) over `groupctl sim serve`: its URL and process id,
    once it answers /healthz 200 (its first read of Titan done)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TITAN_", "GROUPCTL_"))},
        "TITAN_API_KEY": KEY,
        "TITAN_WEBHOOK_SECRET": SECRET,
        "NO_COLOR": "1",
    }
    sim = start([groupctl, "sim", "serve", "--port", "0", "--state", "world.json"], example, env)
    watch: subprocess.Popen[str] | None = None
    try:
        env["TITAN_API_URL"] = listening(sim)
        tls = ("--tls-cert", str(trust.cert), "--tls-key", str(trust.key)) if trust else ()
        watch = start([groupctl, "watch", "--listen", "127.0.0.1:0", *tls], example, env)
        url = listening(watch)
        verify: ssl.SSLContext | bool = trust.context if trust else True
        deadline = time.monotonic() + STARTUP
        while httpx.get(f"{url}/healthz", timeout=STARTUP, verify=verify).status_code != 200:
            if time.monotonic() > deadline:
                raise SystemExit("watch did not become healthy")
            time.sleep(0.1)  # polling an observable state, for a benchmark's set-up
        yield url, watch.pid
    finally:
        for process in (watch, sim):
            if process is not None and process.poll() is None:
                process.terminate()
                process.communicate(timeout=30)


def start(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )


def listening(process: subprocess.Popen[str]) -> str:
    """The URL a server process says it listens on, in its first line."""
    assert process.stdout is not None
    first = process.stdout.readline()  # "... listening on URL"
    if "listening on" not in first:
        raise SystemExit(f"{process.args!r} did not start")
    return first.split()[-1]


@dataclass
class Findings:
    endings: list[tuple[str, float]]  # per connection: what ended it, after how long
    elapsed: float
    health: str  # /healthz during the attack
    delivery: str  # a signed delivery during the attack
    after: str  # a signed delivery after it


async def attack(url: str, args: argparse.Namespace, trust: Trust | None) -> Findings:
    port = int(url.rsplit(":", 1)[1])
    context = trust.context if trust else None
    verify: ssl.SSLContext | bool = context or True
    async with httpx.AsyncClient(base_url=url, timeout=STARTUP, verify=verify) as http:
        started = time.monotonic()
        connections = [
            asyncio.create_task(slow_client(port, args.burst_kib * 1024, args.hold, context))
            for _ in range(args.connections)
        ]
        await asyncio.sleep(min(3.0, args.hold / 2))  # the attack under way
        health = await timed(http.get("/healthz"))
        delivery = await timed(deliver(http))
        endings = await asyncio.gather(*connections)
        elapsed = time.monotonic() - started
        after = await timed(deliver(http))
    return Findings(endings, elapsed, health, delivery, after)


async def slow_client(
    port: int, burst: int, hold: float, context: ssl.SSLContext | None
) -> tuple[str, float]:
    """One attacker's connection: what ended it (watch's status line, or "closed", or "held"
    when HOLD ran out first) and after how many seconds."""
    started = time.monotonic()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    except OSError as exc:
        return f"refused ({exc.strerror or exc})", 0.0
    head = (
        "POST /webhooks/titan HTTP/1.1\r\nHost: watch\r\nContent-Type: application/json\r\n"
        f"X-Webhook-Signature: sha256={'0' * 64}\r\nContent-Length: {MAX_BODY}\r\n\r\n"
    )
    answer = asyncio.create_task(reader.readline())
    try:
        writer.write(head.encode() + b" " * min(burst, MAX_BODY - 1))
        sent = min(burst, MAX_BODY - 1)
        while not answer.done() and time.monotonic() - started < hold and sent < MAX_BODY - 1:
            await asyncio.wait({answer}, timeout=1.0)
            writer.write(b" ")  # not drained: watch may have stopped reading, and that is fine
            sent += 1
        if not answer.done():
            return "held", time.monotonic() - started
        line = answer.result().decode("latin-1").strip()
        return (line.split(" ", 1)[1] if line else "closed"), time.monotonic() - started
    except OSError:
        return "closed", time.monotonic() - started
    finally:
        answer.cancel()
        writer.close()


async def deliver(http: httpx.AsyncClient) -> httpx.Response:
    """A delivery as Titan would send it: signed, of an event not seen before."""
    body = envelope("group.update", {"id": "120363000000000101@g.us"}, "default")
    signed = {"X-Webhook-Signature": sign(SECRET, body)}
    return await http.post("/webhooks/titan", content=body, headers=signed)


async def timed(request: object) -> str:
    started = time.monotonic()
    try:
        answer = await request  # type: ignore[misc]
    except httpx.HTTPError as exc:
        return f"failed ({type(exc).__name__}) after {time.monotonic() - started:.2f} s"
    return f"{answer.status_code} in {time.monotonic() - started:.2f} s"


def peak_kib(pid: int) -> int:
    """The process's peak resident set size so far (VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise SystemExit("no VmHWM in /proc/<pid>/status: Linux only")


def report(args: argparse.Namespace, found: Findings, before: int, peak: int) -> None:
    endings = collections.Counter(ending for ending, _ in found.endings)
    lasted = sorted(seconds for _, seconds in found.endings)
    print(
        f"{args.connections} slow {'TLS ' if args.tls else ''}connections to watch"
        f" /webhooks/titan (Content-Length"
        f" {MAX_BODY}, {args.burst_kib} KiB at once, then 1 byte/s, up to {args.hold:g} s):"
    )
    for ending, count in endings.most_common():
        print(f"  {count:5d}  {ending}")
    print(
        f"  connections lasted: median {statistics.median(lasted):.2f} s,"
        f" max {lasted[-1]:.2f} s (attack over after {found.elapsed:.1f} s)"
    )
    print(f"  during the attack: /healthz {found.health}; a signed delivery {found.delivery}")
    print(f"  after the attack: a signed delivery {found.after}")
    print(f"watch's peak RSS (VmHWM): {before / 1024:.1f} MiB before, {peak / 1024:.1f} MiB after")


if __name__ == "__main__":
    sys.exit(main())
