"""`groupctl check`: the config's policy: rules, without the API."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.cli.flags import config_option
from reconciler.config import load
from reconciler.errors import GroupctlError
from reconciler.util.untrusted import repr_shown, shown
from reconciler.util.wording import count


@click.command("check")
@config_option
def check_command(config_path: Path) -> None:
    """Check the config against its own policy: rules (groups that must stay protect: true,
    people never removed, a largest size, admins from a team), without any API key: for a
    pull request, like diff. Each breach is printed at its group's file:line:col. plan and
    apply refuse a group that breaks a rule.

    \b
    Exit status: 0 every rule is kept; 1 a rule is broken, the config has problems, or an
    error.
    """
    state = load(config_path, pictures=False)
    breaches = 0
    for group in state.groups:
        for breach in group.broken_rules:
            breaches += 1
            click.echo(
                f"{shown(str(group.source or config_path))}: group {repr_shown(group.key)}:"
                f" {shown(breach)}"
            )
    if breaches:
        raise GroupctlError(
            f"the config breaks its policy: {count(breaches, 'breach', 'breaches')}"
        )
    click.echo(f"{config_path}: every policy rule is kept")
