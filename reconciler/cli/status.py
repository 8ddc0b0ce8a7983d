"""`groupctl status`: check the connection, the session and the key's scopes."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import click

from reconciler.cli.connection import ApiSettings
from reconciler.cli.flags import config_option
from reconciler.cli.options import api_options
from reconciler.config import load
from reconciler.config.shards import sessions_of
from reconciler.core.groups import DesiredState, ListedGroup
from reconciler.engine.matching import match_groups
from reconciler.errors import ApiError, GroupctlError, SettingsError
from reconciler.titan.client import TitanClient
from reconciler.titan.models import Group
from reconciler.titan.sessions import describe
from reconciler.util.untrusted import one_line, quoted, repr_shown, shown, shown_lines
from reconciler.util.wording import count

# Scopes groupctl needs, and what for.
NEEDED_SCOPES = {
    "sessions:read": "who the session's account is",
    "groups:read": "plan: read groups and participants",
    "groups:manage": "apply: create groups, change them and their participants",
    "messages:write": "only for invite_by_message: send invite links",
}
OPTIONAL_SCOPES = frozenset({"messages:write"})


@click.command()
@config_option
@api_options
@click.option(
    "--groups",
    "list_them",
    is_flag=True,
    help="List the session's groups too: id, members (one read of each group) and the config"
    " entry that manages it ('-' for none), then the subject.",
)
def status(settings: ApiSettings, config_path: Path, list_them: bool) -> None:
    """Check the connection: the session, its account and state, the key's scopes, and how
    many groups the session is in. Changes nothing. The session is --session, else the
    config's session: (when the config is there), else 'default'; a config of several
    sessions (sessions:) has each checked.

    \b
    Exit status: 0 ready; 1 the session is not connected, a needed scope is missing, or an
    error; 130 or 143 interrupted (SIGINT, SIGTERM).
    """
    # The config is read for its session when none is given, and for which entry manages
    # which group when they are listed; a broken config does not stop the rest otherwise.
    needed = settings.session is None or list_them
    desired = load(config_path, pictures=False) if needed and config_path.exists() else None
    if settings.session is None and desired is not None and desired.sessions:
        # A config of several accounts: each of its sessions, one after the other.
        failed = []
        for index, session in enumerate(sessions_of(desired)):
            if index:
                click.echo()
            try:
                _status(replace(settings, session=session), desired, list_them)
            except GroupctlError as exc:
                click.echo(f"error: {shown_lines(str(exc))}", err=True)
                failed.append(repr_shown(session))
        if failed:
            raise GroupctlError(f"not ready: {count(len(failed), 'session')}: {', '.join(failed)}")
        return
    if settings.session is None and desired is not None:
        settings = settings.for_config(desired.session)
    _status(settings, desired, list_them)


def _status(settings: ApiSettings, desired: DesiredState | None, list_them: bool) -> None:
    """The status of one session (see `status`)."""

    async def run(client: TitanClient) -> None:
        info = await client.get_session()
        account = info.phone.display() if info.phone else "no account yet"
        name = f" ({info.push_name})" if info.push_name else ""
        reason = f", {info.status_reason}" if info.status_reason else ""
        click.echo(f"API:      {settings.shown_api}")
        # The session's names and reason are WhatsApp's text: kept on this line.
        click.echo(shown(f"Session:  {info.name}: {info.status}{reason}, as {account}{name}"))
        if not info.connected:
            raise SettingsError(describe(info.name, info.status, info.status_reason))
        scopes = await client.check_scopes()
        for scope, check in scopes.items():
            state = {True: "ok", False: "MISSING", None: "NOT CHECKED"}[check.present]
            why = f" ({one_line(check.why, limit=200)})" if check.why else ""
            click.echo(f"Scope:    {scope:<15} {state}{why}: {NEEDED_SCOPES[scope]}")
        groups = await client.list_groups()
        click.echo(f"Groups:   {len(groups)}")
        if list_them:
            await _list(client, groups, desired)
        missing = [
            s for s, check in scopes.items() if check.present is False and s not in OPTIONAL_SCOPES
        ]
        if missing:
            raise SettingsError(
                f"the API key lacks {', '.join(missing)}: give it these scopes in the Titan"
                " dashboard (or create a new key with them)"
            )

    settings.run(run)


async def _list(client: TitanClient, groups: list[Group], desired: DesiredState | None) -> None:
    """Each group: its id, how many participants it has (the session included), the config
    entry that manages it, and its subject (WhatsApp's text, quoted)."""
    listed = [ListedGroup(group.id, group.name) for group in groups]
    managed: dict[str, str] = {}
    if desired is not None and desired.session == client.session:
        bound = match_groups(desired, listed).bound
        managed = {gid: key for key, gid in bound.items() if gid is not None}
    elif desired is not None:
        theirs = quoted(desired.session)  # the config's text: escaped like the rest
        click.echo(f"(the config is of session {theirs}: no group is matched to it)")
    # A group that cannot be read (left meanwhile, say) is shown without its count.
    details = await asyncio.gather(
        *(client.get_group(group.id) for group in groups), return_exceptions=True
    )
    click.echo(f"  {'id':<28} {'members':>7}  {'managed by':<24} subject")
    for group, detail in sorted(zip(groups, details, strict=True), key=lambda row: row[0].id):
        if isinstance(detail, BaseException) and not isinstance(detail, ApiError):
            raise detail
        failed = detail if isinstance(detail, ApiError) else None
        read = None if isinstance(detail, ApiError) else detail
        participants = read.participants if read is not None else None
        members = "?" if participants is None else str(len(participants))
        subject = read.name if read is not None else group.name
        key = managed.get(group.id, "-")
        click.echo(f"  {shown(group.id):<28} {members:>7}  {key:<24} {quoted(subject)}")
        if failed is not None:
            click.echo(f"    ? {shown(str(failed))}")
