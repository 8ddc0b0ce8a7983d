"""A plan file is untrusted too: whoever can change it between review and apply must not be
able to make apply do something else, somewhere else, or read a file it should not."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.engine import planfile
from reconciler.engine.plan import Plan
from reconciler.engine.planfile import checksum
from reconciler.errors import PlanFileError
from tests.support.processes import ServedSim, run_groupctl, sim_serve

ROOT = Path(__file__).parent.parent.parent
KEY = "plan-files-key-6a2f90"


@pytest.fixture
def served(groupctl: str, example: Path) -> Iterator[ServedSim]:
    with sim_serve(groupctl, example / "world.json", key=KEY) as running:
        yield running


def planned(groupctl: str, example: Path, served: ServedSim) -> dict[str, Any]:
    done = run_groupctl(
        groupctl,
        "plan",
        "--out",
        "p.json",
        env={"TITAN_API_URL": served.url, "TITAN_API_KEY": KEY},
        cwd=example,
    )
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads((example / "p.json").read_text())
    return data


def apply_file(
    groupctl: str, example: Path, served: ServedSim, data: dict[str, Any], *args: str
) -> str:
    """Write `data` as the plan file, apply it, and return what apply said (it must fail)."""
    (example / "p.json").write_text(json.dumps(data))
    before = (example / "world.json").read_bytes()
    done = run_groupctl(
        groupctl,
        "apply",
        "p.json",
        "--auto-approve",
        *args,
        env={"TITAN_API_URL": served.url, "TITAN_API_KEY": KEY, "TITAN_WRITE_RATE": "unlimited"},
        cwd=example,
    )
    assert done.returncode == 1, done.stdout
    assert (example / "world.json").read_bytes() == before, "the world changed"
    return done.stdout + done.stderr


def resealed(data: dict[str, Any], key: str | None) -> dict[str, Any]:
    body = {name: value for name, value in data.items() if name != "checksum"}
    return {**body, "checksum": checksum(body, key=key)}


def remove_everyone(data: dict[str, Any]) -> None:
    group = data["groups"][0]
    group["actions"] = [{"kind": "remove", "members": ["14155550101@s.whatsapp.net"]}]


@pytest.mark.parametrize(
    ("tamper", "key", "message"),
    [
        (remove_everyone, "keep", "it was changed after it was made"),
        (remove_everyone, None, "it was made without an API key, and apply has one"),
        (remove_everyone, "a-guess-at-the-key", "made with another API key"),
        (lambda d: d.update(checksum="sha256:" + "0" * 64), "keep", "made without an API key"),
    ],
    ids=["edited", "resealed-without-key", "resealed-with-a-guess", "checksum-replaced"],
)
def test_a_tampered_plan_is_refused_before_any_change(
    groupctl: str,
    example: Path,
    served: ServedSim,
    tamper: Callable[[dict[str, Any]], None],
    key: str | None,
    message: str,
) -> None:
    data = planned(groupctl, example, served)
    assert data["checksum"].startswith("hmac-sha256:")
    tamper(data)
    if key != "keep":
        data = resealed(data, key)
    assert message in apply_file(groupctl, example, served, data)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("session", "maria", "the plan was made for session 'maria', not"),
        ("api", "https://titan.example", "the plan was made against https://titan.example"),
    ],
)
def test_a_plan_for_another_session_or_api_is_refused(
    groupctl: str, example: Path, served: ServedSim, field: str, value: str, message: str
) -> None:
    data = planned(groupctl, example, served)
    data[field] = value
    output = apply_file(groupctl, example, served, resealed(data, KEY), "--session", "default")
    assert message in output


def test_a_validly_sealed_plan_still_cannot_upload_a_file_outside_the_config(
    groupctl: str, example: Path, served: ServedSim
) -> None:
    data = planned(groupctl, example, served)
    for group in data["groups"]:
        for action in group["actions"]:
            if action["kind"] == "picture":
                action["new"] = "../../../etc/passwd"
    output = apply_file(groupctl, example, served, resealed(data, KEY))
    assert "outside the config's directory" in output


def test_a_plan_sealed_with_a_key_is_read_only_with_that_key() -> None:
    plan = Plan(groups=())
    text = planfile.dumps(plan, key="k-one-0123456")
    assert planfile.loads(text, key="k-one-0123456").groups == ()
    with pytest.raises(PlanFileError, match="made with another API key"):
        planfile.loads(text, key="k-two-0123456")
    with pytest.raises(PlanFileError, match="made with an API key: apply with the same key"):
        planfile.loads(text)
    assert "k-one-0123456" not in text
