"""Safe YAML with a location for every value, so each mistake can be reported as file:line:col.

The file is read as PyYAML's stream of parse events and turned into plain data here, in one
pass with a stack of its own: no tree of YAML nodes is built, no Python frame is spent per
level of nesting. That lets us refuse what a config file has no business containing (tags
other than the standard ones, anchors and aliases, merge keys, keys defined twice) and bound
what a hostile file can cost (size, nesting). Plain scalars that YAML 1.1 would turn into
numbers but that are surely text (`+14155550101`, `0041...`) stay text, so phone numbers
survive being written without quotes.

Where each value and key stands is kept as one int (its line and column), beside the list or
mapping that holds it; a `Location` is made of it only when a problem needs one.

A big config is mostly `people:` and `teams:` written one entry a line (`alice: '+1 415...'`,
`eng: [alice, team:ops]`), and PyYAML spends some microseconds on each of their events. Such a
section is read here by a regular expression instead, when every line of it is of a few
simple forms whose YAML meaning is plain (see `_Sections`); PyYAML reads the rest of the file
with the section's lines left blank, and the section is put in its place. One line of any
other form (a mapping, a value over two lines, a number, an anchor...) leaves the section to
PyYAML, as does any doubt about where it ends; the reading is the same either way
(tests/config/test_yaml_sections.py compares them, problems and locations included).
"""

from __future__ import annotations

import re
import sys
from array import array
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain
from pathlib import Path
from typing import Any, Union

import yaml

from reconciler.errors import Location, Problem
from reconciler.util.files import NotConfinedError, inside, read_regular

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 64

# libyaml's parser when PyYAML has it: some 15 times faster on a file of 3,000 groups.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STANDARD = "tag:yaml.org,2002:"
_STR, _INT, _MERGE = f"{_STANDARD}str", f"{_STANDARD}int", f"{_STANDARD}merge"
_SEQ, _MAP = f"{_STANDARD}seq", f"{_STANDARD}map"
_AS_TEXT = {_STR, f"{_STANDARD}timestamp", f"{_STANDARD}binary"}
_CONSTRUCTED = {f"{_STANDARD}{name}" for name in ("int", "float", "bool", "null")}
# YAML 1.1's implicit types of a plain scalar, by its first character, as PyYAML resolves them.
_WILDCARD = _LOADER.yaml_implicit_resolvers.get(None, [])  # none in PyYAML
_IMPLICIT = {
    first: [*resolvers, *_WILDCARD]
    for first, resolvers in _LOADER.yaml_implicit_resolvers.items()
    if first is not None
}
# First characters whose implicit types are only words (true, no, null...), none of them
# longer than 5 characters: a longer plain scalar starting with one is text, resolved at once.
_WORDS_ONLY = frozenset(
    first
    for first, resolvers in _IMPLICIT.items()
    if first.isalpha() and {tag for tag, _ in resolvers} <= {f"{_STANDARD}bool", f"{_STANDARD}null"}
)
_LONGEST_WORD = 5  # "false"
_IMPLICIT_LONG = {first: _IMPLICIT[first] for first in _IMPLICIT.keys() - _WORDS_ONLY}
_ANCHORS = (
    "YAML anchors and aliases (&name, *name) are not supported:"
    " use teams: for member lists that several groups share"
)
_TOO_DEEP = f"the document is nested more than {MAX_DEPTH} levels deep"

Path_ = tuple[str | int, ...]
# Where a node starts: its 0-based line and column, as one int (`_spot`). A config of some
# thousand groups has hundreds of thousands of nodes: the parser's marks, objects of some
# 200 bytes each, were most of the memory its load took.
Spot = int
_COLUMN_BITS = 24  # a file is at most MAX_FILE_BYTES (5 MiB), so a column is less than 2**23
_COLUMN_MASK = (1 << _COLUMN_BITS) - 1
_PAIR_BITS = 48  # a spot is less than 2**47 (a file has fewer than 2**23 lines)
_PAIR_MASK = (1 << _PAIR_BITS) - 1


