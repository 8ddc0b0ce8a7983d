"""`groupctl status`: check the connection."""

from __future__ import annotations

import asyncio

import click

from reconciler.cli.common import api_options
from reconciler.cli.root import cli
from reconciler.connect import ApiSettings
from reconciler.errors import SetupError


@cli.command()
@api_options
def status(settings: ApiSettings) -> None:
    """Check the connection: the session, its account, and how many groups it is in."""

    async def run() -> None:
        async with settings.open_client() as client:
            info = await client.get_session()
            account = info.me.id.display() if info.me else "unknown account"
            click.echo(f"API:     {settings.api}")
            click.echo(f"Session: {info.name} ({info.status}) as {account}")
            if info.status != "CONNECTED":
                raise SetupError(
                    f"session {info.name!r} is not connected ({info.status}):"
                    " connect it in Titan (scan its QR code), then try again"
                )
            groups = await client.list_groups()
        click.echo(f"Groups:  {len(groups)}")

    asyncio.run(run())
