"""`groupctl sim serve`: the seed page's curl examples, keys, and a world that survives SIGKILL."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.sim.state import Account, Person, WorldState
from reconciler.sim.webhooks import sign
from tests.support.processes import sim_serve

KEY = "K-sim-serve-test-41d0"
JOINER = "+14155550155"


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """A world with the default account and a second one that joins by invite."""
    world = WorldState(
        people=[Person(phone="+14155550100"), Person(phone=JOINER)],
        accounts=[
            Account(session="default", phone="+14155550100"),
            Account(session="joiner", phone=JOINER),
        ],
    )
    path = tmp_path / "w.json"
    path.write_text(world.model_dump_json())
    return path


class Curl:
    """Runs the seed page's curl examples with the host swapped for the simulator's."""

    def __init__(self, base: str) -> None:
        self.base = base

    def __call__(self, method: str, path: str, body: object = None) -> dict[str, Any]:
        command = [
            "curl",
            "-X",
            method,
            f"{self.base}/api/sessions/{path}",
            "-H",
            f"Authorization: Bearer {KEY}",
        ]
        if body is not None:
            command += ["-H", "Content-Type: application/json", "-d", json.dumps(body)]
        done = subprocess.run(
            [*command, "--silent", "--show-error", "--write-out", "\n%{http_code}"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        answer, _, status = done.stdout.rpartition("\n")
        return {"status": int(status), "body": json.loads(answer)}


# The seed page's examples: (method, path under /api/sessions/, body), its example JIDs made real.
CREATE = (
    "POST",
    "default/groups",
    {
        "name": "Team Updates",
        "participants": ["14155550101@s.whatsapp.net", "14155550102@s.whatsapp.net"],
    },
)
SUBJECT = ("PUT", "default/groups/{group}/subject", {"value": "New Group Name"})
DESCRIPTION = (
    "PUT",
    "default/groups/{group}/description",
    {"value": "Weekly team sync — every Monday at 10 AM"},
)
PICTURE = ("PUT", "default/groups/{group}/picture", {"url": "{picture}"})
ADD = (
    "POST",
    "default/groups/{group}/participants",
    {"participants": ["14155550103@s.whatsapp.net"]},
)
PROMOTE = (
    "POST",
    "default/groups/{group}/participants/promote",
    {"participants": ["14155550103@s.whatsapp.net"]},
)
JOIN = ("POST", "joiner/groups/join", {"code": "{code}"})


def fill(example: tuple[str, str, Any], **values: str) -> tuple[str, str, Any]:
    method, path, body = example
    text = json.dumps(body)
    for name, value in values.items():
        path, text = path.replace(f"{{{name}}}", value), text.replace(f"{{{name}}}", value)
    return method, path, json.loads(text)


def test_every_seed_example_succeeds_with_the_documented_shape(
    groupctl: str, state: Path, png_url: str
) -> None:
    with sim_serve(groupctl, state, key=KEY) as served:
        curl = Curl(served.url)
        created = curl(*CREATE)
        assert created["status"] == 201
        data = created["body"]["data"]
        group = data["id"]
        assert {"id", "name", "description", "createdAt", "ownerLid", "participants"} <= set(data)
        assert data["name"] == "Team Updates"
        assert [g["id"] for g in curl("GET", "default/groups")["body"]["data"]] == [group]

        for example in (SUBJECT, DESCRIPTION, PICTURE):
            answer = curl(*fill(example, group=group, picture=png_url))
            assert (answer["status"], answer["body"]) == (200, {"data": {"success": True}})
        added = curl(*fill(ADD, group=group))
        assert added["body"]["data"]["results"] == [
            {"jid": "14155550103@s.whatsapp.net", "status": 200}
        ]
        method, promote, body = fill(PROMOTE, group=group)
        assert curl(method, promote, body)["body"]["data"]["results"][0]["status"] == 200
        demote = promote.replace("/promote", "/demote")
        assert curl(method, demote, body)["body"]["data"]["results"][0]["status"] == 200
        _, participants_path, body = fill(ADD, group=group)
        removed = curl("DELETE", participants_path, body)  # "the same participants array"
        assert removed["body"]["data"]["results"][0]["status"] == 200

        info = curl("GET", f"default/groups/{group}")["body"]["data"]
        assert (info["name"], info["description"]) == (
            "New Group Name",
            "Weekly team sync — every Monday at 10 AM",
        )
        listed = curl("GET", participants_path)["body"]["data"]
        assert {tuple(sorted(p)) for p in listed} == {
            ("isAdmin", "isSuperAdmin", "lid", "phoneNumber")
        }
        # Titan shows no group picture (the route answers as one it lacks); the world has it.
        assert curl("GET", f"default/groups/{group}/picture")["status"] == 404
        kept = WorldState.model_validate_json(state.read_text())
        assert kept.groups[0].picture in kept.pictures

        code = curl("GET", f"default/groups/{group}/invite")["body"]["data"]["code"]
        preview = curl("GET", f"default/groups/join?inviteCode={code}")["body"]["data"]
        assert (preview["subject"], preview["size"]) == ("New Group Name", 3)
        assert curl(*fill(JOIN, code=code))["body"] == {"data": {"id": group}}
        new_code = curl("DELETE", f"default/groups/{group}/invite")["body"]["data"]["code"]
        assert new_code != code

        assert curl("POST", f"joiner/groups/{group}/leave")["status"] == 200
        assert curl("DELETE", f"default/groups/{group}")["status"] == 200
        assert curl("GET", "default/groups")["body"]["data"] == []


def test_a_wrong_key_gets_401_with_a_json_error_body(groupctl: str, state: Path) -> None:
    with sim_serve(groupctl, state, key=KEY) as served:
        answer = httpx.get(
            f"{served.url}/api/sessions/default/groups",
            headers={"Authorization": "Bearer not-the-key"},
        )
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/json"
        assert answer.json()["error"] == "missing or invalid API key"


def test_every_change_survives_sigkill(groupctl: str, state: Path) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    with sim_serve(groupctl, state, key=KEY) as served:
        api = f"{served.url}/api/sessions/default"
        ids = []
        for n in range(5):
            made = httpx.post(
                f"{api}/groups", headers=headers, json={"name": f"Group {n}", "participants": []}
            )
            ids.append(made.json()["data"]["id"])
        httpx.put(f"{api}/groups/{ids[0]}/subject", headers=headers, json={"value": "Renamed"})
        httpx.post(
            f"{api}/groups/{ids[1]}/participants",
            headers=headers,
            json={"participants": ["14155550101@s.whatsapp.net"]},
        )
        served.kill()
    saved = WorldState.model_validate_json(state.read_text())
    subjects = {g.id: g.subject for g in saved.groups}
    assert subjects == {ids[0]: "Renamed", **{i: f"Group {n}" for n, i in enumerate(ids) if n > 0}}
    assert "+14155550101" in next(g for g in saved.groups if g.id == ids[1]).participants


def test_the_key_never_appears_in_what_sim_serve_prints(groupctl: str, state: Path) -> None:
    with sim_serve(groupctl, state, "-v", key=KEY) as served:
        httpx.get(
            f"{served.url}/api/sessions/default/groups", headers={"Authorization": f"Bearer {KEY}"}
        )
        out, err = served.stop()
    assert "GET /api/sessions/default/groups -> 200" in err
    assert KEY not in out + err
    assert KEY not in state.read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--webhook-url", "http://127.0.0.1:9/h"], "--webhook-url needs --webhook-secret"),
        (
            ["--webhook-url", "http://127.0.0.1:99999/h", "--webhook-secret", "s"],
            "is not a webhook URL",
        ),
        (["--read-only-key", KEY], "--read-only-key must differ from --api-key"),
        (["--fault-rate", "lots"], "not a fault rate"),
        (["--rate-limit", "fast"], "is not a rate"),
    ],
)
def test_bad_flags_are_one_clear_error(
    groupctl: str, state: Path, args: list[str], message: str
) -> None:
    done = subprocess.run(
        [groupctl, "sim", "serve", "--port", "0", "--state", str(state), "--api-key", KEY, *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: ")
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_a_port_in_use_is_reported(groupctl: str, state: Path) -> None:
    with sim_serve(groupctl, state, key=KEY) as served:
        port = served.url.rsplit(":", 1)[1]
        done = subprocess.run(
            [groupctl, "sim", "serve", "--port", port, "--state", str(state), "--api-key", KEY],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert done.returncode == 1
    assert f"error: cannot listen on 127.0.0.1:{port}" in done.stderr


def test_a_port_in_use_leaves_no_world_file_behind(groupctl: str, state: Path) -> None:
    other = state.with_name("other.json")
    with sim_serve(groupctl, state, key=KEY) as served:
        port = served.url.rsplit(":", 1)[1]
        done = subprocess.run(
            [groupctl, "sim", "serve", "--port", port, "--state", str(other), "--api-key", KEY],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert done.returncode == 1
    assert not other.exists()


def test_signed_webhooks_reach_a_real_endpoint(
    groupctl: str, state: Path, receiver: tuple[str, list[tuple[dict[str, str], bytes]]]
) -> None:
    url, received = receiver
    secret = "whsec-end-to-end"
    with sim_serve(
        groupctl, state, "--webhook-url", url, "--webhook-secret", secret, key=KEY
    ) as served:
        httpx.post(
            f"{served.url}/api/sessions/default/groups",
            headers={"Authorization": f"Bearer {KEY}"},
            json={"name": "Hooked", "participants": ["14155550101@s.whatsapp.net"]},
        )
        served.stop()  # SIGTERM: deliveries queued before it are sent before exiting
    assert len(received) == 1
    headers, body = received[0]
    assert headers["X-Webhook-Signature"] == sign(secret, body)
    event = json.loads(body)
    assert event["event"] == "group.participant"
    assert [person["phoneNumber"] for person in event["payload"]["joined"]] == [
        "+14155550100",
        "+14155550101",
    ]


@pytest.mark.slow
def test_webhooks_nobody_receives_do_not_hold_a_shutdown(groupctl: str, state: Path) -> None:
    closed = "http://127.0.0.1:9/hooks"  # nothing listens on port 9
    with sim_serve(
        groupctl, state, "--webhook-url", closed, "--webhook-secret", "whsec-nobody", key=KEY
    ) as served:
        for name in ("One", "Two", "Three", "Four", "Five", "Six"):
            httpx.post(
                f"{served.url}/api/sessions/default/groups",
                headers={"Authorization": f"Bearer {KEY}"},
                json={"name": name, "participants": []},
            )
        _, err = served.stop()  # within its own 15 s: 6 x 3 failing attempts take longer
    assert served.process.returncode == 0
    assert "webhook deliveries to http://127.0.0.1:9/hooks dropped at shutdown" in err


def test_one_final_line_break_is_removed_from_the_key_with_a_warning(
    groupctl: str, state: Path
) -> None:
    with sim_serve(groupctl, state, key=KEY + "\n") as served:
        answer = httpx.get(
            f"{served.url}/api/sessions/default",
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=30,
        )
        _, err = served.stop()
    assert answer.status_code == 200
    assert "warning: --api-key ended in a line break, which is not part of it" in err