class _Lines:
    """The marks of a section read by `_Sections`: the line of each key, all at one indent.
    Each key's spot, its value's and those of a list's items follow from the text."""

    __slots__ = ("indent", "lines")

    def __init__(self, lines: dict[str, int], indent: int) -> None:
        self.lines, self.indent = lines, indent

    def spots(self, key: str) -> tuple[Spot, Spot]:
        """The spot of `key` and of its value (after `key: `)."""
        line = self.lines[key] << _COLUMN_BITS
        return line | self.indent, line | (self.indent + len(key) + 2)


# The spots of a list's items; of a mapping's keys, each with its value's (`key << _PAIR_BITS |
# value`, one int where two and a second dict took a big config's people three times the
# memory); or a section's lines.
_Marks = Union["array[Spot]", dict[str, int], _Lines]


@dataclass
class YamlDocument:
    """A parsed file: its data, where each value and each key is, and what was wrong."""

    file: str
    data: Any = None
    problems: list[Problem] = field(default_factory=list)
    refused: set[Path_] = field(default_factory=set)  # values dropped, their problem reported
    # The spot of the document's root, and those of each list and mapping of `data` (by id:
    # `data` holds them, unchanged, for as long as the document lives).
    root: Spot | None = field(default=None, repr=False)
    marks: dict[int, _Marks] = field(default_factory=dict, repr=False)
    flows: dict[int, array[int]] = field(default_factory=dict, repr=False)  # see _flow_columns

    def where(self, path: Path_, *, key: bool = False) -> Location:
        """The location of `path` (its key with `key=True`), or of its nearest known parent."""
        found: list[tuple[Spot | None, Spot | None]] = [(None, self.root)]  # key, value
        data = self.data
        flow: Spot | None = None  # where a list of a section's line starts (its "[")
        for part in path:
            marks = self.marks.get(id(data))
            if isinstance(marks, dict) and isinstance(part, str) and part in data:
                pair = marks[part]
                found.append((pair >> _PAIR_BITS, pair & _PAIR_MASK))
                flow = None
            elif isinstance(marks, _Lines) and isinstance(part, str) and part in data:
                found.append(marks.spots(part))
                flow = found[-1][1]
            elif isinstance(marks, array) and isinstance(part, int) and 0 <= part < len(data):
                found.append((None, marks[part]))
            elif flow is not None and isinstance(part, int) and 0 <= part < len(data):
                found.append((None, flow + self._flow_columns(data)[part]))
                flow = None
            else:
                break
            data = data[part]
        for key_spot, value_spot in reversed(found):
            spot = key_spot if key and key_spot is not None else value_spot
            if spot is not None:
                return _location(self.file, spot)
        return Location(self.file, 1, 1)

    def _flow_columns(self, items: list[str]) -> array[int]:
        """How far each item of a list of a section's line (`[a, b, c]`) is from its "[":
        after the items before it and their ", ". Worked out once a list, when asked."""
        columns = self.flows.get(id(items))
        if columns is None:
            columns = self.flows[id(items)] = array("q", [1])
            for item in items[:-1]:
                columns.append(columns[-1] + len(item) + 2)
        return columns


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


def parse_yaml(text: str, file: str, *, sections: bool = True) -> YamlDocument:
    """`text` read as the file `file`; `sections=False`: every line by PyYAML (see the
    module's docstring)."""
    read = _Sections.of(text) if sections else None
    if read is not None:
        document = _parse(read.blanked, file)
        if read.grafted(document):
            return document
    return _parse(text, file)


