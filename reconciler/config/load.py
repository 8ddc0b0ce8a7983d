"""Load a config (one file, or a directory of them) into a `DesiredState`, or raise a
`ConfigError` listing every mistake, each with file:line:col and a way to fix it.

Each entry (a person, a team, a group) is checked on its own, so one bad entry does not hide
the mistakes of the others: entries that pass go on to be resolved together.
"""

from __future__ import annotations

import difflib
import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pydantic

from reconciler.config.entries import Entry, Merged, Place
from reconciler.config.model import (
    TEMPLATE_KEYS,
    ConfigFile,
    Defaults,
    GroupSpec,
    InviteLinkSpec,
    Limits,
    PersonSpec,
    PersonValue,
    PolicyRule,
    SessionLimits,
    SessionSpec,
    TeamValue,
    TemplateSpec,
)
from reconciler.config.names import name_problem
from reconciler.config.resolve import Resolver
from reconciler.config.teams import Budget
from reconciler.config.templates import extend
from reconciler.config.workspace import Workspace
from reconciler.config.yamlfile import Path_, YamlDocument, read_yaml
from reconciler.core.groups import DesiredState
from reconciler.core.limits import SESSION_NAME
from reconciler.errors import ConfigError, Location, Problem

CONFIG_SUFFIXES = (".yaml", ".yml")
_NOUNS = {"people": "person", "teams": "team", "templates": "template", "groups": "group"}
# Built once: a TypeAdapter costs more to build than all the values it then checks.
_ADAPTERS: dict[str, pydantic.TypeAdapter[Any]] = {
    "session": pydantic.TypeAdapter(str),
    "defaults": pydantic.TypeAdapter(Defaults),
    "people": pydantic.TypeAdapter(PersonValue),
    "person": pydantic.TypeAdapter(PersonSpec),
    "teams": pydantic.TypeAdapter(TeamValue),
    "policy": pydantic.TypeAdapter(PolicyRule),
    "sessions": pydantic.TypeAdapter(dict[str, SessionSpec | None]),
}
# Each key of a group on its own, with the constraints of its field.
_GROUP_FIELDS: dict[str, pydantic.TypeAdapter[Any]] = {
    name: pydantic.TypeAdapter(info.rebuild_annotation())
    for name, info in GroupSpec.model_fields.items()
}
_TEMPLATE_FIELDS = {name: _GROUP_FIELDS[name] for name in TEMPLATE_KEYS}
# The model behind each mapping of the file, for "did you mean" on an unknown key.
_MODELS: dict[Path_, type[pydantic.BaseModel]] = {
    (): ConfigFile,
    ("defaults",): Defaults,
    ("people", "*"): PersonSpec,
    ("groups", "*"): GroupSpec,
    ("groups", "*", "limits"): Limits,
    ("templates", "*"): TemplateSpec,
    ("templates", "*", "limits"): Limits,
    ("policy", "*"): PolicyRule,
    ("sessions", "*"): SessionSpec,
    ("sessions", "*", "limits"): SessionLimits,
    ("groups", "*", "invite_link"): InviteLinkSpec,
    ("templates", "*", "invite_link"): InviteLinkSpec,
    ("defaults", "invite_link"): InviteLinkSpec,
}


def load(path: Path | str, *, budget: Budget | None = None, pictures: bool = True) -> DesiredState:
    """Read, check and resolve the config at `path` (a YAML file or a directory of them);
    `budget`: what its teams and groups may expand to (see teams.py), spent as they are;
    `pictures=False`: picture files are named, not opened (nor required to exist)."""
    with _collector_paused():
        return _load(path, budget or Budget(), pictures)


