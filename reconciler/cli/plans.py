"""`groupctl plan` and `groupctl apply`."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from reconciler.cli.connection import ApiSettings
from reconciler.cli.options import api_options, check_group_keys, config_option, use_color
from reconciler.cli.root import cli
from reconciler.config import load
from reconciler.config.write_ids import write_ids as write_created_ids
from reconciler.core.groups import DesiredState
from reconciler.engine.freshness import check_fresh
from reconciler.engine.plan import Plan
from reconciler.engine.planner import PlanPolicy
from reconciler.engine.report import ApplyReport
from reconciler.engine.safety import Brakes, assess
from reconciler.engine.service import apply_plan, check_plan_target, plan_config
from reconciler.engine.statefile import StateFile, default_state_path
from reconciler.errors import GroupctlError, SetupError, UnsafePlanError
from reconciler.render import markdown, text
from reconciler.render.progress import ApplyProgress, reread_lines
from reconciler.render.report import invite_lines
from reconciler.titan.client import TitanClient
from reconciler.util.files import replace_atomically
from reconciler.util.untrusted import one_line
from reconciler.util.wording import count

T = TypeVar("T")


def planning_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The flags plan and apply share."""
    for option in reversed(
        [
            click.option(
                "--group",
                "only",
                multiple=True,
                metavar="KEY",
                help="Only this group of the config (repeat for more).",
            ),
            click.option(
                "--max-removals",
                type=click.IntRange(0),
                default=20,
                show_default=True,
                help="Refuse a plan that removes more members than this in all.",
            ),
            click.option("--force", is_flag=True, help="Lift the safety brakes on removals."),
            click.option(
                "--remove-unresolved",
                is_flag=True,
                help="Also remove participants known only by a LID that no one in the"
                " config has (kept by default: they may be people listed by number).",
            ),
            click.option(
                "--state-file",
                "state_path",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Where groupctl remembers invitations and recent leavers. Default:"
                " .groupctl-state.json beside the config.",
            ),
        ]
    ):
        command = option(command)
    return command


@cli.command("plan")
@config_option
@api_options
@planning_options
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PLANFILE",
    help="Also save the plan, for `groupctl apply PLANFILE`.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="markdown: for a pull request comment (split with <!-- groupctl: next"
    " comment --> when longer than GitHub allows).",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0: no changes; 2: changes; 3: changes that remove, demote, leave or"
    " delete; 1: error.",
)
@click.option(
    "--mask-phones", is_flag=True, help="text and markdown: show only the last 4 digits of numbers."
)
def plan_command(
    settings: ApiSettings,
    config_path: Path,
    only: tuple[str, ...],
    max_removals: int,
    force: bool,
    remove_unresolved: bool,
    state_path: Path | None,
    out: Path | None,
    output_format: str,
    detailed_exitcode: bool,
    mask_phones: bool,
) -> None:
    """Show what apply would change, in order: read live state, compare with the config."""
    if mask_phones and output_format == "json":
        raise SetupError("--mask-phones is for text and markdown: the JSON plan is exact data")
    desired, settings = _config(config_path, only, settings)
    state_file = StateFile.load(state_path or default_state_path(config_path))
    brakes = Brakes(max_removals=max_removals)
    result = _plan(
        settings, config_path, desired, only, remove_unresolved, state_file, brakes, force
    )
    _show(result, output_format, mask_phones, key=settings.api_key)
    if out is not None:
        try:
            replace_atomically(out, result.to_json(key=settings.api_key).encode())
        except OSError as exc:
            raise SetupError(f"{out}: cannot write the plan: {exc.strerror}") from None
    if result.stopped_by_brakes:
        raise UnsafePlanError(result.brakes)
    _refuse_if_refused(result)
    if detailed_exitcode:
        sys.exit(3 if result.is_destructive else 2 if result.has_changes else 0)