def _parse(text: str, file: str) -> YamlDocument:
    document = YamlDocument(file)
    loader = _LOADER(text)
    try:
        _Converter(document, loader.get_event).run()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = _location(file, mark) if mark else Location(file, 1, 1)
        problem = " ".join(part for part in (exc.context, exc.problem) if part)
        if mark is not None and text[mark.index : mark.index + 1] == "\t":
            # PyYAML says "found character that cannot start any token", which says nothing.
            tab = "a tab cannot indent YAML (nor start a value): use spaces"
            return _failed(file, Problem(where, f"YAML syntax: {tab}"))
        hint = " (check the indentation)" if "block" in problem else ""
        return _failed(file, Problem(where, f"YAML syntax: {problem}{hint}"))
    except yaml.reader.ReaderError as exc:
        character = f" U+{exc.character:04X}" if isinstance(exc.character, int) else ""
        return _failed(
            file,
            Problem(
                _offset_location(file, text, exc.position),
                f"YAML syntax: the non-printable character{character} is not allowed: delete it",
            ),
        )
    except yaml.YAMLError as exc:
        return _failed(file, Problem(Location(file, 1, 1), f"YAML syntax: {exc}"))
    finally:
        loader.dispose()
    return document


def _failed(file: str, problem: Problem) -> YamlDocument:
    """A file that is not YAML: its one problem, and nothing read of it."""
    document = YamlDocument(file)
    document.problems.append(problem)
    return document


# What the value after a mapping's key is to be: that key's value, or skipped (the key is
# refused); and the list frames' mark.
_KEY, _SKIP, _ITEMS = object(), object(), object()


