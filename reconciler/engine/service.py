"""The two things groupctl does, end to end, for the CLI (and any other caller):
plan the config against live state; apply a plan, checking a saved one is still fresh."""

from __future__ import annotations

from reconciler.core.groups import DesiredState
from reconciler.engine.apply import Listener, apply
from reconciler.engine.freshness import check_fresh
from reconciler.engine.live import fetch
from reconciler.engine.plan import Plan
from reconciler.engine.planner import PlanPolicy, plan
from reconciler.engine.report import ApplyReport
from reconciler.engine.safety import Brakes, assess
from reconciler.engine.statefile import StateFile, now_utc
from reconciler.errors import SetupError
from reconciler.titan.client import TitanClient


async def plan_config(
    client: TitanClient,
    desired: DesiredState,
    policy: PlanPolicy,
    state_file: StateFile,
    *,
    brakes: Brakes = Brakes(),
    force: bool = False,
) -> Plan:
    """Read live state and plan `desired`, minding the people `state_file` says are waiting; the
    plan carries the safety brakes' verdict."""
    live = await fetch(client, desired, only=policy.only, uploaded=state_file.pictures)
    for group in live.groups.values():
        state_file.prune(group.id, present=group.state.members)
    planned = plan(desired, live, policy, waiting=state_file.waiting(now_utc()))
    return assess(planned, brakes, force=force)


def check_plan_target(saved: Plan, *, session: str | None, api: str) -> None:
    """A saved plan is applied only where it was made: same API address, same session."""
    if saved.api != api:
        raise SetupError(
            f"the plan was made against {saved.api or 'an unknown API'}, not {api}:"
            " make a new plan here"
        )
    if session is not None and saved.session != session:
        raise SetupError(
            f"the plan was made for session {saved.session!r}, not {session!r}:"
            " make a new plan for this session"
        )


async def apply_plan(
    client: TitanClient,
    to_apply: Plan,
    state_file: StateFile,
    *,
    saved: bool,
    brakes: Brakes = Brakes(),
    force: bool = False,
    on_step: Listener | None = None,
) -> ApplyReport:
    """Carry out `to_apply` under the safety brakes (UnsafePlanError, from `apply`); a `saved`
    plan first has to be fresh (StalePlanError if not)."""
    if saved:
        await check_fresh(to_apply, client, state_file.pictures)
    report = await apply(
        to_apply, client, state_file=state_file, brakes=brakes, force=force, on_step=on_step
    )
    state_file.save(now_utc())
    return report
