"""`groupctl import`: a config written from live groups, to start managing them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import click

from reconciler.cli.connection import ApiSettings
from reconciler.cli.options import api_options_of_sessions
from reconciler.config import load
from reconciler.config.importer import Imported, SessionGroups, check_beside, write_config
from reconciler.core.jid import parse_group_jid
from reconciler.engine.service import check_import_found, read_for_import
from reconciler.errors import FileAccessError, GroupctlError, SettingsError, UsageError
from reconciler.util.files import replace_atomically
from reconciler.util.untrusted import shown
from reconciler.util.wording import count


@click.command("import")
@api_options_of_sessions
@click.option(
    "--group", "groups", multiple=True, metavar="JID", help="Import this group (repeat for more)."
)
@click.option("--all", "all_groups", is_flag=True, help="Import every group of the session.")
@click.option(
    "-o",
    "--output",
    "output_given",
    type=click.Path(),
    help="Write the config here: a file, or a directory (an existing one, or a path ending"
    " in /). Default: print it. A config over 4 MB is split into several files, which"
    " needs a directory.",
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
    sessions: tuple[str, ...],
    groups: tuple[str, ...],
    all_groups: bool,
    output_given: str | None,
    people_path: Path | None,
    overwrite: bool,
) -> None:
    """Write a config from live groups: people, ids, subjects, descriptions, members and
    admins, so that a plan of it shows no changes. Start managing existing groups with it.

    With several --session, every account is read at once into one config: the first is its
    session:, each is declared under sessions:, and each group names its account. A group
    more than one account is in is written once, for the first of them that is admin in it.

    \b
      groupctl import --all -o groups.yaml
      groupctl import --all --session support --session sales -o groups.yaml
      groupctl import --group 120363012345678901@g.us --people groups.yaml

    \b
    Exit status: 0 written; 1 an error; 130 or 143 interrupted (SIGINT, SIGTERM).
    """
    if bool(groups) == all_groups:
        raise UsageError("say which groups: --group JID (repeat for more), or --all")
    output = Path(output_given) if output_given is not None else None
    # A directory: one that exists, or a path written as one (Path() drops the final /).
    into_directory = output_given is not None and (
        Path(output_given).is_dir() or output_given.endswith("/")
    )
    if output is not None and not into_directory and output.exists() and not overwrite:
        raise UsageError(f"{output} exists: choose another name, or --overwrite")
    only = [parse_group_jid(group) for group in groups]
    known = load(people_path) if people_path is not None else None
    # A file written into the --people config's directory is read with it as one config
    # (`-f DIR`): it then repeats neither its session nor its people, nor takes its group
    # keys. (Beside a config of one file, it stays a config of its own: -f reads one file.)
    beside = (
        people_path is not None
        and people_path.is_dir()
        and output is not None
        and not into_directory
        and _inside(output, people_path)
    )
    if beside and known is not None and not sessions:
        settings = settings.for_config(known.session)
    names = list(sessions) or [settings.session or "default"]
    if beside and known is not None:
        check_beside(known, names)  # before any call

    if len(names) == 1:
        reads = [settings.run(lambda client: read_for_import(client, only=only))]
    else:
        every = ApiSettings.run_each(
            [replace(settings, session=name) for name in names],
            lambda _, client: read_for_import(client, only=only),
        )
        _refuse_failures(names, every)
        reads = [read for read in every if isinstance(read, SessionGroups)]
    check_import_found(reads, only)
    imported = write_config(
        reads, known=known, beside=beside, api=settings.shown_api, now=datetime.now(UTC)
    )
    for gid, chosen, others in imported.shared:
        click.echo(
            f"note: group {gid} is a group of session {', '.join(map(repr, others))} too:"
            f" written once, for {chosen!r}",
            err=True,
        )
    what = f"{count(imported.groups, 'group')}, {count(imported.people, 'person', 'people')}"
    if output is not None and into_directory:
        written = _write_directory(output, imported, overwrite)
        click.echo(f"wrote {', '.join(written)} in {output}: {what}", err=True)
        return
    if not imported.one_file:
        size = sum(len(text.encode()) for text in imported.files.values())
        raise UsageError(
            f"the config of {what} is {size / 1e6:.1f} MB, more than one file may hold:"
            " give -o a directory (e.g. -o groups/), and import writes it as"
            f" {', '.join(imported.files)} there"
        )
    if output is None:
        click.echo(imported.text, nl=False)
        return
    try:
        replace_atomically(output, imported.text.encode())
    except OSError as exc:
        raise FileAccessError(f"{output}: cannot write the config: {exc.strerror}") from None
    with_it = f", to be read with {people_path} (its people not repeated)" if beside else ""
    click.echo(f"wrote {output}: {what}{with_it}", err=True)


def _refuse_failures(names: list[str], results: list[SessionGroups | GroupctlError]) -> None:
    """Raise, naming every session that could not be read, if any could not: a config of some
    of the accounts asked for would look whole and not be."""
    failed = [(n, r) for n, r in zip(names, results, strict=True) if isinstance(r, GroupctlError)]
    if len(failed) == 1:
        raise failed[0][1]
    if failed:
        lines = "".join(f"\n  session {name!r}: {shown(str(error))}" for name, error in failed)
        raise SettingsError(
            f"{len(failed)} of {len(names)} sessions could not be read, nothing written:{lines}"
        )


def _inside(path: Path, directory: Path) -> bool:
    """Whether `path` is in `directory` or below it."""
    return path.resolve().parent.is_relative_to(directory.resolve())


def _write_directory(directory: Path, imported: Imported, overwrite: bool) -> list[str]:
    """Write the config's files into `directory` (made if missing); the names written. Any
    other YAML file there would be merged into the config when it is loaded: refused."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        present = {p.name for p in directory.iterdir() if p.suffix in (".yaml", ".yml")}
    except OSError as exc:
        raise FileAccessError(
            f"{directory}: cannot write the config there: {exc.strerror}"
        ) from None
    others = sorted(present - set(imported.files))
    if others:
        raise UsageError(
            f"{directory} holds {', '.join(others)}, which would be merged into the imported"
            " config: choose an empty directory"
        )
    clash = sorted(present & set(imported.files))
    if clash and not overwrite:
        raise UsageError(f"{directory} holds {', '.join(clash)}: choose another, or --overwrite")
    for name, text in imported.files.items():
        try:
            replace_atomically(directory / name, text.encode())
        except OSError as exc:
            raise FileAccessError(
                f"{directory / name}: cannot write the config: {exc.strerror}"
            ) from None
    return list(imported.files)
