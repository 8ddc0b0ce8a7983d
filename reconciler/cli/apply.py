"""`groupctl apply`: carry out the config's plan, or a saved one."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import click
from click.core import ParameterSource

from reconciler.cli import flags, options
from reconciler.cli.connection import ApiSettings
from reconciler.cli.flags import Seconds
from reconciler.cli.interrupts import Signals
from reconciler.cli.output import asker, plan_shower, progress_shower, show_applied
from reconciler.engine.service import apply_config
from reconciler.engine.stopping import STOP_GRACE, Stop
from reconciler.errors import UsageError

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
    desired = saved = None
    if planfile is not None:
        if planning.shard is not None:
            raise UsageError("--shard picks groups to plan now; a saved plan is applied whole")
        from_flag = ctx.get_parameter_source("config_path") is not ParameterSource.DEFAULT
        saved, config_path, settings = options.read_plan(
            planfile, planning.only, config_path, from_flag, settings
        )
    else:
        desired, settings = options.load_config(
            config_path, planning.only, settings, planning.shard
        )
    as_json = output_format == "json"
    run = replace(
        planning.run(settings, config_path), lock_timeout=lock_timeout, max_plan_age=max_plan_age
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
