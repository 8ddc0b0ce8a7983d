"""The installed `groupctl` against `groupctl sim serve`, as Titan documents it (no way to read a
group's picture) and with `--picture-getter`: the example's pictures are planned, uploaded,
and then left alone."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import httpx
import pytest

from reconciler.sim.state import WorldState
from tests.support.processes import ServedSim, run_groupctl, sim_serve

KEY = "pictures-cli-key-0b7e41"
ANNOUNCEMENTS = "120363000000000101@g.us"
ENGINEERING = "120363000000000102@g.us"
UNREADABLE = "! picture: Titan cannot show the live picture, so the state file decides"


def groupctl_in(
    groupctl: str, example: Path, served: ServedSim, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {"TITAN_API_URL": served.url, "TITAN_API_KEY": KEY, "TITAN_WRITE_RATE": "unlimited"}
    return run_groupctl(groupctl, *args, env=env, cwd=example)


def pictures(example: Path) -> dict[str, bytes]:
    """The pictures the world keeps, by group id."""
    world = WorldState.model_validate_json((example / "world.json").read_text())
    return {g.id: base64.b64decode(world.pictures[g.picture]) for g in world.groups if g.picture}


def set_by_hand(served: ServedSim, jpeg: bytes) -> None:
    """Maria, an admin of the announcements group, changes its picture in WhatsApp."""
    answer = httpx.put(
        f"{served.url}/api/sessions/maria/groups/{ANNOUNCEMENTS}/picture",
        json={"base64": base64.b64encode(jpeg).decode()},
        headers={"Authorization": f"Bearer {KEY}"},
    )
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("getter", [False, True], ids=["as-documented", "picture-getter"])
def test_pictures_are_uploaded_once_and_a_hand_change_is_seen_only_with_a_getter(
    groupctl: str, example: Path, jpeg: bytes, getter: bool
) -> None:
    flags = ["--picture-getter"] if getter else []
    with sim_serve(groupctl, example / "world.json", *flags, key=KEY) as served:
        first = groupctl_in(groupctl, example, served, "plan")
        assert first.returncode == 0, first.stderr
        assert "~ picture      pictures/announcements.png" in first.stdout
        assert "~ picture      pictures/engineering.jpg" in first.stdout
        notes = [line.strip() for line in first.stdout.splitlines() if UNREADABLE in line]
        assert len(notes) == (0 if getter else 2), first.stdout
        for note in notes:
            assert note.endswith(
                "it records no picture uploaded to this group"
                " (a picture changed by hand in WhatsApp goes unseen)"
            )

        applied = groupctl_in(groupctl, example, served, "apply", "--auto-approve")
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert "[announcements] picture: done" in applied.stdout
        assert "[engineering] picture: done" in applied.stdout
        uploaded = pictures(example)
        assert {ANNOUNCEMENTS, ENGINEERING} <= set(uploaded)
        assert all(data.startswith(b"\xff\xd8") for data in uploaded.values())
        state = json.loads((example / ".groupctl-state.json").read_text())
        assert set(state["pictures"]) == {ANNOUNCEMENTS, ENGINEERING}

        settled = groupctl_in(groupctl, example, served, "plan", "--detailed-exitcode")
        assert settled.returncode == 0, settled.stdout + settled.stderr
        assert "Plan: no changes." in settled.stdout
        assert "picture" not in settled.stdout

        set_by_hand(served, jpeg)
        after = groupctl_in(groupctl, example, served, "plan", "--detailed-exitcode")
        if getter:  # read back, seen, and put back
            assert after.returncode == 2, after.stdout + after.stderr
            assert "~ picture      pictures/announcements.png" in after.stdout
        else:  # the documented limit: nothing shows Titan's live picture
            assert after.returncode == 0, after.stdout + after.stderr
            assert "picture" not in after.stdout


def test_the_picture_getter_flag_serves_the_route_titan_does_not_document(
    groupctl: str, example: Path, jpeg: bytes
) -> None:
    route = f"/api/sessions/default/groups/{ANNOUNCEMENTS}/picture"
    headers = {"Authorization": f"Bearer {KEY}"}
    with sim_serve(groupctl, example / "world.json", key=KEY) as served:
        absent = httpx.get(served.url + route, headers=headers)
        assert (absent.status_code, absent.json()["error"]) == (404, "Not Found")
    with sim_serve(groupctl, example / "world.json", "--picture-getter", key=KEY) as served:
        set_by_hand(served, jpeg)
        url = httpx.get(served.url + route, headers=headers).json()["data"]["url"]
        assert httpx.get(url).content == jpeg
