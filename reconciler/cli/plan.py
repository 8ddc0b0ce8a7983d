"""`groupctl plan`: what apply would change, in order."""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reconciler.cli.connection import ApiSettings
from reconciler.cli.flags import config_option, format_option, mask_phones_option
from reconciler.cli.options import (
    Planning,
    api_options,
    load_sessions,
    planning_options,
    state_path_for,
)
from reconciler.cli.output import refuse_if_refused, show_plan
from reconciler.core.groups import DesiredState
from reconciler.engine import planfile
from reconciler.engine.plan import Plan
from reconciler.engine.service import plan_config
from reconciler.errors import FileAccessError, GroupctlError, UnsafePlanError, UsageError
from reconciler.render import markdown
from reconciler.util.files import replace_atomically
from reconciler.util.untrusted import in_json, repr_shown, shown_lines
from reconciler.util.wording import count

if TYPE_CHECKING:
    from reconciler.titan.client import TitanClient

log = logging.getLogger("reconciler.cli")


@click.command("plan")
@config_option
@api_options
@planning_options
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PLANFILE",
    help="Also save the plan, for `groupctl apply PLANFILE`.",
)
@format_option(
    "markdown: for a pull request comment (split with <!-- groupctl: next comment --> when"
    " longer than GitHub allows); json: the plan file, sealed."
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0: no changes; 2: changes; 3: changes that remove, demote, leave or"
    " delete; 1: error.",
)
@mask_phones_option
def plan_command(
    settings: ApiSettings,
    config_path: Path,
    planning: Planning,
    out: Path | None,
    output_format: str,
    detailed_exitcode: bool,
    mask_phones: bool,
) -> None:
    """Show what apply would change, in order: read live state, compare with the config.

    \b
    Exit status: 0 the plan was made (with --detailed-exitcode: no changes; 2 changes; 3
    changes that remove, demote, leave or delete); 1 an error, a refused group, or the brakes;
    130 or 143 interrupted (SIGINT, SIGTERM).
    """
    if mask_phones and output_format == "json":
        raise UsageError("--mask-phones is for text and markdown: the JSON plan is exact data")
    runs = load_sessions(config_path, planning.only, settings, planning.shard)
    if len(runs) > 1:
        names = ", ".join(repr_shown(s.session) for _, s in runs)
        if planning.state_path is not None:
            raise UsageError(
                "--state-file is the file of one session: add --session NAME (this config"
                f" manages {names})"
            )
        _plan_each(
            runs, planning, config_path, (output_format, mask_phones), out, detailed_exitcode
        )
        return
    desired, settings = runs[0]
    state_path = state_path_for(planning, config_path, desired, settings)
    run = replace(planning, state_path=state_path).run(settings, config_path, desired)
    result = settings.run(lambda client: plan_config(client, run, desired))
    started = time.perf_counter()
    show_plan(result, output_format, mask_phones, key=settings.api_key)
    log.info("plan printed in %.2f s", time.perf_counter() - started)
    if out is not None:
        try:
            replace_atomically(out, planfile.dumps(result, key=settings.api_key).encode())
        except OSError as exc:
            raise FileAccessError(f"{out}: cannot write the plan: {exc.strerror}") from None
    if result.stopped_by_brakes:
        raise UnsafePlanError(result.brakes)
    refuse_if_refused(result)
    if detailed_exitcode:
        sys.exit(3 if result.is_destructive else 2 if result.has_changes else 0)


def _plan_each(
    runs: list[tuple[DesiredState, ApiSettings]],
    planning: Planning,
    config_path: Path,
    shown_as: tuple[str, bool],
    out: Path | None,
    detailed_exitcode: bool,
) -> None:
    """A config of several sessions: each session planned at once, with its own client, and
    shown one after the other; a session that fails (a banned account) is said, and the
    others are shown all the same. `--out` (and `--format json`) is one file of every
    session's plan, which apply applies whole; none is written when a session failed."""
    output_format, mask_phones = shown_as
    by_session = {settings.session: desired for desired, settings in runs}

    async def plan_one(settings: ApiSettings, client: TitanClient) -> Plan:
        desired = by_session[settings.session]
        state_path = state_path_for(planning, config_path, desired, settings)
        run = replace(planning, state_path=state_path).run(settings, config_path, desired)
        return await plan_config(client, run, desired)

    results = ApiSettings.run_each([settings for _, settings in runs], plan_one)
    named = [
        (settings.session or "default", result)
        for (_, settings), result in zip(runs, results, strict=True)
    ]
    plans = [plan for _, plan in named if isinstance(plan, Plan)]
    failed = [(name, error) for name, error in named if isinstance(error, GroupctlError)]
    key = runs[0][1].api_key
    bundle = planfile.bundle_dumps(plans, key=key) if not failed else None
    if out is not None and bundle is not None:
        try:
            replace_atomically(out, bundle.encode())
        except OSError as exc:
            raise FileAccessError(f"{out}: cannot write the plan: {exc.strerror}") from None
    if output_format == "json" and bundle is not None:
        click.echo(in_json(bundle))
    elif output_format == "json":
        data = {
            name: json.loads(planfile.dumps(result, key=key))
            if isinstance(result, Plan)
            else {"error": str(result)}
            for name, result in named
        }
        click.echo(in_json(json.dumps({"sessions": data}, indent=2, ensure_ascii=False)))
    else:
        for index, plan in enumerate(plans):
            if index and output_format == "markdown":  # each session's in comments of its own
                click.echo(markdown.SEPARATOR, nl=False)
            elif index:
                click.echo()
            show_plan(plan, output_format, mask_phones, key=None)
    for name, error in failed:
        click.echo(f"error: session {repr_shown(name)}: {shown_lines(str(error))}", err=True)
    if failed:
        raise GroupctlError(
            f"{count(len(failed), 'session')} of {len(runs)} could not be planned:"
            f" {', '.join(repr_shown(name) for name, _ in failed)}"
        )
    stopped = [plan for plan in plans if plan.stopped_by_brakes]
    if stopped:
        raise UnsafePlanError(stopped[0].brakes)
    for plan in plans:
        refuse_if_refused(plan)
    if detailed_exitcode:
        changes = [plan for plan in plans if plan.has_changes]
        sys.exit(3 if any(p.is_destructive for p in plans) else 2 if changes else 0)