class _Converter:
    """One document's events made into data, marks and problems."""

    def __init__(self, document: YamlDocument, next_event: Any) -> None:
        self.document = document
        self.next_event = next_event
        self.anchors: dict[str, Any] = {}  # the mark of each anchored node
        self.constructor = yaml.constructor.SafeConstructor()

    def problem(self, mark: Any, message: str, path: Path_ | None = None) -> None:
        self.document.problems.append(Problem(_location(self.document.file, mark), message))
        if path is not None:
            self.document.refused.add(path)

    def run(self) -> None:
        self.next_event()  # the stream starts
        if type(self.next_event()) is yaml.StreamEndEvent:
            return  # nothing in it
        self.convert()
        extra = self.next_event()
        if type(extra) is not yaml.StreamEndEvent:
            raise yaml.composer.ComposerError(
                "expected a single document in the stream",
                None,
                "but found another document",
                extra.start_mark,
            )

    def convert(self) -> None:
        """The document's events, up to its end, into `document.data`. The stack holds the
        lists and mappings not yet closed, each as [container, its marks, its path, what
        comes next (_ITEMS for a list; in a mapping, _KEY, _SKIP or the key read), its
        depth]."""
        next_event, anchors, tables = self.next_event, self.anchors, self.document.marks
        scalar, alias = yaml.ScalarEvent, yaml.AliasEvent
        sequence, mapping = yaml.SequenceStartEvent, yaml.MappingStartEvent
        ends, document_end = (yaml.SequenceEndEvent, yaml.MappingEndEvent), yaml.DocumentEndEvent
        stack: list[list[Any]] = []
        texts: dict[str, str] = {}
        frame: list[Any] | None = None  # the innermost list or mapping not yet closed
        skipping = 0  # how deep inside a refused node's collections the events are
        while True:
            event = next_event()
            kind = type(event)
            # Most events are text in a list or mapping: a key, or a value that is no number,
            # true/false or null (most first characters say so), with no tag nor anchor.
            if kind is scalar and frame is not None and not skipping and event.anchor is None:
                text, place = event.value, frame[3]
                if event.tag is not None or (
                    event.implicit[0]
                    and (
                        text[:1] in (_IMPLICIT if len(text) <= _LONGEST_WORD else _IMPLICIT_LONG)
                        or _WILDCARD
                    )
                    and _tag(event) != _STR
                ):
                    pass  # tagged, or not text: see below
                elif place is _KEY:
                    if text not in frame[1]:
                        # One string for each distinct key and list item: a config's keys
                        # are the same few, and member lists name the same people again.
                        text = texts.setdefault(text, text)
                        mark = event.start_mark  # its spot (see _spot), without a call
                        frame[1][text] = mark.line << _COLUMN_BITS | mark.column
                        frame[3] = text
                        continue
                elif place is _ITEMS and frame[4] < MAX_DEPTH:
                    mark = event.start_mark
                    frame[0].append(texts.setdefault(text, text))
                    frame[1].append(mark.line << _COLUMN_BITS | mark.column)
                    continue
                elif place is not _SKIP and frame[4] < MAX_DEPTH:
                    mark = event.start_mark
                    frame[0][place] = text
                    spots = frame[1]  # the key's spot, and now the value's beside it
                    spots[place] = (
                        spots[place] << _PAIR_BITS | mark.line << _COLUMN_BITS | mark.column
                    )
                    frame[3] = _KEY
                    continue
            if kind in ends:
                if skipping:
                    skipping -= 1
                else:
                    stack.pop()
                    frame = stack[-1] if stack else None
                continue
            # Next most: a list or mapping as a value or list item, with no tag nor anchor.
            if (
                (kind is sequence or kind is mapping)
                and frame is not None
                and not skipping
                and event.anchor is None
                and event.tag is None
                and frame[4] < MAX_DEPTH
            ):
                place = frame[3]
                if place is not _KEY and place is not _SKIP:
                    mark = event.start_mark
                    spot = mark.line << _COLUMN_BITS | mark.column
                    opened: list[Any] | dict[str, Any]
                    opened_marks: _Marks
                    if kind is sequence:
                        opened, opened_marks, then = [], array("q"), _ITEMS
                    else:
                        opened, opened_marks, then = {}, {}, _KEY
                    tables[id(opened)] = opened_marks
                    if place is _ITEMS:
                        path = (*frame[2], len(frame[0]))
                        frame[0].append(opened)
                        frame[1].append(spot)
                    else:
                        path = (*frame[2], place)
                        frame[0][place] = opened
                        frame[1][place] = frame[1][place] << _PAIR_BITS | spot
                        frame[3] = _KEY
                    frame = [opened, opened_marks, path, then, frame[4] + 1]
                    stack.append(frame)
                    continue
            if kind is document_end:
                return
            anchor = event.anchor
            if anchor is not None:
                if kind is alias:
                    if anchor not in anchors:
                        raise yaml.composer.ComposerError(
                            None, None, "found undefined alias", event.start_mark
                        )
                elif anchor in anchors:
                    raise yaml.composer.ComposerError(
                        "found duplicate anchor; first occurrence",
                        anchors[anchor],
                        "second occurrence",
                        event.start_mark,
                    )
                else:
                    anchors[anchor] = event.start_mark
            if skipping:
                if kind is sequence or kind is mapping:
                    skipping += 1
                continue
            mark = event.start_mark
            if frame is not None:
                place = frame[3]
                if place is _KEY:
                    if kind is scalar:
                        frame[3] = self.key(event, frame)
                    else:
                        if kind is alias:
                            self.problem(anchors[anchor], _ANCHORS)
                        else:
                            self.problem(mark, "a key must be plain text, not a list or a mapping")
                            skipping = 1
                        frame[3] = _SKIP
                    continue
                if place is _SKIP:
                    frame[3] = _KEY
                    if kind is sequence or kind is mapping:
                        skipping = 1
                    continue
                if place is _ITEMS:
                    place = len(frame[0])
                else:
                    frame[3] = _KEY
                depth = frame[4] + 1
            else:
                place, depth = None, 0
            # A value, at `place` in `frame` (the root when frame is None).
            value: Any = None
            if kind is scalar:
                if depth > MAX_DEPTH:
                    self.problem(mark, _TOO_DEEP, _path(frame, place))
                else:
                    text = event.value
                    tag = _tag(event)
                    if tag in _AS_TEXT:
                        value = text
                    elif tag == _INT and text[:1] in ("+", "0") and len(text) > 1:
                        value = text  # a phone number, not a number: "+1415..." or "0041..."
                    elif tag in _CONSTRUCTED:
                        value = self.constructed(tag, event)
                    else:
                        self.bad_tag(mark, tag, _path(frame, place))
            elif kind is alias:
                mark = anchors[anchor]  # where the node it names stands, as a value's place
                self.problem(mark, _ANCHORS, _path(frame, place))
            elif depth > MAX_DEPTH:
                self.problem(mark, _TOO_DEEP, _path(frame, place))
                skipping = 1
            elif kind is sequence:
                if event.tag not in (None, "!", _SEQ):
                    self.bad_tag(mark, event.tag, _path(frame, place))
                    skipping = 1
                else:
                    value = []
                    table: _Marks = array("q")
                    tables[id(value)] = table
            elif event.tag not in (None, "!", _MAP):
                self.bad_tag(mark, event.tag, _path(frame, place))
                skipping = 1
            else:
                value = {}
                table = {}
                tables[id(value)] = table
            spot = _spot(mark)
            if frame is None:
                self.document.data, self.document.root = value, spot
            elif type(place) is int:
                frame[0].append(value)
                frame[1].append(spot)
            else:
                frame[0][place] = value
                frame[1][place] = frame[1][place] << _PAIR_BITS | spot
            if type(value) is list or type(value) is dict:
                frame = [
                    value,
                    table,
                    _path(frame, place),
                    _ITEMS if kind is sequence else _KEY,
                    depth,
                ]
                stack.append(frame)

    def key(self, event: Any, frame: list[Any]) -> Any:
        """What follows a mapping's key: the key itself, or _SKIP when it is refused."""
        mark, text = event.start_mark, event.value
        if _tag(event) == _MERGE:
            self.problem(mark, "YAML merge keys (<<) are not supported: write the keys out")
            return _SKIP
        keys = frame[1]
        if text in keys:
            first = _location(self.document.file, keys[text] >> _PAIR_BITS).line
            self.problem(mark, f"{text!r} is defined twice (first at line {first})")
            return _SKIP
        keys[text] = _spot(mark)  # the value's comes beside it (see _Marks)
        return text

    def constructed(self, tag: str, event: Any) -> Any:
        """A number, true/false or null, as YAML reads it."""
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark)
        return self.constructor.yaml_constructors[tag](self.constructor, node)

    def bad_tag(self, mark: Any, tag: str, path: Path_) -> None:
        shown = tag.replace(_STANDARD, "!!", 1)
        self.problem(mark, f"the YAML tag {shown} is not allowed in a groupctl file", path)


