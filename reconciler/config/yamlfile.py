"""Safe YAML with a location for every value, so each mistake can be reported as file:line:col.

The file is composed into nodes by PyYAML's safe loader and turned into plain data here, which
lets us refuse what a config file has no business containing (tags other than the standard ones,
anchors and aliases, merge keys, keys defined twice) and bound what a hostile file can cost
(size, nesting). Plain scalars that YAML 1.1 would turn into numbers but that are surely text
(`+14155550101`, `0041...`) stay text, so phone numbers survive being written without quotes.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reconciler.errors import Location, Problem
from reconciler.util.files import NotConfinedError, inside, read_regular

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 64

# libyaml's loader when PyYAML has it: some 15 times faster on a file of 3,000 groups.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STANDARD = "tag:yaml.org,2002:"
_AS_TEXT = {f"{_STANDARD}str", f"{_STANDARD}timestamp", f"{_STANDARD}binary"}
_CONSTRUCTED = {f"{_STANDARD}{name}" for name in ("int", "float", "bool", "null")}

Path_ = tuple[str | int, ...]


@dataclass
class YamlDocument:
    """A parsed file: its data, where each value and each key is, and what was wrong."""

    file: str
    data: Any = None
    values: dict[Path_, Location] = field(default_factory=dict)
    keys: dict[Path_, Location] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    refused: set[Path_] = field(default_factory=set)  # values dropped, their problem reported

    def where(self, path: Path_, *, key: bool = False) -> Location:
        """The location of `path` (its key with `key=True`), or of its nearest known parent."""
        index = self.keys if key else self.values
        for end in range(len(path), -1, -1):
            found = index.get(path[:end]) or self.values.get(path[:end])
            if found is not None:
                return found
        return Location(self.file, 1, 1)


def read_yaml(path: Path, shown: str | None = None, *, root: Path | None = None) -> YamlDocument:
    """Parse `path` safely; `shown` is how the file is named in messages. The file must be a
    regular file of at most MAX_FILE_BYTES, and inside `root` (the config's directory) when
    given: a symlink out of it, a FIFO or a device is a problem, never read."""
    document = YamlDocument(shown or str(path))

    def cannot(message: str) -> YamlDocument:
        document.problems.append(Problem(Location(document.file, 1, 1), message))
        return document

    try:
        if root is not None:
            inside(path, root)
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return cannot(
                f"the file is {size:,} bytes; groupctl reads files up to {MAX_FILE_BYTES:,}:"
                " split the config into several files in a directory"
            )
        text = read_regular(path, limit=MAX_FILE_BYTES).decode("utf-8")
    except NotConfinedError as exc:
        return cannot(f"not read: {exc}; a config is regular files in its directory")
    except (OSError, UnicodeDecodeError) as exc:
        return cannot(
            f"cannot read: {exc.strerror if isinstance(exc, OSError) else 'not UTF-8 text'}"
        )
    return parse_yaml(text, document.file)


def parse_yaml(text: str, file: str) -> YamlDocument:
    document = YamlDocument(file)
    limit = sys.getrecursionlimit()
    try:
        # The composer recurses once per nesting level; let deep documents fail as a problem.
        sys.setrecursionlimit(max(limit, 4 * MAX_DEPTH + 200))
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = _location(file, mark) if mark else Location(file, 1, 1)
        problem = " ".join(part for part in (exc.context, exc.problem) if part)
        hint = " (check the indentation)" if "block" in problem else ""
        document.problems.append(Problem(where, f"YAML syntax: {problem}{hint}"))
        return document
    except yaml.reader.ReaderError as exc:
        character = f" U+{exc.character:04X}" if isinstance(exc.character, int) else ""
        document.problems.append(
            Problem(
                _offset_location(file, text, exc.position),
                f"YAML syntax: the non-printable character{character} is not allowed: delete it",
            )
        )
        return document
    except yaml.YAMLError as exc:
        document.problems.append(Problem(Location(file, 1, 1), f"YAML syntax: {exc}"))
        return document
    except RecursionError:
        document.problems.append(
            Problem(
                Location(file, 1, 1), f"the document is nested more than {MAX_DEPTH} levels deep"
            )
        )
        return document
    finally:
        sys.setrecursionlimit(limit)
    if root is not None:
        _Converter(document).run(root)
    return document


class _Converter:
    def __init__(self, document: YamlDocument) -> None:
        self.document = document
        self.seen: set[int] = set()
        self.constructor = yaml.SafeLoader("")

    def run(self, root: yaml.Node) -> None:
        self.document.data = self.convert(root, ())

    def problem(self, node: yaml.Node, message: str, path: Path_ | None = None) -> None:
        self.document.problems.append(
            Problem(_location(self.document.file, node.start_mark), message)
        )
        if path is not None:
            self.document.refused.add(path)

    def convert(self, node: yaml.Node, path: Path_) -> Any:
        self.document.values.setdefault(path, _location(self.document.file, node.start_mark))
        if id(node) in self.seen:
            self.problem(
                node,
                "YAML anchors and aliases (&name, *name) are not supported:"
                " use teams: for member lists that several groups share",
                path,
            )
            return None
        self.seen.add(id(node))
        if len(path) > MAX_DEPTH:
            self.problem(node, f"the document is nested more than {MAX_DEPTH} levels deep", path)
            return None
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != f"{_STANDARD}seq":
                self.bad_tag(node, path)
                return None
            return [self.convert(item, (*path, index)) for index, item in enumerate(node.value)]
        return self.scalar(node, path)

    def mapping(self, node: yaml.MappingNode, path: Path_) -> dict[str, Any] | None:
        if node.tag != f"{_STANDARD}map":
            self.bad_tag(node, path)
            return None
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == f"{_STANDARD}merge":
                self.problem(key_node, "YAML merge keys (<<) are not supported: write the keys out")
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(key_node, "a key must be plain text, not a list or a mapping")
                continue
            key = str(key_node.value)
            key_path = (*path, key)
            if key in result:
                first = self.document.keys[key_path]
                self.problem(key_node, f"{key!r} is defined twice (first at line {first.line})")
                continue
            self.document.keys[key_path] = _location(self.document.file, key_node.start_mark)
            result[key] = self.convert(value_node, key_path)
        return result

    def scalar(self, node: yaml.Node, path: Path_) -> Any:
        text = node.value
        if node.tag in _AS_TEXT:
            return text
        if node.tag == f"{_STANDARD}int" and text[:1] in ("+", "0") and len(text) > 1:
            return text  # a phone number, not a number: "+1415..." or "0041..."
        if node.tag in _CONSTRUCTED:
            return self.constructor.construct_object(node)
        self.bad_tag(node, path)
        return None

    def bad_tag(self, node: yaml.Node, path: Path_) -> None:
        tag = node.tag.replace(_STANDARD, "!!", 1)
        self.problem(node, f"the YAML tag {tag} is not allowed in a groupctl file", path)


def _location(file: str, mark: Any) -> Location:
    return Location(file, mark.line + 1, mark.column + 1)


def _offset_location(file: str, text: str, offset: int) -> Location:
    """Where the reader stopped: libyaml counts UTF-8 bytes, PyYAML's own reader characters."""
    if _LOADER is not yaml.SafeLoader:
        before = text.encode("utf-8", "surrogatepass")[:offset].decode("utf-8", "ignore")
    else:
        before = text[:offset]
    line_start = before.rfind("\n") + 1
    return Location(file, before.count("\n") + 1, len(before) - line_start + 1)