@cli.command("apply")
@click.argument(
    "planfile", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@config_option
@api_options
@planning_options
@click.option(
    "--auto-approve",
    is_flag=True,
    help="Apply without asking. Needed off a terminal (CI), where nobody can answer.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: print the report of what was done as JSON (the plan and progress go to stderr).",
)
@click.option(
    "--write-ids",
    is_flag=True,
    help="Write the id: of each group created into the config (comments kept).",
)
@click.pass_context
def apply_command(
    ctx: click.Context,
    planfile: Path | None,
    settings: ApiSettings,
    config_path: Path,
    only: tuple[str, ...],
    max_removals: int,
    force: bool,
    remove_unresolved: bool,
    state_path: Path | None,
    auto_approve: bool,
    output_format: str,
    write_ids: bool,
) -> None:
    """Carry out the plan: the config's (planned now), or a saved PLANFILE. The plan is shown
    first; on a terminal, apply asks before changing anything.

    A saved plan is applied only where it was made (same API address and session) and only
    if every group it changes is still as the plan saw it; otherwise it is refused, showing
    what changed. Its pictures, state file and --write-ids use the config it was made from,
    unless -f says otherwise.
    """
    if not auto_approve and not _can_ask():
        raise SetupError(
            "apply asks before changing anything, and nobody can answer here:"
            " review the plan, then run with --auto-approve"
        )
    brakes = Brakes(max_removals=max_removals)
    as_json = output_format == "json"
    desired: DesiredState | None = None
    if planfile is not None and only:
        raise SetupError("--group picks groups to plan now; a saved plan is applied whole")
    saved = (
        Plan.from_json(_read(planfile), source=str(planfile), key=settings.api_key)
        if planfile
        else None
    )
    if saved is not None:
        check_plan_target(saved, session=settings.session, api=settings.shown_api)
        if saved.config and ctx.get_parameter_source("config_path") is ParameterSource.DEFAULT:
            config_path = Path(saved.config)
            if not config_path.exists():
                raise SetupError(
                    f"the plan was made from the config {saved.config}, which is not here"
                    f" ({config_path.absolute()}): run apply where plan ran, or give the"
                    " config's path with -f"
                )
    state_file = StateFile.load(state_path or default_state_path(config_path))
    if saved is not None:
        settings = settings.for_config(saved.session)
        to_apply = assess(replace(saved, config=str(config_path)), brakes, force=force)
    else:
        desired, settings = _config(config_path, only, settings)
        to_apply = _plan(
            settings, config_path, desired, only, remove_unresolved, state_file, brakes, force
        )
    click.echo(text.to_string(to_apply, color=use_color(err=as_json)), nl=False, err=as_json)
    if to_apply.stopped_by_brakes:
        raise UnsafePlanError(to_apply.brakes)
    if not to_apply.has_changes:
        click.echo("Nothing to apply.", err=as_json)
        _refuse_if_refused(to_apply)
        return
    if not auto_approve:
        if saved is not None:  # no question about a plan that cannot be applied anyway
            _run(settings, lambda client: check_fresh(to_apply, client, state_file.pictures))
        _confirm()
    report = _apply(
        settings, to_apply, state_file, brakes, force, saved=saved is not None, as_json=as_json
    )
    _report(report, to_apply, output_format)
    created = {g.key: g.created for g in report.groups if g.created is not None}
    if write_ids and created:
        changed = write_created_ids(desired or load(config_path), created)
        click.echo(f"wrote the new groups' ids into {', '.join(map(str, changed))}", err=True)
    _refuse_if_refused(to_apply)
    if report.halted is not None:
        raise GroupctlError(f"apply stopped: {report.halted}")
    if not report.ok:
        raise GroupctlError("some changes failed: see above; run apply again to finish")


def _config(
    config_path: Path, only: tuple[str, ...], settings: ApiSettings
) -> tuple[DesiredState, ApiSettings]:
    desired = load(config_path)
    check_group_keys(desired, only)
    return desired, settings.for_config(desired.session)


def _plan(
    settings: ApiSettings,
    config_path: Path,
    desired: DesiredState,
    only: tuple[str, ...],
    remove_unresolved: bool,
    state_file: StateFile,
    brakes: Brakes,
    force: bool,
) -> Plan:
    policy = PlanPolicy(
        remove_unresolved=remove_unresolved,
        only=frozenset(only),
        session=settings.session or "default",
        api=settings.shown_api,
        config=str(config_path),
    )
    return _run(
        settings,
        lambda client: plan_config(client, desired, policy, state_file, brakes=brakes, force=force),
    )


def _run(settings: ApiSettings, work: Callable[[TitanClient], Awaitable[T]]) -> T:
    """Run `work` with a client for `settings`, closed afterwards."""

    async def run() -> T:
        async with settings.open_client() as client:
            return await work(client)

    return asyncio.run(run())


def _apply(
    settings: ApiSettings,
    to_apply: Plan,
    state_file: StateFile,
    brakes: Brakes,
    force: bool,
    *,
    saved: bool,
    as_json: bool,
) -> ApplyReport:
    terminal = sys.stderr.isatty() and not as_json
    stream = sys.stderr if as_json or terminal else sys.stdout

    async def work(client: TitanClient) -> ApplyReport:
        with ApplyProgress(to_apply, stream, terminal=terminal) as progress:
            return await apply_plan(
                client,
                to_apply,
                state_file,
                saved=saved,
                brakes=brakes,
                force=force,
                on_step=progress.step,
            )

    return _run(settings, work)


def _report(report: ApplyReport, applied: Plan, output_format: str) -> None:
    if output_format == "json":
        click.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
        return
    for group in report.groups:
        if group.created is not None:
            click.echo(f"created {group.subject!r} [{group.key}]: {group.created}")
        if group.error is not None:
            click.echo(f"failed {group.subject!r} [{group.key}]: {one_line(group.error)}", err=True)
        for line in reread_lines(applied, group):
            click.echo(line, err=group.reread_error is not None)
    for line in invite_lines(applied, report):
        click.echo(line)
    click.echo(report.summary())


def _can_ask() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def _confirm() -> None:
    if not click.confirm("Apply these changes?", default=False, err=True):
        raise SetupError("nothing applied")


def _refuse_if_refused(result: Plan) -> None:
    if result.refused:
        raise GroupctlError(f"{count(len(result.refused), 'group')} refused: see why above")


def _show(result: Plan, output_format: str, mask_phones: bool, *, key: str | None) -> None:
    if output_format == "json":
        click.echo(result.to_json(key=key))
    elif output_format == "markdown":
        click.echo(markdown.SEPARATOR.join(markdown.render(result, mask_phones=mask_phones)))
    else:
        click.echo(text.to_string(result, color=use_color(), mask_phones=mask_phones), nl=False)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SetupError(f"{path}: cannot read the plan: {exc}") from None
