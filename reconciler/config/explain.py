"""`groupctl validate --explain KEY`: a group as its templates and defaults make it, each
key with the place it comes from."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from reconciler.config.load import entries
from reconciler.config.model import Defaults, GroupSpec
from reconciler.errors import ConfigError, Location, Problem, UsageError


@dataclass(frozen=True, slots=True)
class Origin:
    """A key's value, where it is written, and the template it comes from (None: the
    group's own), or whether it comes from defaults:."""

    value: Any
    at: Location | None
    template: str | None = None
    default: bool = False

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"value": self.value, "from": str(self.at) if self.at else None}
        if self.template is not None:
            data["template"] = self.template
        if self.default:
            data["defaults"] = True
        return data


@dataclass(frozen=True, slots=True)
class Explained:
    key: str
    at: Location
    keys: dict[str, Origin]

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "at": str(self.at),
            "keys": {name: origin.to_json() for name, origin in self.keys.items()},
        }


def explain(path: Path | str, key: str) -> Explained:
    """Group `key` of the config at `path` with its templates merged in (UsageError if there
    is no such group). The config's problems are not raised: validate reports them."""
    problems: list[Problem] = []
    merged, _ = entries(path, problems)
    entry = merged.groups.get(key)
    if entry is None and problems:  # it may be one of them: the config's problems first
        raise ConfigError(problems)
    if entry is None:
        raise UsageError(f"no group {key!r} in the config")
    inherited = entry.inherited or {}
    keys: dict[str, Origin] = {}
    for name in GroupSpec.model_fields:
        source = inherited.get(name)
        if name not in entry.value.model_fields_set and source is None:
            continue
        at = replace(entry.where(name), via="")
        keys[name] = Origin(
            _plain(getattr(entry.value, name)), at, str(source.path[-1]) if source else None
        )
    defaults = merged.defaults
    for name in Defaults.model_fields:
        if name in GroupSpec.model_fields.keys() & defaults.model_fields_set - keys.keys():
            value = _plain(getattr(defaults, name))
            keys[name] = Origin(value, merged.settings.get("defaults"), default=True)
    return Explained(key, entry.where(key=True), keys)


def _plain(value: Any) -> Any:
    """A key's value as the config writes it."""
    if isinstance(value, BaseModel):
        if getattr(value, "disabled", False):
            return "disabled"
        return value.model_dump(mode="json", exclude_unset=True)
    return value
