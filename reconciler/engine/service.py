"""The one road to plan and to apply, for the CLI and for watch alike.

`plan_now` reads live state and plans (the brakes' verdict in the plan, the state file's
waiting list minded and pruned); `apply_now` carries a plan out and records what happened in
the state file. `plan_config` and `apply_config` are the commands' whole runs on top of them:
a saved plan or a plan made now, a saved plan's validity (recent, of the config as it is, not
applied before) and freshness checked (before the question, and after it), the question asked
through a callback, apply, the state file saved, and the new groups' ids written into the
config. Both take one client, so a run is one client session; both take the clock, so every
record of a run has one time.

An apply holds the lock beside the state file from planning to its last save (`Run.
lock_timeout` says how long it waits for another run to let go): two applies at once would
plan the same creates and invitations, and both carry them out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from reconciler.config import load
from reconciler.config.importer import Imported, SessionGroups, write_config
from reconciler.config.workspace import Workspace
from reconciler.config.write_ids import check_ids_writable, write_ids
from reconciler.core.groups import DesiredState, LiveState
from reconciler.core.jid import Jid
from reconciler.engine.apply import Listener, apply, save
from reconciler.engine.freshness import check_fresh
from reconciler.engine.live import fetch, fetch_group
from reconciler.engine.plan import Kind, Plan
from reconciler.engine.planner import PlanPolicy, plan
from reconciler.engine.report import ApplyReport
from reconciler.engine.safety import Brakes, assess
from reconciler.engine.statefile import StateFile, lock_for, now_utc
from reconciler.engine.stopping import Stop
from reconciler.engine.validity import MAX_PLAN_AGE, check_valid, config_hashes
from reconciler.errors import GroupctlError, SettingsError, UnsafePlanError, UsageError
from reconciler.titan.client import TitanClient

log = logging.getLogger("reconciler.engine")

Clock = Callable[[], datetime]
# How long an apply waits, by default, for another run on the same state file to end: long
# enough for a heal of watch (a few writes) or a small apply to finish, short enough that a
# run started by mistake next to a long one says so within the minute.
LOCK_TIMEOUT = 60.0
# What shows apply's progress: given the plan, a context that yields the listener of its steps.
Progress = Callable[[Plan], AbstractContextManager[Listener | None]]


@dataclass(frozen=True, slots=True)
class Planned:
    """A plan, and the live state it was made from (watch keeps it to know its own echoes)."""

    plan: Plan
    live: LiveState


async def plan_now(
    client: TitanClient,
    desired: DesiredState,
    policy: PlanPolicy,
    state_file: StateFile,
    *,
    brakes: Brakes = Brakes(),
    force: bool = False,
    now: Clock = now_utc,
) -> Planned:
    """Read live state and plan `desired`, minding the people the state file says are waiting
    (records of people no longer in a group are dropped; what another run saved meanwhile is
    read first); the plan carries the brakes' verdict and the time it was made."""
    state_file.refresh()
    started = time.perf_counter()
    live = await fetch(client, desired, only=policy.only, uploaded=state_file.pictures)
    read = time.perf_counter()
    log.info("live state: %d groups read in %.2f s", len(live.groups), read - started)
    for group in live.groups.values():
        state_file.prune(group.id, present=group.state.members)
    made = now()
    planned = plan(
        desired,
        live,
        policy,
        waiting=state_file.waiting(made),
        links_made=state_file.links,
        links_owed=frozenset(state_file.links_owed),
        keys=state_file.keys,
        now=made,
    )
    planned = replace(planned, created=made)
    log.info("planned in %.2f s", time.perf_counter() - read)
    return Planned(assess(planned, brakes, force=force), live)


async def apply_now(
    client: TitanClient,
    to_apply: Plan,
    state_file: StateFile,
    *,
    pictures: Path | None,
    brakes: Brakes = Brakes(),
    force: bool = False,
    on_step: Listener | None = None,
    now: Clock = now_utc,
    stop: Stop | None = None,
) -> ApplyReport:
    """Carry out `to_apply` under the brakes (UnsafePlanError before any call if they stop it)
    and save what it recorded (a save that fails is in the report, not raised). `pictures`:
    the config's directory, where picture files are. `stop`: see `engine.stopping`."""
    report = await apply(
        to_apply,
        client,
        state_file=state_file,
        pictures=pictures,
        brakes=brakes,
        force=force,
        on_step=on_step,
        now=now,
        stop=stop,
    )
    save(state_file, report, now())
    return report


