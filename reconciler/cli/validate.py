"""Commands that need no API: validate, schema."""

from __future__ import annotations

import json
from pathlib import Path

import click

from reconciler.cli.flags import config_option
from reconciler.config import load
from reconciler.config.model import config_schema
from reconciler.util.untrusted import repr_shown, shown
from reconciler.util.wording import count


@click.command()
@config_option
def validate(config_path: Path) -> None:
    """Check the config without touching the API: every mistake, as file:line:col.

    \b
    Exit status: 0 valid; 1 the config has problems (each listed), or an error.
    """
    state = load(config_path)
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


@click.command()
def schema() -> None:
    """Print the JSON Schema of the config file, for editors and other tools.

    \b
    Exit status: 0 printed.
    """
    click.echo(json.dumps(config_schema(), indent=2))
