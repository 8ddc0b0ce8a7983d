"""`groupctl apply`: carry out the config's plan, or a saved one."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click
from click.core import ParameterSource

from reconciler.cli import flags, options
from reconciler.cli.connection import ApiSettings
from reconciler.cli.flags import Seconds
from reconciler.cli.interrupts import Signals
from reconciler.cli.output import asker, plan_shower, progress_shower, show_applied
from reconciler.config import load
from reconciler.core.groups import DesiredState
from reconciler.engine.plan import Plan
from reconciler.engine.service import Applied, Run, apply_config, check_saved
from reconciler.engine.stopping import STOP_GRACE, Stop
from reconciler.errors import OUT_OF_DATE_EXIT, GroupctlError, UsageError
from reconciler.util.untrusted import in_json, repr_shown, shown_lines
from reconciler.util.wording import count

if TYPE_CHECKING:
    from reconciler.titan.client import TitanClient

_PATH = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command("apply")
@click.argument("planfile", required=False, type=_PATH)
@flags.config_option
@options.api_options
@options.planning_options
@click.option("--auto-approve", is_flag=True, help="Apply without asking (needed in CI).")
@flags.format_option(
    "json: print the report of what was done as JSON (the plan and progress go to stderr).",
    ("text", "json"),
)
@click.option("--write-ids", is_flag=True, help="Write created groups' id: into the config.")
@options.lock_timeout_option
@options.max_plan_age_option
@click.option(
    "--stop-timeout",
    type=Seconds(min=0),
    default=STOP_GRACE,
    show_default=True,
    metavar="SECONDS",
    help="After SIGINT or SIGTERM (Ctrl-C, a CI job cancelled), how long the calls in flight"
    " get to finish; no new change is sent meanwhile. Then the state file is saved, what was"
    " done is reported, and apply exits 130 (SIGINT) or 143 (SIGTERM).",
)
@click.pass_context
def apply_command(
    ctx: click.Context,
    planfile: Path | None,
    settings: ApiSettings,
    config_path: Path,
    planning: options.Planning,
    auto_approve: bool,
    output_format: str,
    write_ids: bool,
    lock_timeout: float,
    max_plan_age: timedelta,
    stop_timeout: float,
) -> None:
    """Carry out the plan: the config's (planned now), or a saved PLANFILE. The plan is shown
    first; on a terminal, apply asks before changing anything.

    A saved plan is applied only where it was made (same API address and session) and only
    if every group it changes is still as the plan saw it; otherwise it is refused, showing
    what changed. Its pictures, state file and --write-ids use the config it was made from,
    unless -f says otherwise. A saved plan is applied once, within --max-plan-age of being
    made, and only while the config is as it was made from.

    One apply at a time: apply holds a lock beside the state file from planning to its last
    save, and waits up to --lock-timeout for another run to let go.

    Interrupted (SIGINT, SIGTERM) before it changes anything, apply stops at once; after, it
    sends no new change, gives the calls in flight --stop-timeout to finish, saves the state
    file, reports what was done (and the new groups' ids; --write-ids writes them), and exits
    130 or 143. A second signal stops the wait.

    \b
    Exit status: 0 done (or nothing to do, or declined); 1 an error, a refusal, or a change
    that failed; 4 a saved plan refused as out of date (too old, its config or its groups
    changed since it was made: nothing was changed, make a new plan); 130 or 143
    interrupted by SIGINT or SIGTERM.
    """
    confirm = None if auto_approve else asker("Apply these changes?")
    desired = saved = whole = None

    def each(runs: list[tuple[DesiredState, Plan | None, ApiSettings]]) -> None:
        _apply_each(
            runs,
            planning,
            config_path,
            (output_format, auto_approve, write_ids),
            (lock_timeout, max_plan_age),
            stop_timeout,
        )

    if planfile is not None:
        from_flag = ctx.get_parameter_source("config_path") is not ParameterSource.DEFAULT
        several, config_path = options.read_plans(
            planfile, planning.only, config_path, from_flag, settings
        )
        options.check_plan_shard(planfile, [plan for plan, _ in several], planning.shard)
        if len(several) > 1:  # a file of several sessions' plans
            config = load(config_path, pictures=False)
            each([(config, plan, _paced(own, config)) for plan, own in several])
            return
        ((saved, settings),) = several
        # Which state file the plan was made with: its session's (sessions:), or the default.
        whole = load(config_path, pictures=False) if config_path.exists() else None
        if whole is not None:
            settings = _paced(settings, whole)
            planning = replace(
                planning,
                state_path=options.state_path_for(planning, config_path, whole, settings),
            )
    else:
        runs = options.load_sessions(config_path, planning.only, settings, planning.shard)
        if len(runs) > 1:
            each([(desired, None, own) for desired, own in runs])
            return
        desired, settings = runs[0]
        planning = replace(
            planning, state_path=options.state_path_for(planning, config_path, desired, settings)
        )
    as_json = output_format == "json"
    run = replace(
        planning.run(settings, config_path, desired or whole),
        lock_timeout=lock_timeout,
        max_plan_age=max_plan_age,
    )

    def waiting(holder: str) -> None:
        click.echo(
            f"waiting up to {lock_timeout:g} s (--lock-timeout) for another run: {holder}",
            err=True,
        )

    signals = Signals(Stop(grace=stop_timeout))
    applied = settings.run(
        lambda client: apply_config(
            client,
            run,
            desired=desired,
            saved=saved,
            write_created_ids=write_ids,
            show=plan_shower(as_json),
            confirm=confirm,
            progress=progress_shower(as_json, pace=client.write_rate),
            on_lock_wait=waiting,
            stop=signals.stop,
        ),
        signals=signals,
    )
    with signals.deferred():
        show_applied(applied, output_format, interrupted=signals)


def _apply_each(
    runs: list[tuple[DesiredState, Plan | None, ApiSettings]],
    planning: options.Planning,
    config_path: Path,
    flags_given: tuple[str, bool, bool],
    limits: tuple[float, timedelta],
    stop_timeout: float,
) -> None:
    """A config of several sessions: each session applied at once, with its own client,
    pace, brakes, state file and lock; planned now, or the saved plan of each (a file of
    several sessions' plans: each is checked before any is applied, and one that would be
    refused refuses them all). A session that fails (a banned account) stops alone; the
    others finish, and the end says which did not. `runs`: (the config, or the session's
    groups; the saved plan, if any; the settings)."""
    output_format, auto_approve, write_ids = flags_given
    lock_timeout, max_plan_age = limits
    names = ", ".join(repr_shown(settings.session) for _, _, settings in runs)
    if not auto_approve:
        raise UsageError(
            f"this config manages several sessions ({names}): apply them all at once with"
            " --auto-approve, or one at a time with --session NAME"
        )
    if write_ids or planning.state_path is not None:
        flag = "--write-ids" if write_ids else "--state-file"
        raise UsageError(f"{flag} is for one session at a time: add --session NAME ({names})")
    as_json = output_format == "json"
    by_session = {settings.session: (desired, saved) for desired, saved, settings in runs}
    every = [settings for _, _, settings in runs]
    shared = _SharedStop(grace=stop_timeout)
    signals = Signals(shared)

    def run_of(settings: ApiSettings) -> Run:
        desired = by_session[settings.session][0]
        own = replace(
            planning, state_path=options.state_path_for(planning, config_path, desired, settings)
        )
        run = own.run(settings, config_path, desired)
        return replace(run, lock_timeout=lock_timeout, max_plan_age=max_plan_age)

    async def check_one(settings: ApiSettings, client: TitanClient) -> None:
        saved = by_session[settings.session][1]
        if saved is not None:
            await check_saved(client, run_of(settings), saved)

    if any(saved is not None for _, saved, _ in runs):
        _check_all(every, check_one)

    async def apply_one(settings: ApiSettings, client: TitanClient) -> Applied:
        desired, saved = by_session[settings.session]
        return await apply_config(
            client,
            run_of(settings),
            desired=desired if saved is None else None,
            saved=saved,
            write_created_ids=False,
            show=plan_shower(as_json),
            confirm=None,
            progress=progress_shower(as_json, pace=client.write_rate),
            stop=signals.stop,
        )

    try:
        results = ApiSettings.run_each(every, apply_one, signals=signals)
    finally:
        shared.close_for_all()
    failed: list[str] = []
    stopped: GroupctlError | None = None  # the signal's: raised once every report is shown
    with signals.deferred():
        if as_json:  # one document: each session's report, or its error
            reports = {
                settings.session or "default": result.report.to_json()
                if isinstance(result, Applied) and result.report is not None
                else {"error": str(result)}
                if isinstance(result, GroupctlError)
                else None
                for settings, result in zip(every, results, strict=True)
            }
            click.echo(in_json(json.dumps({"sessions": reports}, indent=2, ensure_ascii=False)))
        for settings, result in zip(every, results, strict=True):
            name = repr_shown(settings.session or "default")
            if isinstance(result, GroupctlError):
                click.echo(f"error: session {name}: {shown_lines(str(result))}", err=True)
                failed.append(name)
                continue
            click.echo(f"Session {name}:", err=as_json)
            try:
                show_applied(result, output_format, interrupted=signals, report_shown=as_json)
            except GroupctlError as exc:
                if signals.received is not None:
                    stopped = exc
                    continue
                click.echo(f"error: session {name}: {shown_lines(str(exc))}", err=True)
                failed.append(name)
    if stopped is not None:
        raise stopped
    if failed:
        raise GroupctlError(
            f"{count(len(failed), 'session')} of {len(runs)} did not finish: {', '.join(failed)}"
        )


def _paced(settings: ApiSettings, config: DesiredState) -> ApiSettings:
    """The settings with the pace the config gives their session (sessions:), unless one
    was given."""
    pace = config.sessions.get(settings.session or "default")
    return (
        settings
        if settings.write_rate is not None or pace is None
        else replace(settings, write_rate=pace)
    )


def _check_all(
    every: list[ApiSettings], check: Callable[[ApiSettings, TitanClient], Awaitable[None]]
) -> None:
    """Each session's saved plan checked before any is applied: one that would be refused
    refuses them all (exit 4 when each refusal is of a plan out of date)."""
    results = ApiSettings.run_each(every, check)
    refused = [
        (settings.session, result)
        for settings, result in zip(every, results, strict=True)
        if isinstance(result, GroupctlError)
    ]
    for session, error in refused:
        click.echo(f"error: session {repr_shown(session)}: {shown_lines(str(error))}", err=True)
    if refused:
        error = GroupctlError(
            f"{count(len(refused), 'session')} of {len(every)} would not apply its plan:"
            " nothing was applied"
        )
        stale = all(getattr(e, "exit_code", 1) == OUT_OF_DATE_EXIT for _, e in refused)
        error.exit_code = OUT_OF_DATE_EXIT if stale else 1  # type: ignore[attr-defined]
        raise error


class _SharedStop(Stop):
    """One stop for every session of a run: the first session to finish must not end the
    grace that the others' calls in flight still have (`Stop.close`); it ends with the run."""

    def close(self) -> None:
        return None

    def close_for_all(self) -> None:
        super().close()
