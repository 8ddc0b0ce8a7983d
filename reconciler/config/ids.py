"""Write the ids of newly created groups into the config, keeping its comments and layout.

A created group that its YAML entry does not bind by `id:` would be found again by subject,
which breaks as soon as someone renames it: `apply --write-ids` records the binding.
"""

from __future__ import annotations

from collections.abc import Mapping
from io import StringIO
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from reconciler.errors import SetupError
from reconciler.files import replace_atomically
from reconciler.jid import Jid
from reconciler.state import DesiredState


def write_ids(desired: DesiredState, created: Mapping[str, Jid]) -> list[Path]:
    """Add `id:` to each created group's entry, in the file that defines it; the files changed."""
    by_file: dict[Path, dict[str, Jid]] = {}
    for group in desired.groups:
        if group.key in created and group.id is None:
            file = Path(group.source.rsplit(":", 2)[0])
            by_file.setdefault(file, {})[group.key] = created[group.key]
    for file, ids in by_file.items():
        _write(file, ids)
    return sorted(by_file)


def _write(file: Path, ids: Mapping[str, Jid]) -> None:
    yaml = YAML()  # round-trip: comments, order and quoting stay as they were
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    try:
        document = yaml.load(file.read_text(encoding="utf-8"))
        for key, group_id in ids.items():
            document["groups"][key].insert(0, "id", DoubleQuotedScalarString(group_id))
        out = StringIO()
        yaml.dump(document, out)
        replace_atomically(file, out.getvalue().encode())
    except (OSError, KeyError, TypeError) as exc:
        raise SetupError(f"{file}: cannot write the new groups' ids: {exc}") from None
