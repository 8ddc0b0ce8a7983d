"""The config's entries as the loader merged them from every file, each with where it came from:
what `load` hands the resolver."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from reconciler.config.model import Defaults, GroupSpec, PersonSpec
from reconciler.config.yamlfile import Path_, YamlDocument
from reconciler.errors import Location

_T = TypeVar("_T")


@dataclass(frozen=True)
class Entry(Generic[_T]):
    """A value of the config with the file and path it came from."""

    value: _T
    document: YamlDocument
    path: Path_
    invalid: frozenset[str] = frozenset()  # keys that failed the schema: left alone

    def where(self, *more: str | int, key: bool = False) -> Location:
        return self.document.where((*self.path, *more), key=key)


@dataclass
class Merged:
    """Every file's entries that passed the schema, each with where it came from."""

    session: str | None = None
    country: str | None = None
    defaults: Defaults = field(default_factory=Defaults)
    people: dict[str, Entry[PersonSpec | str | int]] = field(default_factory=dict)
    teams: dict[str, Entry[list[str]]] = field(default_factory=dict)
    groups: dict[str, Entry[GroupSpec]] = field(default_factory=dict)
    settings: dict[str, Location] = field(default_factory=dict)
    # Where each "person:x", "team:x" and "group:x" is first defined, whether it passed or not:
    # a second definition is a mistake even when the first one has mistakes of its own.
    defined: dict[str, Location] = field(default_factory=dict)
    broken: set[str] = field(default_factory=set)  # the names above whose entry failed
