"""`groupctl status`: check the connection, the session and the key's scopes."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.cli.connection import ApiSettings
from reconciler.cli.flags import config_option
from reconciler.cli.options import api_options
from reconciler.config import load
from reconciler.errors import SettingsError
from reconciler.titan.client import TitanClient
from reconciler.titan.sessions import describe
from reconciler.util.untrusted import one_line, shown

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
def status(settings: ApiSettings, config_path: Path) -> None:
    """Check the connection: the session, its account and state, the key's scopes, and how
    many groups the session is in. Changes nothing. The session is --session, else the
    config's session: (when the config is there), else 'default'.

    \b
    Exit status: 0 ready; 1 the session is not connected, a needed scope is missing, or an
    error; 130 or 143 interrupted (SIGINT, SIGTERM).
    """
    if settings.session is None and config_path.exists():
        settings = settings.for_config(load(config_path).session)

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
        missing = [
            s for s, check in scopes.items() if check.present is False and s not in OPTIONAL_SCOPES
        ]
        if missing:
            raise SettingsError(
                f"the API key lacks {', '.join(missing)}: give it these scopes in the Titan"
                " dashboard (or create a new key with them)"
            )

    settings.run(run)