# A load that leaves more new objects than this behind (a config of some thousand groups or
# teams) hands them to the permanent generation. Below it, what a collection costs is small.
FREEZE_AFTER_OBJECTS = 100_000


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector goes over every object built so far again and again
    while a big config's YAML events and teams are turned into objects, which was a third to
    a half of the time of reading one of 5 MB; what is built has no cycles to collect, so the
    collector waits until it is. A big config's objects then go to the permanent generation
    (`gc.freeze`), which no collection goes over again: a command's later collections, and
    the one at exit, would otherwise each go over them all. The few objects in cycles that
    are garbage by then (none of the load's own) stay until the process ends."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if gc.get_count()[0] > FREEZE_AFTER_OBJECTS:
                gc.freeze()
            gc.enable()


def _load(path: Path | str, budget: Budget, pictures: bool) -> DesiredState:
    problems: list[Problem] = []
    merged, root = entries(path, problems)
    state = Resolver(merged, problems, root=root, budget=budget, pictures=pictures).resolve()
    if problems:
        raise ConfigError(problems)
    return state


def entries(path: Path | str, problems: list[Problem]) -> tuple[Merged, Path]:
    """Every file's entries, checked one by one and merged (groups with their templates in),
    and the config's root; their problems are added to `problems`."""
    merged = Merged()
    root = Workspace.of(path).root
    for file in config_files(Path(path)):
        document = read_yaml(file, str(file), root=root)
        problems += document.problems
        if document.data is not None or not document.problems:
            _check_file(document, merged, problems)
    extend(merged, problems)
    return merged, root


def config_files(path: Path) -> list[Path]:
    """The files a config is read from: `path` itself, or the YAML files in that directory."""
    if path.is_dir():
        found = _yaml_files_in(path)
        if not found:
            raise ConfigError(
                [Problem(Location(str(path), 1, 1), "no .yaml or .yml files in this directory")]
            )
        return found
    if not path.exists():
        raise ConfigError(
            [
                Problem(
                    Location(str(path), 1, 1),
                    "no such file: pass -f PATH (a file or a directory) or set GROUPCTL_CONFIG",
                )
            ]
        )
    return [path]


def _yaml_files_in(directory: Path) -> list[Path]:
    """The config files below `directory`, leaving out hidden ones: .github/ workflows, editor
    and tool folders hold YAML that is not groupctl's, and .git/ can be large."""
    found: list[Path] = []
    for folder, subfolders, names in os.walk(directory):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        for name in names:
            file = Path(folder, name)
            if not name.startswith(".") and file.suffix in CONFIG_SUFFIXES and file.is_file():
                found.append(file)
    return sorted(found)


def _check_file(document: YamlDocument, merged: Merged, problems: list[Problem]) -> None:
    data = document.data
    if not isinstance(data, dict):
        problems.append(
            Problem(
                document.where(()),
                "a groupctl file is a mapping with version, people, teams and groups",
            )
        )
        return
    for key in data:
        if key not in ConfigFile.model_fields:
            problems.append(Problem(document.where((key,), key=True), _unknown_key((key,))))
    version = data.get("version")
    if not (type(version) is int and version == 1):  # not True, not 1.0
        where = document.where(("version",)) if "version" in data else document.where(())
        found = f", not {data['version']!r}" if "version" in data else ""
        problems.append(Problem(where, f"version must be 1{found} (write version: 1 at the top)"))
    for name in ("session", "defaults"):
        if data.get(name) is None:
            continue
        value = _validated(document, (name,), problems)
        here = document.where((name,), key=True)
        if name in merged.settings:
            problems.append(Problem(here, f"{name} is already set at {merged.settings[name]}"))
            continue
        merged.settings[name] = here
        if isinstance(value, Defaults):
            merged.country, merged.defaults = value.country, value
        elif value is not None:
            merged.session = value
    _check_policy(document, merged, problems)
    _check_sessions(document, merged, problems)
    for section in ("people", "teams", "templates", "groups"):
        entries = data.get(section)
        if entries is None:
            continue
        if not isinstance(entries, dict):
            problems.append(
                Problem(
                    document.where((section,)),
                    f"{section}: expected a mapping of name: value, not {_type_name(entries)}",
                )
            )
            continue
        target: dict[str, Entry[Any]] = getattr(merged, section)
        noun = _NOUNS[section]
        for key, value in entries.items():
            path = (section, key)
            if section in ("groups", "templates"):
                entry = _group_entry(document, section, key, problems)
            elif _taken_as_it_is(section, value):
                entry = Entry(value, document, path)
            else:
                valid = _validated(document, path, problems)
                entry = None if valid is None else Entry(valid, document, path)
            name, place = f"{noun}:{key}", Place(document, path)
            refused = name_problem("group key" if section == "groups" else noun, key)
            if refused is not None:  # its value is checked all the same, then left out
                problems.append(Problem(place.location(), refused))
                entry = None
            if name in merged.defined:
                problems.append(
                    Problem(
                        place.location(),
                        f"{noun} {key!r} is already defined at {merged.defined[name]}",
                    )
                )
            elif entry is None:
                merged.defined[name] = place
                merged.broken.add(name)
            else:
                merged.defined[name] = place
                target[key] = entry


def _check_sessions(document: YamlDocument, merged: Merged, problems: list[Problem]) -> None:
    """The file's sessions:, each name once in the whole config."""
    if document.data.get("sessions") is None:
        return
    found = _validated(document, ("sessions",), problems) or {}
    written = document.data["sessions"]
    # A session whose settings are wrong is still one: its groups are not "unknown".
    names = list(written) if isinstance(written, dict) else list(found)
    for name in names:
        spec = found.get(name)
        if not isinstance(name, str):
            continue  # reported by the schema
        here = document.where(("sessions", name), key=True)
        if not SESSION_NAME.fullmatch(name):
            merged.broken.add(f"session:{name}")  # its groups are not "unknown" on top
            problems.append(
                Problem(
                    here,
                    f"session {name[:80]!r}: Titan's session names are 1 to 64 letters, digits"
                    " and . _ -, starting with a letter or digit",
                )
            )
        elif name in merged.sessions:
            problems.append(
                Problem(here, f"session {name!r} is already defined at {merged.sessions[name][1]}")
            )
        else:
            merged.sessions[name] = (spec or SessionSpec(), here)


def _check_policy(document: YamlDocument, merged: Merged, problems: list[Problem]) -> None:
    """The file's policy: rules, each checked on its own, added to every other file's."""
    rules = document.data.get("policy")
    if rules is None:
        return
    if not isinstance(rules, list):
        problems.append(
            Problem(
                document.where(("policy",)),
                f"policy: expected a list of rules (- rule: ...), not {_type_name(rules)}",
            )
        )
        return
    for index in range(len(rules)):
        valid = _validated(document, ("policy", index), problems)
        if valid is not None:
            merged.policy.append(Entry(valid, document, ("policy", index)))


def _validated(document: YamlDocument, path: Path_, problems: list[Problem]) -> Any:
    """The value at `path` checked against its schema, or None with its problems recorded."""
    value = document.data.get(path[0]) if len(path) == 1 else document.data[path[0]][path[1]]
    if value is None and len(path) == 1:
        return None
    adapter = _ADAPTERS[str(path[0])]
    if path[0] == "people" and isinstance(value, dict):
        adapter = _ADAPTERS["person"]  # a mapping: report PersonSpec's errors
    try:
        return adapter.validate_python(value)
    except pydantic.ValidationError as exc:
        problems += _schema_problems(document, path, value, exc)
        return None


_PERSON_KEYS = frozenset(PersonSpec.model_fields)


def _taken_as_it_is(section: str, value: Any) -> bool:
    """Whether the schema surely takes `value`, an entry of `section`, as it is, as it takes
    most entries of a big config (a person's number as text, a team of names): one check
    instead of pydantic's, which then checks the others and says what is wrong with them."""
    if section == "people":
        # A number as text, or a mapping of a phone and a lid as text (kept as the mapping,
        # which the YAML made anyway: a model for each of tens of thousands of people was a
        # tenth of the memory a big config's load took).
        return type(value) is str or (
            type(value) is dict
            and value.keys() <= _PERSON_KEYS
            and all(type(text) is str for text in value.values())
        )
    return type(value) is list and set(map(type, value)) <= {str}  # a team


def _group_entry(
    document: YamlDocument, section: str, key: str, problems: list[Problem]
) -> Entry[Any] | None:
    """A group (or a template) checked key by key, so that one bad key does not hide the
    others' problems.

    Keys that fail are left at their defaults and named in `Entry.invalid`, for the resolver
    to leave alone.
    """
    path: Path_ = (section, key)
    value = document.data[section][key]
    fields, model = (
        (_GROUP_FIELDS, GroupSpec) if section == "groups" else (_TEMPLATE_FIELDS, TemplateSpec)
    )
    if not isinstance(value, dict):
        problems.append(
            Problem(
                document.where(path),
                f"{_NOUNS[section]} {key!r}: expected a mapping"
                f" ({'subject' if section == 'groups' else 'description'}, members...), not"
                f" {_type_name(value)}",
            )
        )
        return None
    valid: dict[str, Any] = {}
    invalid: set[str] = set()
    for name, item in value.items():
        if name not in fields:
            problems.append(
                Problem(document.where((*path, name), key=True), _unknown_key((*path, name)))
            )
            continue
        if (*path, name) in document.refused:  # said while parsing (a tag, an alias...)
            invalid.add(name)
            continue
        try:
            valid[name] = fields[name].validate_python(item)
        except pydantic.ValidationError as exc:
            problems += _schema_problems(document, (*path, name), item, exc)
            invalid.add(name)
    return Entry(model.model_construct(**valid), document, path, frozenset(invalid))


def _schema_problems(
    document: YamlDocument, base: Path_, value: Any, exc: pydantic.ValidationError
) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[Path_] = set()
    for error in exc.errors():
        inner = _data_path(value, error["loc"])
        path = (*base, *inner)
        refused = any(path[:end] in document.refused for end in range(len(path) + 1))
        if path in seen or refused:
            continue  # one problem per place; a value refused while parsing is reported already
        seen.add(path)
        kind = error["type"]
        if kind == "missing":
            where, message = document.where(path[:-1], key=True), _missing(path)
        elif kind == "extra_forbidden":
            where, message = document.where(path, key=True), _unknown_key(path)
        else:
            where = document.where(path)
            message = _wrong_value(path, _value_at(value, inner), error)
        problems.append(Problem(where, message))
    return problems


def _data_path(data: Any, loc: tuple[int | str, ...]) -> Path_:
    """pydantic's error location, keeping only the parts that name places in the data."""
    path: list[str | int] = []
    for part in loc:
        if isinstance(data, dict):
            data = data.get(part)
            path.append(part)  # present, or a missing or unknown key
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
            path.append(part)
    return tuple(path)


def _value_at(data: Any, path: Path_) -> Any:
    for part in path:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
    return data


def _dotted(path: Path_) -> str:
    return ".".join(str(part) for part in path)


def _missing(path: Path_) -> str:
    where = f" in {_dotted(path[:-1])}" if path[:-1] else ""
    return f"missing required key {path[-1]!r}{where}"


def _unknown_key(path: Path_) -> str:
    key = str(path[-1])
    shape = tuple("*" if index == 1 else part for index, part in enumerate(path[:-1]))
    if shape == ("templates", "*") and key in GroupSpec.model_fields:
        return (
            f"{key!r} cannot be in a template: it is a group's own (a template may give"
            f" {', '.join(TEMPLATE_KEYS)})"
        )
    model = _MODELS.get(shape)
    allowed = sorted(model.model_fields) if model else []
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if not allowed:
        return f"unknown key {key!r}"
    hint = f"did you mean {close[0]!r}?" if close else f"expected one of: {', '.join(allowed)}"
    return f"unknown key {key!r}: {hint}"


_KINDS = {
    "string": "text",
    "int": "a whole number",
    "bool": "true or false",
    "list": "a list",
    "dict": "a mapping",
    "model": "a mapping",
    "float": "a number",
}


def _wrong_value(path: Path_, value: Any, error: Any) -> str:
    kind = error["type"]
    if path[:1] == ("people",) and len(path) == 2:
        return (
            f"person {path[1]!r}: expected a phone number, or a mapping with phone and/or"
            f" lid, not {_type_name(value)}"
        )
    for prefix, expected in _KINDS.items():
        if kind in (f"{prefix}_type", f"{prefix}_parsing", f"{prefix}_attributes_type"):
            return f"{_dotted(path)}: expected {expected}, not {_type_name(value)}"
    # pydantic's own words ("Input should be ...") rephrased like the rest of our messages.
    bounds = error.get("ctx", {})
    if kind == "literal_error":
        return f"{_dotted(path)}: expected {bounds['expected']}, not {value!r}"
    if kind == "greater_than_equal":
        return f"{_dotted(path)}: expected {bounds['ge']:g} or more, not {value!r}"
    if kind == "less_than_equal":
        return f"{_dotted(path)}: expected {bounds['le']:g} or less, not {value!r}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{_dotted(path)}: {message}"


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    return {
        str: "text",
        bool: "true/false",
        int: "a number",
        float: "a decimal number",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)
