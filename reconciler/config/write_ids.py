"""Write the ids of newly created groups into the config, keeping its comments and layout.

A created group that its YAML entry does not bind by `id:` would be found again by subject,
which breaks as soon as someone renames it: `apply --write-ids` records the binding.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from reconciler.config.yamlfile import MAX_FILE_BYTES
from reconciler.core.groups import DesiredState
from reconciler.core.jid import Jid
from reconciler.errors import FileAccessError
from reconciler.util.files import check_writable, inside, read_regular, replace_atomically


def write_ids(desired: DesiredState, created: Mapping[str, Jid], *, root: Path) -> list[Path]:
    """Add `id:` to each created group's entry, in the file that defines it; the files changed.
    Each must be a regular file inside the config's directory `root` (no symlink out of it)."""
    by_file: dict[Path, dict[str, Jid]] = {}
    for file, key in _entries(desired, created):
        by_file.setdefault(file, {})[key] = created[key]
    for file, ids in by_file.items():
        _write(file, ids, root)
    return sorted(by_file)


def check_ids_writable(desired: DesiredState, keys: Collection[str], *, root: Path) -> None:
    """Before apply changes anything: the files `write_ids` would write the ids of groups
    `keys` into can be written (FileAccessError if not), so that a run does not create groups
    only to find it cannot record them."""
    for file in sorted({file for file, _ in _entries(desired, keys)}):
        try:
            check_writable(file, root)
            read_regular(file, limit=MAX_FILE_BYTES)
        except OSError as exc:
            raise FileAccessError(
                f"{file}: --write-ids could not write the new groups' ids into it:"
                f" {exc.strerror or exc}. Nothing was changed"
            ) from None


def _entries(desired: DesiredState, keys: Collection[str]) -> list[tuple[Path, str]]:
    """(file, key) of each group of `keys` whose entry has no `id:` yet."""
    return [
        (Path(group.source.file), group.key)
        for group in desired.groups
        if group.key in keys and group.id is None and group.source is not None
    ]


def _write(file: Path, ids: Mapping[str, Jid], root: Path) -> None:
    """Insert one `id:` line (or item, in a flow mapping) per group, touching nothing else: a
    dump of the whole file would re-indent and re-wrap what people wrote their own way."""
    # Only when there are ids to write: a plan never loads the round-trip YAML library.
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        inside(file, root)
        text = read_regular(file, limit=MAX_FILE_BYTES).decode("utf-8")
        groups = YAML().load(text)["groups"]  # round-trip: it knows where each key stands
        lines = text.splitlines(keepends=True)
        # Bottom up, so that an insertion does not move the places still to edit.
        for line, column, insert in sorted(
            (_insertion(groups, key, group_id) for key, group_id in ids.items()), reverse=True
        ):
            lines[line] = lines[line][:column] + insert + lines[line][column:]
        replace_atomically(file, "".join(lines).encode())
    except (OSError, UnicodeDecodeError, KeyError, TypeError, YAMLError) as exc:
        raise FileAccessError(f"{file}: cannot write the new groups' ids: {exc}") from None


def _insertion(groups: Any, key: str, group_id: Jid) -> tuple[int, int, str]:
    """Where to insert the id of group `key` (`groups`: ruamel's CommentedMap of the file's
    groups), and what: (line, column, text)."""
    entry = groups[key]
    item = f'id: "{group_id}"'
    if not entry:  # {} (or nothing): the id goes just inside the braces
        line, column = groups.lc.value(key)
        return line, column + 1, item
    line, column = entry.lc.key(next(iter(entry)))
    if entry.fa.flow_style():
        return line, column, f"{item}, "
    return line, 0, " " * column + item + "\n"
