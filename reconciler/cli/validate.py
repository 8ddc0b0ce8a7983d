"""Commands that need no API: validate, schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reconciler.cli.flags import config_option, format_option
from reconciler.config import load
from reconciler.config.model import config_schema
from reconciler.errors import UsageError
from reconciler.util.untrusted import in_json, repr_shown, shown
from reconciler.util.wording import count

if TYPE_CHECKING:
    from reconciler.config.explain import Explained


@click.command()
@config_option
@click.option(
    "--explain",
    metavar="KEY",
    help="Also print group KEY as its templates and defaults make it, each key with the"
    " file:line:col it comes from.",
)
@format_option("json: --explain's group as JSON (and nothing else on stdout).", ("text", "json"))
def validate(config_path: Path, explain: str | None, output_format: str) -> None:
    """Check the config without touching the API: every mistake, as file:line:col.

    \b
    Exit status: 0 valid; 1 the config has problems (each listed), or an error.
    """
    if output_format == "json" and explain is None:
        raise UsageError("--format json is for --explain: validate itself says valid, or why not")
    if explain is not None:
        from reconciler.config.explain import explain as explained  # only when asked

        _show(explained(config_path, explain), output_format)
    state = load(config_path)
    if output_format == "json":
        return
    counts = [
        count(state.people, "person", "people"),
        count(state.teams, "team"),
        count(len(state.groups), "group"),
    ]
    click.echo(f"{config_path}: valid ({', '.join(counts)})")
    for group in state.groups:
        least, admins = group.policy.min_admins, len(group.state.admins)
        if group.policy.ensure == "present" and admins < least:
            click.echo(
                f"warning: {shown(str(group.source or config_path))}: group"
                f" {repr_shown(group.key)} lists {count(admins, 'admin')}, fewer than its"
                f" min_admins: {least} (the session's own number counts here if listed)",
                err=True,
            )


def _show(group: Explained, output_format: str) -> None:
    if output_format == "json":
        click.echo(in_json(json.dumps(group.to_json(), indent=2, ensure_ascii=False)))
        return
    click.echo(f"group {repr_shown(group.key)} ({shown(str(group.at))})")
    for name, origin in group.keys.items():
        value = shown(json.dumps(origin.value, ensure_ascii=False))
        where = shown(str(origin.at)) if origin.at else "?"
        if origin.template is not None:
            where += f", template {repr_shown(origin.template)}"
        elif origin.default:
            where = f"defaults: at {where}"
        click.echo(f"  {name}: {value}  # {where}")


@click.command()
def schema() -> None:
    """Print the JSON Schema of the config file, for editors and other tools.

    \b
    Exit status: 0 printed.
    """
    click.echo(json.dumps(config_schema(), indent=2))