def check_plan_target(
    saved: Plan, *, session: str | None, api: str, same_api: Callable[[str], bool]
) -> None:
    """A saved plan is applied only where it was made: the same API (`same_api` says whether
    the plan's address names the API called, `api`), the same session."""
    if not same_api(saved.api):
        raise SettingsError(
            f"the plan was made against {saved.api or 'an unknown API'}, not {api}:"
            " make a new plan there, or apply it against the API it was made against"
        )
    if session is not None and saved.session != session:
        raise SettingsError(
            f"the plan was made for session {saved.session!r}, not {session!r}:"
            " make a new plan for this session"
        )


@dataclass(frozen=True, slots=True)
class Run:
    """What a plan or apply run works on, and the brakes it works under."""

    workspace: Workspace
    policy: PlanPolicy = PlanPolicy()
    brakes: Brakes = Brakes()
    force: bool = False
    now: Clock = now_utc
    lock_timeout: float = LOCK_TIMEOUT  # seconds apply waits for another run (0: not at all)
    max_plan_age: timedelta = MAX_PLAN_AGE  # the oldest saved plan apply accepts


async def plan_config(client: TitanClient, run: Run, desired: DesiredState) -> Plan:
    """`groupctl plan`: the plan of `desired` now (nothing is written), with the hashes of the
    config's files, which apply checks before it applies the plan saved."""
    # Hashed before any call: a config edited while the plan is made then refuses the plan.
    config_files = config_hashes(run.workspace.config)
    state_file = StateFile.load(run.workspace.state_file)
    planned = await plan_now(
        client, desired, run.policy, state_file, brakes=run.brakes, force=run.force, now=run.now
    )
    return replace(planned.plan, config_files=config_files)


@dataclass
class Applied:
    """What `apply_config` did: the plan it showed, and what came of it."""

    plan: Plan
    report: ApplyReport | None = None  # None: nothing was applied (no changes, or declined)
    declined: bool = False
    ids_written: list[Path] = field(default_factory=list)  # config files that got new ids
    ids_error: GroupctlError | None = None  # why the new ids could not be written


def _check_valid(saved: Plan, state_file: StateFile, run: Run) -> None:
    check_valid(
        saved,
        state_file=state_file,
        config=run.workspace.config,
        now=run.now(),
        max_age=run.max_plan_age,
    )


async def check_saved(client: TitanClient, run: Run, saved: Plan) -> None:
    """Whether a saved plan would be applied now, without applying it: valid (see
    `engine.validity`) and fresh, or the error apply would raise. For a file of several
    sessions' plans, each is checked before any is applied (apply checks again)."""
    state_file = StateFile.load(run.workspace.state_file)
    _check_valid(saved, state_file, run)
    assessed = assess(saved, run.brakes, force=run.force)
    if assessed.stopped_by_brakes:
        raise UnsafePlanError(assessed.brakes)
    if saved.has_changes:
        await check_fresh(saved, client, state_file.pictures, state_file.links)


async def apply_config(
    client: TitanClient,
    run: Run,
    *,
    desired: DesiredState | None = None,
    saved: Plan | None = None,
    write_created_ids: bool = False,
    show: Callable[[Plan], None] = lambda plan: None,
    confirm: Callable[[Plan], bool] | None = None,
    progress: Progress | None = None,
    on_lock_wait: Callable[[str], None] | None = None,
    stop: Stop | None = None,
) -> Applied:
    """`groupctl apply`: a `saved` plan or the plan of `desired` made now; `show`n; stopped
    by the brakes (UnsafePlanError); a saved plan refused unless it is valid (recent, of the
    config as it is now, never applied: see `engine.validity`) and fresh (StalePlanError),
    checked before the question and again after it, since a person may take their time;
    `confirm`ed when there is someone to ask; applied with `progress`; the state file saved;
    with `write_created_ids`, the new groups' ids written into the config (a failure to write
    them is in `Applied.ids_error`: the report of what was done comes first).

    All of it holds the state file's lock (RunLockedError when another run keeps it past
    `run.lock_timeout`; `on_lock_wait` hears who holds it when the wait begins).

    Before the first change, the state file (and with `write_created_ids`, the config files
    the ids go into) must be writable: FileAccessError, nothing changed, if not. `stop` is
    armed once changes begin (see `engine.stopping`): from then on a request winds the run
    down, and the report says what was done and what was not."""
    if (desired is None) == (saved is None):
        raise ValueError("apply_config takes a config to plan now, or a saved plan")
    lock = lock_for(run.workspace.state_file, holder="groupctl apply")
    async with lock.held(run.lock_timeout, on_wait=on_lock_wait):
        state_file = StateFile.load(run.workspace.state_file)
        if saved is not None:
            _check_valid(saved, state_file, run)
            to_apply = assess(saved, run.brakes, force=run.force)
        else:
            assert desired is not None
            to_apply = (
                await plan_now(
                    client,
                    desired,
                    run.policy,
                    state_file,
                    brakes=run.brakes,
                    force=run.force,
                    now=run.now,
                )
            ).plan
        show(to_apply)
        if to_apply.stopped_by_brakes:
            raise UnsafePlanError(to_apply.brakes)
        if not to_apply.has_changes:
            return Applied(to_apply)
        if saved is not None:  # no question about a plan that cannot be applied anyway
            await check_fresh(to_apply, client, state_file.pictures, state_file.links)
        if confirm is not None:
            if not confirm(to_apply):
                return Applied(to_apply, declined=True)
            if saved is not None:  # a person took their time: is it still as they saw it?
                await check_fresh(to_apply, client, state_file.pictures, state_file.links)
        state_file.check_writable()
        if write_created_ids:
            desired = desired or load(run.workspace.config)
            creates = [g.key for g in to_apply.groups if g.count(Kind.CREATE)]
            check_ids_writable(desired, creates, root=run.workspace.root)
        stop = stop if stop is not None else Stop()
        # A signal that came while this ran without a pause (the plan printed, the checks) is
        # handled by the loop three turns on: one to read it from the loop's wake-up pipe, one
        # to run its handler (which cancels the run, until it is armed), one to deliver the
        # cancellation. Take them, so that it still finds nothing done.
        for _ in range(3):
            await asyncio.sleep(0)
        stop.armed = True  # changes begin: a stop from now on is wound down, and reported
        try:
            if saved is not None and saved.checksum is not None and saved.created is not None:
                # Saved before the first change: a run that stops half-way applied it too.
                state_file.record_applied(saved.checksum, made=saved.created, now=run.now())
                state_file.save()
            return await _carry_out(
                client, run, to_apply, state_file, desired, write_created_ids, progress, stop
            )
        finally:
            stop.close()


