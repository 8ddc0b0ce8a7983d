"""`groupctl shards N`: the CI matrix that splits a config's groups into N jobs per session."""

from __future__ import annotations

import json
from pathlib import Path

import click

from reconciler.cli.flags import config_option, format_option
from reconciler.config import load
from reconciler.config.shards import MAX_SHARDS, shard_of
from reconciler.util.untrusted import in_json, shown
from reconciler.util.wording import count as count_of


@click.command("shards")
@config_option
@click.argument("count", metavar="N", type=click.IntRange(1, MAX_SHARDS))
@format_option(
    "json: a GitHub Actions matrix, {session: [...], shard: [1/N, ...]}, for"
    " strategy.matrix: fromJSON(...) of a previous job's output.",
    ("text", "json"),
)
def shards_command(config_path: Path, count: int, output_format: str) -> None:
    """Print how N jobs split the config: every session (with sessions:) times N shards,
    each job a `--session NAME --shard K/N` run; every group is in exactly one. No API key
    needed.

    \b
    Exit status: 0 printed; 1 the config has problems, or an error.
    """
    desired = load(config_path, pictures=False)
    declared = bool(desired.sessions) or any(g.session for g in desired.groups)
    # The sessions with groups: a job for an account with none would only call it.
    sessions = sorted({desired.session_of(g) for g in desired.groups}) if declared else []
    shards = [f"{number}/{count}" for number in range(1, count + 1)]
    if output_format == "json":
        # Always a session, the config's own when it declares none: each job can then say
        # --session ${{ matrix.session }}, and its files and caches be named by it.
        matrix = {"session": sessions or [desired.session or "default"], "shard": shards}
        click.echo(in_json(json.dumps(matrix, ensure_ascii=False)))
        return
    for session in sessions or [desired.session or "default"]:
        sizes = [0] * count
        for group in desired.groups:
            if desired.session_of(group) == session:
                sizes[shard_of(session, group.key, count) - 1] += 1
        for number, size in enumerate(sizes, start=1):
            flag = f"--session {shown(session)} " if sessions else ""
            click.echo(f"{flag}--shard {number}/{count}: {count_of(size, 'group')}")
