"""Group pictures end to end through the library, with and without a picture getter: Titan
documents none, so plans go by the state file's record of what apply uploaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.core.groups import DesiredState, LocalPicture, UrlPicture
from reconciler.core.jid import Jid, parse_group_jid
from reconciler.core.pictures import fingerprint, same_picture
from reconciler.engine import planfile
from reconciler.engine.apply import apply
from reconciler.engine.freshness import check_fresh
from reconciler.engine.plan import Kind, Plan
from reconciler.engine.planner import PlanPolicy
from reconciler.engine.report import ApplyReport
from reconciler.engine.service import apply_now, plan_now
from reconciler.engine.statefile import StateFile
from reconciler.errors import StalePlanError
from tests.conftest import MakeSim
from tests.support.builders import desired, want
from tests.support.harness import DEFAULT, ENGINEERING, MEMBER, OTHER, Harness
from tests.support.pictures import LEFT, RIGHT, STRIPES, picture_file

ENG: Jid = parse_group_jid(ENGINEERING)
# Engineering as the default session sees it (see tests/engine/test_apply.py).
ENG_NOW = {
    DEFAULT: "admin",
    OTHER: "admin",
    MEMBER: "member",
    "+14155550101": "member",
    "+14155550104": "member",
}


def eng_with(picture: LocalPicture | UrlPicture) -> DesiredState:
    return desired(want("eng", "Engineering", ENG_NOW, id=ENGINEERING, picture=picture))


async def plan_once(
    sim: Harness, config: DesiredState, state_file: StateFile, beside: Path
) -> Plan:
    """A plan of its own run: a new client, which knows nothing of the getter yet."""
    policy = PlanPolicy(config=str(beside / "groups.yaml"))
    return (await plan_now(sim.client(), config, policy, state_file)).plan


async def apply_saved(
    sim: Harness, saved: Plan, state_file: StateFile, beside: Path
) -> ApplyReport:
    """A saved plan applied as `groupctl apply PLANFILE` does: checked fresh, then applied."""
    client = sim.client()
    await check_fresh(saved, client, state_file.pictures)
    return await apply_now(client, saved, state_file, pictures=beside)


def picture_actions(plan: Plan) -> list[str | None]:
    return [a.new for g in plan.groups for a in g.actions if a.kind == Kind.PICTURE]


def picture_reads(sim: Harness) -> int:
    calls = sim.simulator.stats.by_call.items()
    return sum(n for call, n in calls if call.startswith("GET ") and call.endswith("/picture"))


async def test_without_a_getter_apply_records_the_upload_and_the_next_plan_is_empty(
    sim: Harness, tmp_path: Path
) -> None:
    picture = picture_file(tmp_path, LEFT)
    config = eng_with(picture)
    state = tmp_path / ".groupctl-state.json"
    state_file = StateFile.load(state)
    first = await plan_once(sim, config, state_file, tmp_path)
    assert picture_actions(first) == ["logo.png"]
    assert "the state file decides" in first.groups[0].notes[0]
    report = await apply(first, sim.client(), state_file=state_file, pictures=tmp_path)
    assert report.ok
    assert sim.world.state.groups[0].picture is not None  # uploaded
    saved = StateFile.load(state).pictures[ENG]  # on disk
    assert same_picture(saved.fingerprint, fingerprint(picture.path.read_bytes(), source="x"))
    again = await plan_once(sim, config, StateFile.load(state), tmp_path)
    assert not again.has_changes
    assert not [note for g in again.groups for note in g.notes if "picture" in note]
    assert picture_reads(sim) == 2  # one probe per plan, none by apply


async def test_without_a_getter_a_changed_config_picture_is_planned_again(
    sim: Harness, tmp_path: Path
) -> None:
    state_file = StateFile()
    first = await plan_once(sim, eng_with(picture_file(tmp_path, LEFT)), state_file, tmp_path)
    await apply(first, sim.client(), state_file=state_file, pictures=tmp_path)
    changed = eng_with(picture_file(tmp_path, RIGHT))
    second = await plan_once(sim, changed, state_file, tmp_path)
    assert picture_actions(second) == ["logo.png"]
    assert "it records another picture, uploaded on" in second.groups[0].notes[0]


async def test_without_a_state_file_every_managed_picture_is_planned_once_more(
    sim: Harness, tmp_path: Path
) -> None:
    config = eng_with(picture_file(tmp_path, LEFT))
    state_file = StateFile()
    planned = await plan_once(sim, config, state_file, tmp_path)
    await apply(planned, sim.client(), state_file=state_file, pictures=tmp_path)
    forgotten = await plan_once(sim, config, StateFile(), tmp_path)
    assert picture_actions(forgotten) == ["logo.png"]
    assert "it records no picture uploaded to this group" in forgotten.groups[0].notes[0]


async def test_a_picture_url_is_recorded_as_the_plan_saw_it(sim: Harness, png_url: str) -> None:
    config = eng_with(UrlPicture(png_url))
    state_file = StateFile()
    first = (await plan_now(sim.client(), config, PlanPolicy(), state_file)).plan
    (planned,) = [a.fingerprint for g in first.groups for a in g.actions if a.fingerprint]
    await apply(first, sim.client(), state_file=state_file)
    assert state_file.pictures[ENG].fingerprint == planned
    again = (await plan_now(sim.client(), config, PlanPolicy(), state_file)).plan
    assert not again.has_changes


@pytest.mark.parametrize("getter", [False, True], ids=["no-getter", "getter"])
async def test_a_picture_changed_by_hand_is_put_back_only_where_it_can_be_seen(
    make_sim: MakeSim, tmp_path: Path, jpeg: bytes, getter: bool
) -> None:
    sim = make_sim(picture_getter=getter)
    config = eng_with(picture_file(tmp_path, LEFT))
    state_file = StateFile()
    planned = await plan_once(sim, config, state_file, tmp_path)
    await apply(planned, sim.client(), state_file=state_file, pictures=tmp_path)
    await sim.client("other").set_picture(ENG, jpeg=jpeg)  # an admin, by hand
    after = await plan_once(sim, config, state_file, tmp_path)
    assert picture_actions(after) == (["logo.png"] if getter else [])


@pytest.mark.parametrize("getter", [False, True], ids=["no-getter", "getter"])
async def test_a_saved_plan_is_fresh_until_another_picture_is_uploaded_before_it_is_applied(
    make_sim: MakeSim, tmp_path: Path, getter: bool
) -> None:
    sim = make_sim(picture_getter=getter)
    state_file = StateFile()  # the state file, shared by every run

    async def saved_plan(pattern: tuple[int, ...], name: str) -> Plan:
        config = eng_with(picture_file(tmp_path, pattern, name))
        return planfile.loads(planfile.dumps(await plan_once(sim, config, state_file, tmp_path)))

    for pattern, name in [(LEFT, "left.png"), (RIGHT, "right.png")]:  # nothing in between
        saved = await saved_plan(pattern, name)
        assert picture_actions(saved) == [name]
        assert (await apply_saved(sim, saved, state_file, tmp_path)).ok
    right = state_file.pictures[ENG].fingerprint
    saved = await saved_plan(STRIPES, "stripes.png")
    # Before it is applied, another apply puts the left picture back.
    await apply_saved(sim, await saved_plan(LEFT, "left.png"), state_file, tmp_path)
    left = state_file.pictures[ENG].fingerprint
    with pytest.raises(StalePlanError) as refused:
        await apply_saved(sim, saved, state_file, tmp_path)
    (line,) = refused.value.changes["eng"]
    if getter:  # the pictures read back: as WhatsApp re-encoded them
        assert line.startswith("picture: ")
    else:
        assert line == (
            f"picture: 'unreadable, last uploaded {right}' -> 'unreadable, last uploaded {left}'"
        )
