"""templates: and extends:: a group takes the keys of the templates it names, in order, and
its own keys last. Done on the entries the loader merged from every file (a template may be
in another file than the groups that extend it), before the resolver reads any group.

A key a group takes keeps the template's place: a mistake in it is reported at the
template's line, saying which group it is for (`Location.via`), once for each group.
"""

from __future__ import annotations

import difflib
from typing import Any

from reconciler.config.entries import Entry, Merged
from reconciler.config.model import GroupSpec
from reconciler.errors import Problem


def extend(merged: Merged, problems: list[Problem]) -> None:
    """Each group of `merged` that extends templates, replaced by its merged entry."""
    for key, entry in merged.groups.items():
        if entry.value.extends:
            merged.groups[key] = _extended(key, entry, merged, problems)


def _extended(
    key: str, entry: Entry[GroupSpec], merged: Merged, problems: list[Problem]
) -> Entry[GroupSpec]:
    values: dict[str, Any] = {}
    inherited: dict[str, Entry[Any]] = {}
    invalid: set[str] = set()
    seen: set[str] = set()
    for index, name in enumerate(entry.value.extends):
        if name in seen:
            problems.append(
                Problem(entry.where("extends", index), f"template {name!r} is listed twice")
            )
            continue
        seen.add(name)
        template = merged.templates.get(name)
        if template is None:
            if f"template:{name}" not in merged.broken:  # else its problems are reported
                problems.append(Problem(entry.where("extends", index), _unknown(name, merged)))
            continue
        at = entry.where("extends", key=True)
        source = template._replace(via=f"in group {key!r}, which extends template {name!r} at {at}")
        for field in template.value.model_fields_set:
            values[field] = getattr(template.value, field)
            inherited[field] = source
            invalid.discard(field)
        for field in template.invalid:  # reported at the template; left alone here too
            values.pop(field, None)
            inherited[field] = source
            invalid.add(field)
    own = entry.value.model_fields_set
    for field in own | entry.invalid:
        values.pop(field, None)
        inherited.pop(field, None)
        invalid.discard(field)
    values.update((field, getattr(entry.value, field)) for field in own)
    return Entry(
        GroupSpec.model_construct(**values),
        entry.document,
        entry.path,
        frozenset(invalid | entry.invalid),
        inherited or None,
    )


def _unknown(name: str, merged: Merged) -> str:
    known = sorted(merged.templates)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if close:
        return f"unknown template {name!r}: did you mean {close[0]!r}?"
    if not known:
        return f"unknown template {name!r}: the config has no templates: section"
    return f"unknown template {name!r}; the templates are {', '.join(known)}"
