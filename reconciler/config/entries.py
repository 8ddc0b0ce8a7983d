"""The config's entries as the loader merged them from every file, each with where it came from:
what `load` hands the resolver."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, NamedTuple, TypeVar

from reconciler.config.model import Defaults, GroupSpec, PersonSpec
from reconciler.config.yamlfile import Path_, YamlDocument
from reconciler.errors import Location

_T = TypeVar("_T")


# Tuples, not dataclasses: a config makes one per person, team and group (100,000 of them in
# a big one), and a named tuple is made in a third of the time of a frozen dataclass.
class Entry(NamedTuple, Generic[_T]):
    """A value of the config with the file and path it came from."""

    value: _T
    document: YamlDocument
    path: Path_
    invalid: frozenset[str] = frozenset()  # keys that failed the schema: left alone

    def where(self, *more: str | int, key: bool = False) -> Location:
        return self.document.where((*self.path, *more), key=key)


class Place(NamedTuple):
    """Where a key of the config is defined: its location is found only when a message
    names it."""

    document: YamlDocument
    path: Path_

    def location(self) -> Location:
        return self.document.where(self.path, key=True)

    def __str__(self) -> str:
        return str(self.location())


@dataclass
class Merged:
    """Every file's entries that passed the schema, each with where it came from."""

    session: str | None = None
    country: str | None = None
    defaults: Defaults = field(default_factory=Defaults)
    people: dict[str, Entry[PersonSpec | dict[str, str] | str | int]] = field(default_factory=dict)
    teams: dict[str, Entry[list[str]]] = field(default_factory=dict)
    groups: dict[str, Entry[GroupSpec]] = field(default_factory=dict)
    settings: dict[str, Location] = field(default_factory=dict)
    # Where each "person:x", "team:x" and "group:x" is first defined, whether it passed or not:
    # a second definition is a mistake even when the first one has mistakes of its own.
    defined: dict[str, Place] = field(default_factory=dict)
    broken: set[str] = field(default_factory=set)  # the names above whose entry failed
