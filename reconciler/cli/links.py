"""`groupctl links`: the current invite links of the config's groups."""

from __future__ import annotations

import json
from pathlib import Path

import click

from reconciler.cli.connection import ApiSettings
from reconciler.cli.flags import config_option, format_option
from reconciler.cli.options import api_options, load_config, only_option
from reconciler.core.invites import LINK_WARNING
from reconciler.engine.links import invite_links
from reconciler.errors import GroupctlError
from reconciler.util.untrusted import in_json, repr_shown, shown
from reconciler.util.wording import count


@click.command("links")
@config_option
@api_options
@only_option
@format_option(
    "json: a list of {key, subject, group_id, link}, for publishing elsewhere.", ("text", "json")
)
def links_command(
    settings: ApiSettings, config_path: Path, only: tuple[str, ...], output_format: str
) -> None:
    """Print the invite links of the config's groups that exist, for publishing where only
    the people they are for can see them (an intranet page). Groups with invite_link:
    disabled are left out. Only reads: nothing is changed.

    Anyone holding a link can join its group: never paste this into a pull request, an issue
    or a public log (plan and its comments never show links).

    \b
    Exit status: 0 printed; 1 an error, or a link that could not be read (the others are
    printed).
    """
    desired, settings = load_config(config_path, only, settings)
    found = settings.run(lambda client: invite_links(client, desired, only=frozenset(only)))
    if output_format == "json":
        data = [link.to_json() for link in found]
        click.echo(in_json(json.dumps(data, indent=2, ensure_ascii=False)))
    else:
        for link in found:
            place = f"{shown(link.key)} {repr_shown(link.subject)}"
            click.echo(f"{place}: {link.link or 'not read: ' + shown(link.problem or '')}")
        click.echo(f"warning: {LINK_WARNING}", err=True)
    failed = [link for link in found if link.link is None]
    if failed:
        raise GroupctlError(f"{count(len(failed), 'invite link')} could not be read")
