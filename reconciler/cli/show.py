"""`groupctl show`: a saved plan, rendered without the API."""

from __future__ import annotations

import json
from pathlib import Path

import click

from reconciler.cli.flags import format_option, mask_phones_option, without_final_line_break
from reconciler.cli.output import show_plan
from reconciler.engine import planfile
from reconciler.errors import FileAccessError, UsageError
from reconciler.util.untrusted import in_json, shown


@click.command("show")
@click.argument(
    "planfile_path", metavar="PLANFILE", type=click.Path(dir_okay=False, path_type=Path)
)
@format_option("markdown: as a pull request comment; json: the plan file itself.")
@mask_phones_option
@click.option(
    "--api-key",
    envvar="TITAN_API_KEY",
    show_envvar=True,
    metavar="KEY",
    help="To check the seal of a plan made with it (without, the plan is shown, unchecked).",
)
def show_command(
    planfile_path: Path, output_format: str, mask_phones: bool, api_key: str | None
) -> None:
    """Show a saved plan, as plan would print it, without calling the API: for a reviewer,
    or for the log of the job that applies it.

    A plan made against the built-in simulator is checked as apply checks it; one made with
    an API key is checked when TITAN_API_KEY is set, and otherwise shown with a warning that
    it was not (apply checks it whatever).

    \b
    Exit status: 0 shown; 1 the file cannot be read, is not a plan, or fails its check.
    """
    if mask_phones and output_format == "json":
        raise UsageError("--mask-phones is for text and markdown: the JSON plan is exact data")
    try:
        text = planfile_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise FileAccessError(f"{shown(str(planfile_path))}: cannot read the plan: {why}") from None
    key = without_final_line_break(api_key) or None
    # One plan, or each of a file of several sessions' plans, one after the other.
    plans, checked = planfile.plans_for_review(text, source=str(planfile_path), key=key)
    if not checked:
        click.echo(
            f"warning: {planfile_path} was sealed with an API key, and none is set: its seal is"
            " not checked here (apply checks it)",
            err=True,
        )
    if output_format == "json":
        click.echo(in_json(json.dumps(json.loads(text), indent=2, ensure_ascii=False)))
        return
    for plan in plans:
        show_plan(plan, output_format, mask_phones, key=None)
