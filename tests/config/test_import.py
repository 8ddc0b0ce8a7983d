"""`groupctl import`: a config from live groups that plans to nothing."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.config import load
from reconciler.config.importer import Imported, SessionGroups, _scalar, write_config
from reconciler.core.jid import parse_jid as jid
from reconciler.engine.live import fetch_group
from reconciler.engine.planner import PlanPolicy
from reconciler.engine.service import import_groups, plan_now
from reconciler.engine.statefile import StateFile
from reconciler.sim.app import SimConfig, Simulator
from reconciler.sim.gateway import ALL_SCOPES
from reconciler.sim.state import Account, Group, Person, Role, WorldState
from reconciler.sim.store import WorldStore
from reconciler.sim.transport import SimTransport
from reconciler.titan.client import TitanClient
from tests.support.processes import run_groupctl

ROOT = Path(__file__).parent.parent.parent
KEY = "import-key-8e1f00"
BOT = "+14155550100"
PEOPLE = [f"+1415555{n:04d}" for n in range(101, 113)]
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def worlds(draw: st.DrawFn) -> WorldState:
    """A session in 1 to 4 groups, as creator, admin or member; people whose numbers the
    session may not see (known to it by LID only), and who may sit in several groups."""
    visible = st.sampled_from(["everyone", "everyone", "admins", "contacts"])
    people = [Person(phone=BOT)] + [
        Person(phone=phone, phone_visible_to=draw(visible)) for phone in PEOPLE
    ]
    groups = []
    mine_roles: list[Role] = ["superadmin", "admin", "member"]
    roles: list[Role] = ["member", "admin"]
    for n in range(draw(st.integers(1, 4))):
        mine = draw(st.sampled_from(mine_roles))
        others = draw(st.dictionaries(st.sampled_from(PEOPLE), st.sampled_from(roles), max_size=8))
        creator = BOT if mine == "superadmin" else PEOPLE[-1]
        participants: dict[str, Role] = {BOT: mine, **others}
        participants[creator] = "superadmin"
        groups.append(
            Group(
                id=f"1203630000000000{n:02d}@g.us",
                subject=draw(st.sampled_from(["Team", "Ops", "Sales: EMEA", '#1 "fans"'])),
                description=draw(st.sampled_from(["", "About us", "multi\nline: yes"])),
                creator=creator,
                created_at=1_700_000_000 + n,
                invite_code=f"Code{n:020d}",
                participants=participants,
            )
        )
    return WorldState(
        people=people, accounts=[Account(session="default", phone=BOT)], groups=groups
    )


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as directory:
        yield Path(directory)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(world=worlds())
def test_an_imported_config_plans_to_no_changes(scratch: Path, world: WorldState) -> None:
    state = scratch / "world.json"
    state.write_text(world.model_dump_json())
    simulator = Simulator(WorldStore.open(state), SimConfig(api_keys={KEY: ALL_SCOPES}))

    async def scenario() -> list[str]:
        async with TitanClient(
            "http://titan-sim", api_key=KEY, transport=SimTransport(simulator.asgi)
        ) as client:
            imported = await import_groups(client, now=NOW)
            config = scratch / "groups.yaml"
            config.write_text(imported.text)
            result = (await plan_now(client, load(config), PlanPolicy(), StateFile())).plan
        assert imported.groups == len(world.groups)
        return [f"{g.key}: {a.kind.value}" for g in result.groups for a in g.actions] + [
            f"{g.key}: {e}" for g in result.groups for e in g.errors
        ]

    assert asyncio.run(scenario()) == []


def test_import_writes_a_config_that_plans_to_nothing(groupctl: str, example: Path) -> None:
    done = run_groupctl(
        groupctl,
        "import",
        "--all",
        "-o",
        "imported.yaml",
        "--api",
        "sim:world.json",
        cwd=example,
    )
    assert done.returncode == 0, done.stderr
    assert "wrote imported.yaml: 7 groups, 14 people" in done.stderr
    text = (example / "imported.yaml").read_text()
    assert text.startswith("# Imported by `groupctl import` from session 'default'")
    data = yaml.safe_load(text)
    assert data["groups"]["sales-europe"]["id"] == "120363000000000301@g.us"
    plan = run_groupctl(
        groupctl,
        "plan",
        "-f",
        "imported.yaml",
        "--api",
        "sim:world.json",
        "--detailed-exitcode",
        cwd=example,
    )
    assert plan.returncode == 0, plan.stdout + plan.stderr
    again = run_groupctl(
        groupctl,
        "import",
        "--all",
        "-o",
        "imported.yaml",
        "--api",
        "sim:world.json",
        cwd=example,
    )
    assert again.returncode == 1
    assert "imported.yaml exists: choose another name, or --overwrite" in again.stderr


def test_import_names_people_from_a_directory(groupctl: str, example: Path) -> None:
    done = run_groupctl(
        groupctl,
        "import",
        "--group",
        "120363000000000301@g.us",
        "--people",
        "groups.yaml",
        "--api",
        "sim:world.json",
        cwd=example,
    )
    assert done.returncode == 0, done.stderr
    group = yaml.safe_load(done.stdout)["groups"]["sales-europe"]
    assert group["admins"] == ["priya"]
    assert group["members"] == ["emma", "noah", "p_14155550199"]  # Dan left the company


def test_import_beside_a_config_writes_only_what_it_lacks(groupctl: str, example: Path) -> None:
    """A file written into the --people config's directory is read with it as one config:
    no second session:, none of its people again, no group key of its own."""
    config = example / "config"
    config.mkdir()
    (example / "groups.yaml").rename(config / "groups.yaml")
    (example / "pictures").rename(config / "pictures")
    known = yaml.safe_load((config / "groups.yaml").read_text())
    done = run_groupctl(
        groupctl,
        "import",
        *("--group", "120363000000000105@g.us"),  # Family: someone the config does not name
        *("--group", "120363000000000106@g.us"),  # Book club: Lucas and Emma, whom it names
        *("--people", "config", "-o", "config/more.yaml", "--api", "sim:world.json"),
        cwd=example,
    )
    assert done.returncode == 0, done.stderr
    assert "to be read with config (its people not repeated)" in done.stderr
    written = yaml.safe_load((config / "more.yaml").read_text())
    assert "session" not in written
    assert set(written["people"]) == {"p_14155550160"}
    assert not set(written["groups"]) & set(known["groups"])
    assert written["groups"]["book-club"] == {
        "id": "120363000000000106@g.us",
        "subject": "Book club",
        "members": ["emma"],
        "admins": ["lucas"],
    }
    checked = run_groupctl(groupctl, "validate", "-f", "config", cwd=example)
    assert checked.returncode == 0, checked.stderr  # one config, as it was meant


def test_import_beside_a_config_of_one_file_writes_a_config_of_its_own(
    groupctl: str, example: Path
) -> None:
    """-f reads one file: a file written beside it is read alone, so it is whole."""
    done = run_groupctl(
        groupctl,
        *("import", "--group", "120363000000000106@g.us", "--people", "groups.yaml"),
        *("-o", "imported.yaml", "--api", "sim:world.json"),
        cwd=example,
    )
    assert done.returncode == 0, done.stderr
    written = yaml.safe_load((example / "imported.yaml").read_text())
    assert written["session"] == "default"
    assert set(written["people"]) == {"emma", "lucas"}
    checked = run_groupctl(groupctl, "validate", "-f", "imported.yaml", cwd=example)
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "say which groups: --group JID"),
        (["--all", "--group", "120363000000000301@g.us"], "say which groups"),
        (["--group", "120363000000000999@g.us"], "not among the groups of session 'default'"),
        (["--group", "nonsense"], "is not a group JID"),
    ],
)
def test_bad_import_requests_are_clear_errors(
    groupctl: str, example: Path, args: list[str], message: str
) -> None:
    done = run_groupctl(groupctl, "import", *args, "--api", "sim:world.json", cwd=example)
    assert done.returncode == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_import_keeps_what_the_people_directory_knew(groupctl: str, example: Path) -> None:
    # Engineering shows Kai by LID only; the people file knows Kai's number as well.
    done = run_groupctl(
        groupctl,
        "import",
        "--group",
        "120363000000000102@g.us",
        "--people",
        "groups.yaml",
        "--api",
        "sim:world.json",
        cwd=example,
    )
    assert done.returncode == 0, done.stderr
    people = yaml.safe_load(done.stdout)["people"]
    assert people["kai"] == {"phone": "+14155550150", "lid": "309811562200417@lid"}


@given(st.text() | st.sampled_from(["yes", "No", "null", "~", "1.5", "+14155550101", "\ud800"]))
def test_every_scalar_reads_back_as_written(text: str) -> None:
    scalar = _scalar(text)
    assert yaml.safe_load(f"key: {scalar}\n") == {"key": text}
    assert yaml.safe_load(f"{scalar}: 1\n") == {text: 1}
    assert "\n" not in scalar


def test_a_config_too_big_for_one_file_is_split_and_loads_the_same(tmp_path: Path) -> None:
    people = [f"+1415555{n:04d}" for n in range(100, 400)]
    world = WorldState(
        people=[Person(phone=phone) for phone in people],
        accounts=[Account(session="default", phone=people[0])],
        groups=[
            Group(
                id=f"1203630000000{n:05d}@g.us",
                subject=f"Team {n}: \u00e9quipe",
                description="line one\nline two",
                creator=people[0],
                created_at=1_700_000_000,
                invite_code=f"Code{n:020d}",
                participants={people[0]: "superadmin"}
                | dict.fromkeys(people[1 + n : 60 + n], "member"),
            )
            for n in range(40)
        ],
    )
    state = tmp_path / "world.json"
    state.write_text(world.model_dump_json())
    simulator = Simulator(WorldStore.open(state), SimConfig(api_keys={KEY: ALL_SCOPES}))

    async def both() -> tuple[Imported, Imported]:
        async with TitanClient(
            "http://titan-sim", api_key=KEY, transport=SimTransport(simulator.asgi)
        ) as client:
            whole = await import_groups(client, now=NOW)
            listed = await client.list_groups()
            groups = [await fetch_group(client, g.id, with_picture=False) for g in listed]
        read = SessionGroups("default", frozenset({jid(people[0])}), groups, {})
        split = write_config([read], now=NOW, split_at=8000)
        return whole, split

    whole, split = asyncio.run(both())
    assert whole.one_file
    assert not split.one_file
    assert len(split.files) > 4
    assert all(len(text.encode()) <= 8000 for text in split.files.values())
    (tmp_path / "one.yaml").write_text(whole.text)
    directory = tmp_path / "split"
    directory.mkdir()
    for name, text in split.files.items():
        (directory / name).write_text(text)
    one, many = load(tmp_path / "one.yaml"), load(directory)
    assert many.session == one.session == "default"
    assert many.directory == one.directory
    assert [(g.key, g.id, g.state) for g in many.groups] == [
        (g.key, g.id, g.state) for g in one.groups
    ]
    assert "Team 39: \u00e9quipe" in [g.state.subject for g in many.groups]


def test_import_into_a_directory_plans_to_nothing_and_merges_no_stranger(
    groupctl: str, example: Path
) -> None:
    sim = ("--api", "sim:world.json")
    done = run_groupctl(groupctl, "import", "--all", "-o", "imported/", *sim, cwd=example)
    assert done.returncode == 0, done.stderr
    assert "wrote groups.yaml in imported: 7 groups, 14 people" in done.stderr
    plan = run_groupctl(
        groupctl, "plan", "-f", "imported", *sim, "--detailed-exitcode", cwd=example
    )
    assert plan.returncode == 0, plan.stdout + plan.stderr
    (example / "imported" / "old.yaml").write_text("version: 1\n")
    again = run_groupctl(
        groupctl, "import", "--all", "-o", "imported", "--overwrite", *sim, cwd=example
    )
    assert again.returncode == 1
    assert "imported holds old.yaml, which would be merged into the imported config" in (
        again.stderr
    )
