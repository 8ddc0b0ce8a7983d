"""sessions:, --session and --shard K/N: which groups a run takes, and `groupctl shards`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.config import load
from reconciler.config.diff import diff
from reconciler.config.shards import parse_shard, select, shard_of
from reconciler.core.groups import DesiredGroup, DesiredState, GroupState
from reconciler.engine.plan import GroupPlan
from reconciler.engine.planner import plan
from reconciler.errors import ConfigError, UsageError
from reconciler.sim.state import Account, Person, WorldState
from tests.support.builders import ME, A, desired, have, live, want
from tests.support.processes import run_groupctl

CONFIG = """version: 1
session: support
sessions:
  support:
  sales: {write_rate: 10/min}
groups:
  help: {subject: Help, members: ["+14155550101"]}
  desk: {subject: Desk, members: ["+14155550101"]}
  deals: {subject: Deals, session: sales, members: ["+14155550102"]}
  leads: {subject: Leads, session: sales, members: ["+14155550102"]}
"""
KEYS = st.text("abcdefghij-", min_size=1, max_size=12).filter(lambda k: k[0].isalpha())


@given(
    groups=st.dictionaries(KEYS, st.sampled_from([None, "a", "b"]), max_size=60),
    shards=st.integers(1, 12),
)
def test_the_shards_of_each_session_cover_every_group_exactly_once(
    groups: dict[str, str | None], shards: int
) -> None:
    desired = DesiredState(
        groups=tuple(DesiredGroup(k, None, GroupState(k), session=s) for k, s in groups.items()),
        sessions={"a": None, "b": None},
        session="a",
    )
    taken: list[str] = []
    for session in ("a", "b"):
        for number in range(1, shards + 1):
            picked, _ = select(desired, session=session, shard=(number, shards))
            taken += [group.key for group in picked.groups]
    assert sorted(taken) == sorted(groups)


def test_a_groups_shard_does_not_move_when_others_come_and_go() -> None:
    before = {key: shard_of("s", key, 5) for key in ("a", "b", "c", "d")}
    assert all(shard_of("s", key, 5) == shard for key, shard in before.items())
    assert shard_of("s", "a", 5) == before["a"]
    assert {shard_of("s", f"g{n}", 5) for n in range(100)} == {1, 2, 3, 4, 5}


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "1/0", "a/b", "1/999"])
def test_a_shard_that_cannot_be_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="expected K/N"):
        parse_shard(text)


def test_a_group_of_an_undeclared_session_is_a_located_error(tmp_path: Path) -> None:
    (tmp_path / "groups.yaml").write_text(CONFIG + "  bad: {subject: Bad, session: nope}\n")
    with pytest.raises(ConfigError, match=r"groups.yaml:11:32: unknown session 'nope'"):
        load(tmp_path / "groups.yaml")


def test_a_config_of_several_sessions_is_run_one_session_at_a_time(tmp_path: Path) -> None:
    (tmp_path / "groups.yaml").write_text(CONFIG)
    desired = load(tmp_path / "groups.yaml")
    with pytest.raises(UsageError, match=r"groups of 2 sessions \(sales, support\)"):
        select(desired, session=None)
    sales, session = select(desired, session="sales")
    assert (session, [g.key for g in sales.groups]) == ("sales", ["deals", "leads"])
    assert desired.sessions == {"support": None, "sales": "10/min"}
    with pytest.raises(UsageError, match="not a session of this config"):
        select(desired, session="nope")


def test_a_sharded_apply_of_every_session_converges(groupctl: str, tmp_path: Path) -> None:
    """As the example workflow runs it: `shards 2 --format json` gives the matrix, each job
    applies its session's shard, and then every session's plan is empty."""
    (tmp_path / "groups.yaml").write_text(CONFIG)
    (tmp_path / "world.json").write_text(
        WorldState(
            people=[Person(phone=p) for p in ("+14155550100", "+14155550200", "+14155550101")]
            + [Person(phone="+14155550102")],
            accounts=[
                Account(session="support", phone="+14155550100"),
                Account(session="sales", phone="+14155550200"),
            ],
        ).model_dump_json()
    )
    matrix = run_groupctl(groupctl, "shards", "2", "--format", "json", cwd=tmp_path)
    assert matrix.returncode == 0, matrix.stderr
    jobs = json.loads(matrix.stdout)
    assert jobs == {"session": ["sales", "support"], "shard": ["1/2", "2/2"]}
    for session in jobs["session"]:
        for shard in jobs["shard"]:
            done = run_groupctl(
                groupctl,
                "apply",
                "--api",
                "sim:world.json",
                "--session",
                session,
                "--shard",
                shard,
                "--auto-approve",
                cwd=tmp_path,
            )
            assert done.returncode == 0, done.stdout + done.stderr
    world = WorldState.model_validate_json((tmp_path / "world.json").read_text())
    creators = {g.subject: g.creator for g in world.groups}
    assert creators == {  # each by its own account
        "Deals": "+14155550200",
        "Leads": "+14155550200",
        "Help": "+14155550100",
        "Desk": "+14155550100",
    }
    for session in jobs["session"]:
        settled = run_groupctl(
            groupctl,
            "plan",
            "--api",
            "sim:world.json",
            "--session",
            session,
            "--detailed-exitcode",
            cwd=tmp_path,
        )
        assert settled.returncode == 0, settled.stdout + settled.stderr


def test_two_accounts_may_not_find_one_live_group_by_its_subject(tmp_path: Path) -> None:
    bound = CONFIG.replace("help: {subject", 'help: {id: "120363000000000009@g.us", subject')
    (tmp_path / "groups.yaml").write_text(bound + "  copy: {subject: Help, session: sales}\n")
    with pytest.raises(ConfigError) as caught:
        load(tmp_path / "groups.yaml")
    (problem,) = caught.value.problems  # help has an id: it is the one that is found
    assert "group 'copy' has no id and the subject of 'help', of another session" in str(problem)


def test_session_names_follow_titans_rule(tmp_path: Path) -> None:
    (tmp_path / "groups.yaml").write_text(
        CONFIG.replace("  emea:\n", "").replace("sessions:\n", 'sessions:\n  "1sales":\n  "a b":\n')
        + '  odd: {subject: Odd, session: "a b"}\n'
    )
    with pytest.raises(ConfigError) as caught:
        load(tmp_path / "groups.yaml")
    (problem,) = caught.value.problems  # "1sales" is fine; "a b" once, its group not again
    assert "session 'a b': Titan's session names are" in str(problem)


def test_diff_shows_a_group_moving_to_another_account(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(CONFIG)
    (tmp_path / "b.yaml").write_text(CONFIG.replace(", session: sales", "", 1))
    changes = diff(load(tmp_path / "a.yaml"), load(tmp_path / "b.yaml")).groups
    assert [(c.key, c.settings) for c in changes] == [("deals", (("session", "sales", None),))]


SUBJECTS = ["Help", "Desk", "Deals", "Ops"]


@given(
    entries=st.dictionaries(
        KEYS,
        st.tuples(st.sampled_from([None, 0, 1, 2, 3]), st.sampled_from(SUBJECTS)),
        max_size=8,
    ),
    shards=st.integers(1, 5),
)
def test_the_plans_of_the_shards_are_the_plan_of_the_whole(
    entries: dict[str, tuple[int | None, str]], shards: int
) -> None:
    """Split into shards, the config plans exactly as whole: each live group is the same
    entry's (an entry without id: never takes a group that another shard's entry holds by
    id), and none of another shard's groups counts as unmanaged."""
    groups = {n: f"12036300000000010{n}@g.us" for n in range(4)}
    world = live(*(have(gid, SUBJECTS[n], {ME: "superadmin"}) for n, gid in groups.items()))
    whole = desired(
        *(
            want(key, subject, {ME: "admin", A: "member"}, id=groups[n] if n is not None else None)
            for key, (n, subject) in entries.items()
        )
    )
    everything = plan(whole, world)
    planned: dict[str, GroupPlan] = {}
    for number in range(1, shards + 1):
        part, _ = select(whole, session=None, shard=(number, shards))
        shard_plan = plan(part, world)
        assert shard_plan.unmanaged == everything.unmanaged
        planned |= {group.key: group for group in shard_plan.groups}
    assert planned == {group.key: group for group in everything.groups}