def _tag(event: Any) -> str:
    """A scalar's tag: written, or what PyYAML resolves a plain one to (int, bool, null...)."""
    tag = event.tag
    if tag is not None and tag != "!":
        return str(tag)
    if not event.implicit[0]:
        return _STR
    return _plain_tag(event.value)


def _plain_tag(text: str) -> str:
    """What PyYAML resolves the plain scalar `text` to."""
    for resolved, pattern in _IMPLICIT.get(text[:1], _WILDCARD):
        if pattern.match(text):
            return str(resolved)
    return _STR


def _path(frame: list[Any] | None, place: Any) -> Path_:
    """The path of the value at `place` in `frame` (the document's root when None)."""
    return () if frame is None else (*frame[2], place)


def _spot(mark: Any) -> Spot:
    """Where a parser's mark is, as one int."""
    return int(mark.line) << _COLUMN_BITS | int(mark.column)


def _location(file: str, where: Any) -> Location:
    """The location of a spot, or of a parser's mark."""
    if type(where) is int:
        return Location(file, (where >> _COLUMN_BITS) + 1, (where & _COLUMN_MASK) + 1)
    return Location(file, where.line + 1, where.column + 1)


def _offset_location(file: str, text: str, offset: int) -> Location:
    """Where the reader stopped: libyaml counts UTF-8 bytes, PyYAML's own reader characters."""
    if _LOADER is not yaml.SafeLoader:
        before = text.encode("utf-8", "surrogatepass")[:offset].decode("utf-8", "ignore")
    else:
        before = text[:offset]
    line_start = before.rfind("\n") + 1
    return Location(file, before.count("\n") + 1, len(before) - line_start + 1)


