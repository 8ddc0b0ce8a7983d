"""A plan file is untrusted too: whoever can change it between review and apply must not be
able to make apply do something else, somewhere else, or read a file it should not; and a
plan, however validly sealed, is applied once, soon, and only while its config is unchanged."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
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
    groupctl: str,
    example: Path,
    served: ServedSim,
    data: dict[str, Any],
    *args: str,
    code: int = 1,
) -> str:
    """Write `data` as the plan file, apply it, and return what apply said (it must fail with
    `code`: 4 for a plan refused as out of date, 1 for any other refusal)."""
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
    assert done.returncode == code, done.stdout + done.stderr
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


# -- a plan applies once, soon, and only to the config it was made from (issue 13, item 4) --


def test_a_plan_applies_once_even_when_its_groups_are_back_at_its_snapshot(
    groupctl: str, example: Path, served: ServedSim
) -> None:
    config = example / "groups.yaml"  # no pictures: Titan shows none, the state file does
    config.write_text(re.sub(r"\n *picture: .*", "", config.read_text()))
    data = planned(groupctl, example, served)
    at_snapshot = (example / "world.json").read_bytes()
    env = {"TITAN_API_URL": served.url, "TITAN_API_KEY": KEY, "TITAN_WRITE_RATE": "unlimited"}
    first = run_groupctl(groupctl, "apply", "p.json", "--auto-approve", env=env, cwd=example)
    assert first.returncode == 0, first.stderr
    # Every group back as the plan saw it (undone by hand, or by a later config): applied
    # again, the plan would undo what was reviewed since.
    (example / "world.json").write_bytes(at_snapshot)
    output = apply_file(groupctl, example, served, data)
    assert "error: this plan was applied already, on 20" in output
    assert "a plan is applied once" in output
    state = json.loads((example / ".groupctl-state.json").read_text())
    assert list(state["applied"]) == [data["checksum"]]


def made(data: dict[str, Any], ago: timedelta) -> dict[str, Any]:
    """The plan as if made `ago` before now, sealed with the key (as only its holder can)."""
    return resealed({**data, "created": (datetime.now(UTC) - ago).isoformat()}, KEY)


@pytest.mark.parametrize(
    ("ago", "args", "message"),
    [
        (timedelta(hours=25), (), r", 25 h 00 min ago: more than --max-plan-age 24 h 00 min\."),
        (timedelta(hours=2), ("--max-plan-age", "90m"), r"ago: more than --max-plan-age 1 h 30"),
        (timedelta(days=30), ("--max-plan-age", "168h"), r"ago: more than --max-plan-age 168 h"),
        (-timedelta(hours=1), (), r"min .. s from now: check this machine's clock"),
    ],
    ids=["past-the-default", "past-a-shorter-limit", "past-the-longest", "from-the-future"],
)
def test_a_plan_made_too_long_ago_or_in_the_future_is_refused(
    groupctl: str,
    example: Path,
    served: ServedSim,
    ago: timedelta,
    args: tuple[str, ...],
    message: str,
) -> None:
    output = apply_file(
        groupctl, example, served, made(planned(groupctl, example, served), ago), *args, code=4
    )
    assert re.search(message, output), output


def test_the_plan_age_limit_cannot_outlast_the_record_of_applied_plans(
    groupctl: str, example: Path
) -> None:
    done = run_groupctl(groupctl, "apply", "--max-plan-age", "169h", cwd=example)
    assert done.returncode == 1  # a usage error: never 2, which could read as "changes"
    assert "at most 168h: the state file remembers plans as long" in done.stderr


def test_a_plan_whose_config_changed_since_it_was_made_is_refused(
    groupctl: str, example: Path, served: ServedSim
) -> None:
    data = planned(groupctl, example, served)
    config = example / "groups.yaml"  # a later change, reviewed or not, that it does not show
    config.write_text(
        config.read_text().replace("members: [team:sales]", "members: [team:sales, lucas]")
    )
    output = apply_file(groupctl, example, served, data, code=4)
    assert "error: the config changed since the plan was made (groups.yaml changed)" in output


def test_a_plan_of_the_format_before_sealed_times_is_refused_with_why(
    groupctl: str, example: Path, served: ServedSim
) -> None:
    data = planned(groupctl, example, served)
    older = {k: v for k, v in data.items() if k not in ("created", "config_files")}
    output = apply_file(groupctl, example, served, resealed({**older, "format_version": 1}, KEY))
    assert "was made by an older groupctl (format version 1), which sealed neither" in output
