"""`groupctl show`: a saved plan, rendered without the API."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click

from reconciler.cli.flags import format_option, mask_phones_option, without_final_line_break
from reconciler.cli.output import show_plan
from reconciler.engine import planfile
from reconciler.engine.plan import Plan
from reconciler.engine.safety import assess_together
from reconciler.errors import FileAccessError, GroupctlError, UnsafePlanError, UsageError
from reconciler.render import markdown
from reconciler.util.untrusted import in_json, repr_shown, shown
from reconciler.util.wording import count

_SHARD = re.compile(r"[0-9]{1,4}/[0-9]{1,4}")


@click.command("show")
@click.argument(
    "paths", metavar="PLANFILE...", nargs=-1, required=True, type=click.Path(path_type=Path)
)
@format_option("markdown: as a pull request comment; json: the plan file itself.")
@mask_phones_option
@click.option(
    "--matrix",
    "matrix_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The matrix the plans were made by (what `groupctl shards N --format json` printed):"
    " a session and shard it has and no plan was given for is shown as missing, and show"
    " exits 1 once it has shown the rest.",
)
@click.option(
    "--api-key",
    envvar="TITAN_API_KEY",
    show_envvar=True,
    metavar="KEY",
    help="To check the seal of a plan made with it (without, the plan is shown, unchecked).",
)
def show_command(
    paths: tuple[Path, ...],
    output_format: str,
    mask_phones: bool,
    matrix_path: Path | None,
    api_key: str | None,
) -> None:
    """Show a saved plan, as plan would print it, without calling the API: for a reviewer,
    or for the log of the job that applies it.

    Several plans (files, or directories of them: each *.json there), such as the plans of a
    CI matrix's shards, are shown together: in Markdown as one pull request comment, a table
    of every plan first. They must be the plans of one run: made from the same config, each
    session and shard once.

    A plan made against the built-in simulator is checked as apply checks it; one made with
    an API key is checked when TITAN_API_KEY is set, and otherwise shown with a warning that
    it was not (apply checks it whatever).

    \b
      groupctl show plan.json
      groupctl show --format markdown --matrix matrix.json plans/

    \b
    Exit status: 0 shown; 1 a file cannot be read, is not a plan, or fails its check, or a
    plan of the --matrix is missing.
    """
    if mask_phones and output_format == "json":
        raise UsageError("--mask-phones is for text and markdown: the JSON plan is exact data")
    # With --matrix, a directory missing or empty is a matrix whose every job made no plan.
    files = [(str(path), _read(path)) for path in _plan_files(paths, empty_ok=bool(matrix_path))]
    key = without_final_line_break(api_key) or None
    if len(files) == 1:  # one plan, or each of a file of several sessions' plans
        plans, checked = planfile.plans_for_review(files[0][1], source=files[0][0], key=key)
        unchecked = [] if checked else [files[0][0]]
    else:
        plans, unchecked = planfile.several_for_review(files, key=key)
    missing = _missing(plans, _read_matrix(matrix_path)) if matrix_path else []
    stopped = assess_together(plans)  # shards within their own brakes, not together
    for source in unchecked:
        click.echo(
            f"warning: {shown(source)} was sealed with an API key, and none is set: its seal"
            " is not checked here (apply checks it)",
            err=True,
        )
    if output_format == "json":
        found = [json.loads(text) for _, text in files]
        both = found[0] if len(found) == 1 else {"plans": found}
        click.echo(in_json(json.dumps(both, indent=2, ensure_ascii=False)))
    elif output_format == "markdown" and (len(files) != 1 or missing):
        comments = markdown.render_several(
            plans, mask_phones=mask_phones, missing=missing, stopped=stopped
        )
        click.echo(markdown.SEPARATOR.join(comments))
    else:
        for index, plan in enumerate(plans):
            if index and output_format == "markdown":  # each in comments of its own
                click.echo(markdown.SEPARATOR, nl=False)
            elif index:
                click.echo()
            show_plan(plan, output_format, mask_phones, key=None)
    for session, _ in stopped:
        click.echo(
            f"note: the shards of session {repr_shown(session)} are each within their own"
            " job's brakes, and not together:",
            err=True,
        )
    if stopped:
        raise UnsafePlanError([reason for _, reasons in stopped for reason in reasons])
    if missing:
        names = ", ".join(f"session {repr_shown(s)} shard {k}" for s, k in missing)
        raise GroupctlError(
            f"{count(len(missing), 'plan')} of the matrix missing ({names}): their jobs failed"
            " or did not run, and what they would do is not shown"
        )


def _read_matrix(path: Path) -> dict[str, list[str]]:
    """The matrix `groupctl shards --format json` printed: `shard` ("K/N", ...) and, for a
    config of several sessions, `session`."""
    try:
        found = json.loads(_read(path))
    except ValueError:
        found = None
    shard_list = found.get("shard") if isinstance(found, dict) else None
    sessions = found.get("session", []) if isinstance(found, dict) else None
    if (
        not isinstance(shard_list, list)
        or not all(isinstance(s, str) and _SHARD.fullmatch(s) for s in shard_list)
        or not isinstance(sessions, list)
        or not all(isinstance(s, str) for s in sessions)
    ):
        raise UsageError(
            f"--matrix {shown(str(path))}: not a matrix of groupctl shards --format json"
            ' ({"session": [...], "shard": ["1/N", ...]})'
        )
    return {"session": sessions, "shard": shard_list}


def _missing(plans: list[Plan], matrix: dict[str, list[str]]) -> list[tuple[str, str]]:
    """The (session, shard) pairs of the matrix without a plan. A matrix without sessions is
    of the config's one session: the plans' (else it is unknown, and shown as such)."""
    sessions = matrix["session"] or sorted({plan.session for plan in plans}) or ["?"]
    made = {(plan.session, plan.shard) for plan in plans}
    return [(s, k) for s in sessions for k in matrix["shard"] if (s, k) not in made]


def _plan_files(paths: tuple[Path, ...], *, empty_ok: bool) -> list[Path]:
    """The files given, and each *.json file of the directories given, sorted; `empty_ok`: a
    directory that is missing or holds none gives none."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir() or (empty_ok and not path.exists()):
            inside = sorted(p for p in path.glob("*.json") if p.is_file())
            if not inside and not empty_ok:
                raise FileAccessError(f"{shown(str(path))}: a directory without plan files")
            files += inside
        else:
            files.append(path)
    return list(dict.fromkeys(files))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise FileAccessError(f"{shown(str(path))}: cannot read the plan: {why}") from None