# The forms of a section's line read without PyYAML (see `_Sections`). Characters that YAML
# reads as themselves wherever they stand: letters and digits of any alphabet (`\w`), and a
# few of ASCII's. No line break of any kind (YAML 1.1 also breaks lines at U+0085, U+2028 and
# U+2029), nothing PyYAML refuses as unprintable, no tab.
_SHOWN = r"[^\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff{}]"
# A key: a name (see names.py), the words of it split by single spaces.
_PLAIN_KEY = r"[^\W\d_][\w.'-]*+(?: [\w.'-]++)*+"
# A list's item: a name, a team:<name>, a phone number (+1 (415) 555-0101) or a JID; a ":"
# only before a character of the item, and a space only between words.
_ITEM = r"[\w+(][\w.@()/+-]*+(?:[ :][\w.@()/+-]++)*+"
_COMMENT = f"#{_SHOWN.format('')}*+"
# Quoted text without escapes: single quotes without the '' of a quote, double quotes
# without a backslash.
_QUOTED = "'" + _SHOWN.format("'") + "*+'|\"" + _SHOWN.format('"\\\\') + '*+"'
_SECTION_NAMES = ("people", "teams")
_HEADS = {name: re.compile(f"^{name}:$", re.MULTILINE) for name in _SECTION_NAMES}
# The lines of a file that start at its left margin: a key of its top-level mapping, or
# anything else that ends the section before it.
_MARGIN = re.compile(r"^[^ \n#][^\n]*", re.MULTILINE)
_FIRST_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*:(?: |$)")
_PREAMBLE = re.compile(f"(?: *(?:{_COMMENT})?\n)*")  # blank and comment lines only
_LINE_BREAKS = ("\r", "\x85", "\u2028", "\u2029")
# libyaml refuses a key of more than 1,024 characters ("could not find expected ':'"); a name
# is at most 64 (names.py).
_LONGEST_KEY = 1000
# The share of a file its sections must hold to be read line by line: when PyYAML's reading
# of the rest shows they were not sections after all (a quoted text over several lines may
# hold `people:`), the file is read again whole, at no more than half again the cost.
_LEAST_SHARE = 0.5
# The first entry of a section: its first line that is neither blank nor a comment.
_FIRST_ENTRY = re.compile(r"^ *[^ \n#]", re.MULTILINE)


@lru_cache(maxsize=8)
def _section_line(indent: int) -> re.Pattern[str]:
    """A line of a section whose keys are `indent` spaces in: `key: [item, item...]`,
    `key: 'text'`, `key: "text"` or `key: item`, maybe with a comment after; or a blank or
    comment line. The groups: key, items, quoted text (with its quotes), a plain item; all
    empty on a blank or comment line."""
    value = f"(?:\\[({_ITEM}(?:, {_ITEM})*+)\\]|({_QUOTED})|({_ITEM}))"
    entry = f"{' ' * indent}({_PLAIN_KEY}): {value}(?: +{_COMMENT})?"
    return re.compile(f"^(?:{entry}| *(?:{_COMMENT})?)$", re.MULTILINE)


@dataclass
class _Section:
    """A section read from its lines: its name, the line of its `name:`, what it holds and
    where each key is."""

    name: str
    head: int
    data: dict[str, Any]
    lines: _Lines


