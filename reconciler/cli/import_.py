"""`groupctl import`: a config written from live groups, to start managing them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from reconciler.cli.connection import ApiSettings
from reconciler.cli.options import api_options
from reconciler.config import load
from reconciler.core.jid import parse_group_jid
from reconciler.engine.service import import_groups
from reconciler.errors import FileAccessError, UsageError
from reconciler.util.files import replace_atomically
from reconciler.util.wording import count


@click.command("import")
@api_options
@click.option(
    "--group", "groups", multiple=True, metavar="JID", help="Import this group (repeat for more)."
)
@click.option("--all", "all_groups", is_flag=True, help="Import every group of the session.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the config here (default: print it).",
)
@click.option(
    "--people",
    "people_path",
    type=click.Path(exists=True, path_type=Path),
    help="A config (file or directory) whose people: name the numbers met.",
)
@click.option("--overwrite", is_flag=True, help="Replace the --output file if it exists.")
def import_command(
    settings: ApiSettings,
    groups: tuple[str, ...],
    all_groups: bool,
    output: Path | None,
    people_path: Path | None,
    overwrite: bool,
) -> None:
    """Write a config from live groups: people, ids, subjects, descriptions, members and
    admins, so that a plan of it shows no changes. Start managing existing groups with it.

    \b
      groupctl import --all -o groups.yaml
      groupctl import --group 120363012345678901@g.us --people groups.yaml
    """
    if bool(groups) == all_groups:
        raise UsageError("say which groups: --group JID (repeat for more), or --all")
    if output is not None and output.exists() and not overwrite:
        raise UsageError(f"{output} exists: choose another name, or --overwrite")
    only = [parse_group_jid(group) for group in groups]
    known = load(people_path) if people_path is not None else None

    imported = settings.run(
        lambda client: import_groups(
            client, only=only, known=known, api=settings.shown_api, now=datetime.now(UTC)
        )
    )
    if output is None:
        click.echo(imported.text, nl=False)
        return
    try:
        replace_atomically(output, imported.text.encode())
    except OSError as exc:
        raise FileAccessError(f"{output}: cannot write the config: {exc.strerror}") from None
    click.echo(
        f"wrote {output}: {count(imported.groups, 'group')},"
        f" {count(imported.people, 'person', 'people')}",
        err=True,
    )
