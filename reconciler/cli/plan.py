"""`groupctl plan`: what apply would change, in order."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import click

from reconciler.cli.connection import ApiSettings
from reconciler.cli.flags import config_option, format_option, mask_phones_option
from reconciler.cli.options import Planning, api_options, load_config, planning_options
from reconciler.cli.output import refuse_if_refused, show_plan
from reconciler.engine import planfile
from reconciler.engine.service import plan_config
from reconciler.errors import FileAccessError, UnsafePlanError, UsageError
from reconciler.util.files import replace_atomically

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
    desired, settings = load_config(config_path, planning.only, settings, planning.shard)
    run = planning.run(settings, config_path)
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