async def _carry_out(
    client: TitanClient,
    run: Run,
    to_apply: Plan,
    state_file: StateFile,
    desired: DesiredState | None,
    write_created_ids: bool,
    progress: Progress | None,
    stop: Stop,
) -> Applied:
    """The end of `apply_config`: apply with progress, then write the new groups' ids (those
    an interrupted run created too)."""
    with (progress or _no_progress)(to_apply) as on_step:
        report = await apply_now(
            client,
            to_apply,
            state_file,
            pictures=run.workspace.root,
            brakes=run.brakes,
            force=run.force,
            on_step=on_step,
            now=run.now,
            stop=stop,
        )
    applied = Applied(to_apply, report)
    created = {g.key: g.created for g in report.groups if g.created is not None}
    if write_created_ids and created:
        # Apply is done: a config that cannot take the ids must not hide its report.
        try:
            applied.ids_written = write_ids(
                desired or load(run.workspace.config), created, root=run.workspace.root
            )
        except GroupctlError as exc:
            applied.ids_error = exc
    return applied


def _no_progress(plan: Plan) -> AbstractContextManager[Listener | None]:
    return nullcontext(None)


async def import_groups(
    client: TitanClient,
    *,
    only: Sequence[Jid] = (),
    known: DesiredState | None = None,
    beside: bool = False,
    api: str = "",
    now: datetime,
) -> Imported:
    """`groupctl import`: a config of the session's groups (`only` these, when given);
    `beside`: a file to be read with `known` as one config (see `write_config`)."""
    read = await read_for_import(client, only=only)
    check_import_found([read], only)
    return write_config([read], known=known, api=api, now=now, beside=beside)


async def read_for_import(client: TitanClient, *, only: Sequence[Jid] = ()) -> SessionGroups:
    """The session's groups for `groupctl import` (those of `only` it has, when given), each
    read whole; with several sessions, each is read so and `write_config` makes one config."""
    session = await client.wait_until_connected()
    if session.phone is None:
        raise SettingsError(f"Titan does not say which account session {session.name!r} is")
    listed = await client.list_groups()
    ids = [group.id for group in listed]
    chosen = [gid for gid in dict.fromkeys(only) if gid in ids] if only else ids
    groups = await asyncio.gather(*(fetch_group(client, g, with_picture=False) for g in chosen))
    return SessionGroups(
        session=session.name,
        me=frozenset(a for a in (session.phone, session.lid) if a is not None),
        groups=groups,
        created={group.id: group.created_at for group in listed},
    )


def check_import_found(reads: Sequence[SessionGroups], only: Sequence[Jid]) -> None:
    """Refuse an import some of whose `only` groups no session read has."""
    found = {group.id for read in reads for group in read.groups}
    missing = [gid for gid in dict.fromkeys(only) if gid not in found]
    if missing:
        names = ", ".join(repr(read.session) for read in reads)
        raise UsageError(
            f"{', '.join(missing)}: not among the groups of session"
            f"{'s' if len(reads) > 1 else ''} {names} (groupctl import --all lists them all)"
        )