@dataclass
class _Sections:
    """The `people:` and `teams:` of a file that could be read line by line (each line a
    key and its list or quoted text), and the file's text with those lines left blank.

    The reading holds only where the file is a block mapping from its first line and each
    such section is a mapping of its own, which PyYAML's reading of the blanked text shows
    (`grafted`): `name:` at the left margin, followed by nothing but lines of the simple
    forms (`_section_line`), up to the next line at the margin. What those lines mean is then
    plain: each key, once, is text; each value is a quoted text without escapes, or a plain
    item or a list of them, each read as the text written (checked with PyYAML's own rules:
    true, 12345 or null leave the section to PyYAML).
    """

    blanked: str
    read: list[_Section]

    @classmethod
    def of(cls, text: str) -> _Sections | None:
        """The sections of `text` read line by line, or None when there are none."""
        if not any(name in text for name in _SECTION_NAMES) or any(
            mark in text for mark in _LINE_BREAKS
        ):
            return None
        first = _MARGIN.search(text)
        if (
            first is None
            or not _FIRST_KEY.match(first[0])
            or not _PREAMBLE.fullmatch(text, 0, first.start())
        ):
            return None  # the file is not a block mapping from its first line
        read: list[tuple[int, int, _Section]] = []
        for name, head in _HEADS.items():
            found = head.search(text)
            if found is None or head.search(text, found.end()) is not None:
                continue  # none, or twice: PyYAML says where
            start = found.end() + 1  # the line after `name:`
            after = _MARGIN.search(text, start)
            end = after.start() if after else len(text)
            section = _read_section(name, text, start, end, text.count("\n", 0, start))
            if section is not None:
                read.append((start, end, section))
        read.sort(key=lambda found: found[0])
        pieces: list[str] = []
        done = 0  # where the text not yet copied to `pieces` starts
        for start, end, _ in read:
            # The section's lines blank: PyYAML reads `name:` with nothing in it.
            pieces += (text[done:start], "\n" * text.count("\n", start, end))
            done = end
        if sum(end - start for start, end, _ in read) < _LEAST_SHARE * len(text):
            return None
        pieces.append(text[done:])
        return cls("".join(pieces), [section for _, _, section in read])

    def grafted(self, document: YamlDocument) -> bool:
        """Whether PyYAML read the blanked text as a mapping holding each section's name,
        at its line, with nothing in it; if so, each section is put in its place."""
        data = document.data
        keys = document.marks.get(id(data))
        if type(data) is not dict or type(keys) is not dict:
            return False
        for section in self.read:
            key = keys.get(section.name, 0) >> _PAIR_BITS
            if (
                section.name not in data
                or data[section.name] is not None
                or key != section.head << _COLUMN_BITS
                or (section.name,) in document.refused
            ):
                return False
        for section in self.read:
            data[section.name] = section.data
            first = next(iter(section.lines.lines.values())) << _COLUMN_BITS | section.lines.indent
            keys[section.name] = section.head << (_COLUMN_BITS + _PAIR_BITS) | first
            document.marks[id(section.data)] = section.lines
        return True


def _read_section(name: str, text: str, start: int, end: int, line: int) -> _Section | None:
    """The section `name` whose lines are text[start:end], the first of them `line`
    (0-based), if every one is of the simple forms; else None."""
    body = text[start:end]
    first = _FIRST_ENTRY.search(body)
    if first is None:
        return None  # nothing in it
    indent = first.end() - first.start() - 1
    found = _section_line(indent).findall(body)
    if len(found) != body.count("\n") + 1:
        return None  # a line of another form
    data: dict[str, Any] = {}
    lines: dict[str, int] = {}
    entries = 0
    intern = sys.intern
    plain: list[str] = []
    for number, (key, items, quoted, item) in enumerate(found, line):
        if not key:
            continue  # a blank or comment line
        entries += 1
        if items:
            data[key] = [*map(intern, items.split(", "))]
        elif quoted:
            data[key] = quoted[1:-1]
        else:
            data[key] = item
            plain.append(item)
        lines[key] = number
    if not entries or len(data) != entries or max(map(len, data)) > _LONGEST_KEY:
        return None  # a key twice, or too long for libyaml: PyYAML says where
    listed = chain(plain, *(value for value in data.values() if type(value) is list))
    if not all(map(_plain_item_is_text, set(listed))):
        return None
    return _Section(name, line - 1, data, _Lines(lines, indent))


def _plain_item_is_text(text: str) -> bool:
    """Whether `_Converter` reads the plain scalar `text` as that very text."""
    if not _WILDCARD and text[:1] not in (
        _IMPLICIT if len(text) <= _LONGEST_WORD else _IMPLICIT_LONG
    ):
        return True
    tag = _plain_tag(text)
    return tag in _AS_TEXT or (tag == _INT and text[:1] in ("+", "0") and len(text) > 1)
