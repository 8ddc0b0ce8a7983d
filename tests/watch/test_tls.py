"""`groupctl watch --tls-cert/--tls-key` serves HTTPS itself (Titan delivers only to HTTPS),
and the simulator's signed deliveries reach it over TLS, on real sockets."""

from __future__ import annotations

import os
import signal
import ssl
from pathlib import Path

import httpx
import pytest
import trustme

from tests.support.processes import run_groupctl, sim_serve, start_groupctl
from tests.support.watching import LUCAS, eventually, free_port

KEY, SECRET = "tls-key-4e1d2c", "tls-secret-0a9b8c"


class Tls:
    def __init__(self, directory: Path) -> None:
        ca = trustme.CA()
        issued = ca.issue_cert("127.0.0.1", "localhost")
        self.ca = directory / "ca.pem"
        self.cert = directory / "cert.pem"
        self.key = directory / "key.pem"
        ca.cert_pem.write_to_path(str(self.ca))
        self.cert.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
        issued.private_key_pem.write_to_path(str(self.key))
        self.cert_pem = issued.cert_chain_pems[0].bytes().decode()


@pytest.fixture
def tls(tmp_path: Path) -> Tls:
    return Tls(tmp_path)


@pytest.mark.slow
def test_watch_serves_https_and_takes_signed_deliveries_over_it(
    groupctl: str, example: Path, tls: Tls
) -> None:
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    hooks = ("--webhook-url", f"{url}/webhooks/titan", "--webhook-secret", SECRET)
    # The simulator trusts the test's authority, as Titan trusts a public one.
    trust = {"SSL_CERT_FILE": str(tls.ca)}
    with sim_serve(groupctl, example / "world.json", *hooks, key=KEY, env=trust) as served:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TITAN_")},
            "TITAN_API_URL": served.url,
            "TITAN_API_KEY": KEY,
            "TITAN_WEBHOOK_SECRET": SECRET,
            "NO_COLOR": "1",
        }
        tls_flags = ["--tls-cert", str(tls.cert), "--tls-key", str(tls.key)]
        watch = start_groupctl(
            groupctl, "watch", "--listen", f"127.0.0.1:{port}", *tls_flags, cwd=example, env=env
        )
        try:
            assert watch.stdout is not None
            assert f"listening on {url}" in watch.stdout.readline()
            verified = ssl.create_default_context(cafile=str(tls.ca))
            with httpx.Client(base_url=url, verify=verified, timeout=10) as https:
                # Its first resync done: every group checked once.
                eventually(lambda: metric_of(https, "groupctl_group_checks_total") >= 6, 30, "")
                assert ssl.get_server_certificate(("127.0.0.1", port)) == tls.cert_pem
                with pytest.raises(httpx.HTTPError):
                    httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)  # plain HTTP
                with httpx.Client(
                    base_url=f"{served.url}/api/sessions/maria",
                    headers={"Authorization": f"Bearer {KEY}"},
                ) as maria:
                    group = "/groups/120363000000000101@g.us"
                    removed = maria.request(
                        "DELETE", f"{group}/participants", json={"participants": [LUCAS]}
                    )
                    assert removed.status_code == 200
                queued = 'groupctl_webhooks_total{result="queued"}'
                eventually(lambda: metric_of(https, queued) >= 1, 15, "a delivery over TLS")
            watch.send_signal(signal.SIGTERM)
            _, err = watch.communicate(timeout=20)
            assert watch.returncode == 0, err
            assert "Traceback" not in err
        finally:
            if watch.poll() is None:
                watch.kill()
                watch.communicate(timeout=20)


def metric_of(https: httpx.Client, name: str) -> float:
    text = https.get("/metrics").text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def test_watch_refuses_tls_files_it_cannot_use(groupctl: str, example: Path, tls: Tls) -> None:
    env = {"TITAN_API_URL": "sim:world.json", "TITAN_WEBHOOK_SECRET": SECRET}
    cases = [
        (["--tls-cert", str(tls.cert)], "--tls-cert and --tls-key go together"),
        (["--tls-cert", str(tls.cert), "--tls-key", str(tls.ca)], "not a usable certificate"),
        (["--tls-cert", str(tls.key), "--tls-key", str(tls.key)], "not a usable certificate"),
    ]
    for flags, says in cases:
        done = run_groupctl(
            groupctl, "watch", "--listen", "127.0.0.1:0", *flags, env=env, cwd=example
        )
        assert done.returncode == 1, flags
        assert says in done.stderr
        assert "Traceback" not in done.stderr
