"""`groupctl diff`: what a change of the config changes, without the API."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from reconciler.cli.flags import config_option, format_option, mask_phones_option, use_color
from reconciler.config import load
from reconciler.config.diff import ConfigDiff, diff
from reconciler.config.gitrev import loaded_at
from reconciler.errors import UsageError
from reconciler.render import diff as render_diff
from reconciler.render.markdown import SEPARATOR
from reconciler.render.styled import Styled
from reconciler.util.untrusted import in_json, shown


@click.command("diff")
@click.argument("configs", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--base",
    metavar="GITREV",
    help="Compare the config with itself at this git revision (e.g. origin/main).",
)
@config_option
@format_option("markdown: for a pull request comment; json: for other tools.")
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0: no changes; 2: changes; 3: changes where someone leaves or loses admin, or"
    " a group is to be left or deleted (a group dropped from the config is not: it is just no"
    " longer managed); 1: error.",
)
@mask_phones_option
def diff_command(
    configs: tuple[Path, ...],
    base: str | None,
    config_path: Path,
    output_format: str,
    detailed_exitcode: bool,
    mask_phones: bool,
) -> None:
    """Compare two versions of the config: groups added, removed or renamed, and per group
    who joins, leaves, gains or loses admin. No API key needed, so it runs on pull requests
    from forks.

    \b
      groupctl diff --base origin/main            # the config now against main
      groupctl diff --base HEAD~1 -f groups/      # a directory config
      groupctl diff old.yaml new.yaml             # two files

    \b
    Exit status: 0 compared (with --detailed-exitcode: no changes; 2 changes; 3 changes where
    someone leaves or loses admin, or a group is left or deleted); 1 an error.
    """
    if configs and (base or len(configs) != 2):
        raise UsageError("compare two configs (OLD NEW), or one with itself at --base GITREV")
    if not configs and not base:
        raise UsageError("say what to compare: --base GITREV (e.g. origin/main), or OLD NEW")
    if configs:
        old_label, new_label = str(configs[0]), str(configs[1])
        result = diff(load(configs[0], pictures=False), load(configs[1], pictures=False))
    else:
        assert base is not None
        old_label, new_label = f"{base}:{config_path}", str(config_path)
        with loaded_at(base, config_path) as old:
            result = diff(old, load(config_path, pictures=False))
    if output_format == "json":
        data = {"old": old_label, "new": new_label, **result.to_json()}
        click.echo(in_json(json.dumps(data, indent=2, ensure_ascii=False)))
    elif output_format == "markdown":
        parts = render_diff.to_markdown(result, base=old_label, mask_phones=mask_phones)
        click.echo(SEPARATOR.join(parts))
    else:
        _print_text(result, old_label, new_label, mask_phones)
    if detailed_exitcode:
        sys.exit(3 if result.is_destructive else 2 if result.has_changes else 0)


def _print_text(result: ConfigDiff, old: str, new: str, mask_phones: bool) -> None:
    color = use_color()
    text = Styled(f"Config diff: {shown(old)} -> {shown(new)}\n\n", style="bold")
    for line, style in render_diff.lines(result, mask_phones=mask_phones):
        text.append(line + "\n", style=style)
    click.echo(text.render(color=color), nl=False, color=color)
