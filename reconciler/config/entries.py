"""The config's entries as the loader merged them from every file, each with where it came from:
what `load` hands the resolver."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Generic, NamedTuple, TypeVar

from reconciler.config.model import Defaults, GroupSpec, PersonSpec, PolicyRule, SessionSpec
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
    # A group's keys that come from templates (extends:): the template's entry for each,
    # whose locations say which group they are for.
    inherited: Mapping[str, Entry[Any]] | None = None
    via: str = ""  # for a template's entry: the group that takes it (see `Location.via`)

    def where(self, *more: str | int, key: bool = False) -> Location:
        if more and self.inherited and more[0] in self.inherited:
            return self.inherited[str(more[0])].where(*more, key=key)
        place = self.document.where((*self.path, *more), key=key)
        return replace(place, via=self.via) if self.via else place

    def part(self, name: str, value: Any) -> Entry[Any]:
        """The entry of the group's key `name`, whose value is `value`: in the template it
        comes from, if it does."""
        source = self.inherited.get(name) if self.inherited else None
        if source is not None:
            return Entry(value, source.document, (*source.path, name), via=source.via)
        return Entry(value, self.document, (*self.path, name))

    def document_of(self, name: str) -> YamlDocument:
        """The file the group's key `name` is written in (a template's, if it comes from one)."""
        source = self.inherited.get(name) if self.inherited else None
        return source.document if source is not None else self.document


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
    templates: dict[str, Entry[Any]] = field(default_factory=dict)  # TemplateSpec values
    policy: list[Entry[PolicyRule]] = field(default_factory=list)  # every file's rules
    sessions: dict[str, tuple[SessionSpec, Location]] = field(default_factory=dict)
    groups: dict[str, Entry[GroupSpec]] = field(default_factory=dict)
    settings: dict[str, Location] = field(default_factory=dict)
    # Where each "person:x", "team:x" and "group:x" is first defined, whether it passed or not:
    # a second definition is a mistake even when the first one has mistakes of its own.
    defined: dict[str, Place] = field(default_factory=dict)
    broken: set[str] = field(default_factory=set)  # the names above whose entry failed
