"""`people:` and `teams:` written one entry a line are read without PyYAML (see yamlfile.py's
`_Sections`): whatever the text, the reading is PyYAML's, value for value, problem for
problem, and every key and value is found at the same line and column.

The documents are made of lines close to the simple forms and of the ways each can stop
being simple (a number, true, a comment, a second line, a key twice, a line break YAML
knows and Python's split does not...), so that both readings are often taken and compared.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.config.yamlfile import YamlDocument, _Lines, parse_yaml

# What a line of a big config holds, and what makes it stop being of the simple forms.
SAFE_KEYS = ["alice", "bob", "eng", "Zoë", "日本", "o'brien", "a b", "x-y", "yes", "null", "on"]
KEYS = ["<<", "a:b", "a: b", "'q'", '"dq"', "-x", "1x", "a  b", "a\tb", "é\u0301", "#k", "? k"]
SAFE_ITEMS = ["alice", "bob", "team:eng", "+14155550101", "0041791234567", "(415) 555-0102"]
SAFE_ITEMS += ["a b", "a:b", "123@lid", "x@s.whatsapp.net", "Zoë", "truex", "nullify", "日本"]
ITEMS = ["team:", "12345", "yes", "no", "Off", "null", "~", "3.5", "2024-01-01", "a  b", "a: b"]
ITEMS += ["#x", "a #x", "'q'", '"q"', "&a", "*a", "!x", "", "-", "- x", "[x]", "{x: y}", "a,b"]
ITEMS += ["<<", "yes!", "0x1F", "1_000", ".inf", "a\u2028b", "!!str x", "%x", "@x", "`x"]
SAFE_QUOTED = ["'text'", "''", '"text"', '""', "'a # b'", '"日本"', "'a: b'", "'é'", '"[x]"']
QUOTED = ["'it''s'", '"a\\nb"', "'\u2028'", "'\x85'", "'\x7f'", "'\t'", "'\ufeff'", "'a\x00'"]
QUOTED += ['"a\\"', "'open", '"open']
COMMENTS = ["# note", "#", "# ünïcode", "#\tx", "# '\"", "# \x85", "# \u2028"]
SAFE_ENDINGS = ["", " # note", "  #"]
ENDINGS = [" ", "#x", "\r", " #\x00", "\t"]


def chosen(draw: st.DrawFn, hostile: int, safe: list[str], other: list[str]) -> str:
    """One of `safe`, or `hostile` times in a hundred one of `other`."""
    return draw(st.sampled_from(other if draw(st.integers(0, 99)) < hostile else safe))


@st.composite
def values(draw: st.DrawFn, hostile: int) -> str:
    kind = draw(st.sampled_from(["flow", "flow", "flow", "quoted", "plain", "other"]))
    if kind == "flow":
        items = [chosen(draw, hostile, SAFE_ITEMS, ITEMS) for _ in range(draw(st.integers(0, 4)))]
        separator = chosen(draw, hostile, [", "], [",", " , ", ",  ", ", ,"])
        return f"[{separator.join(items)}]"
    if kind == "quoted":
        return chosen(draw, hostile, SAFE_QUOTED, QUOTED)
    if kind == "plain":
        return chosen(draw, hostile, SAFE_ITEMS, ITEMS)
    if draw(st.integers(0, 99)) >= hostile:
        return draw(st.sampled_from(SAFE_QUOTED))
    # a value on the lines after, or one that goes on over the next line
    after = ["", "\n    phone: '+1'", "\n    - alice", "\n  - alice", "[alice,", "'open", '"open']
    return draw(st.sampled_from([*after, "plain", "|", ">-", "{a: b,", "&x [a]", "*x", "!!seq []"]))


@st.composite
def section_lines(draw: st.DrawFn, hostile: int) -> list[str]:
    lines: list[str] = []
    indent = draw(st.sampled_from([2, 2, 4, 1]))
    for _ in range(draw(st.integers(1, 8))):
        kind = chosen(draw, hostile * 2, ["entry"] * 8 + ["blank", "comment"], ["more", "less"])
        if kind == "blank":
            lines.append(draw(st.sampled_from(["", " ", "    "])))
        elif kind == "comment":
            lines.append(" " * draw(st.integers(0, 6)) + chosen(draw, hostile, ["# c"], COMMENTS))
        elif kind == "more":  # goes on from the line before, or names too much
            lines.append(" " * (indent + 2) + draw(st.sampled_from(["bob]", "x", "a: b", "'"])))
        else:
            spaces = " " * (indent if kind == "entry" else max(0, indent - 1))
            key = chosen(draw, hostile, SAFE_KEYS, KEYS)
            if draw(st.integers(0, 99)) >= hostile:  # mostly, a key not used before
                key += str(len(lines))
            ending = chosen(draw, hostile, SAFE_ENDINGS, ENDINGS)
            lines.append(f"{spaces}{key}: {draw(values(hostile))}{ending}")
    return lines


@st.composite
def documents(draw: st.DrawFn) -> str:
    hostile = draw(st.sampled_from([0, 0, 1, 3, 10, 30]))  # in a hundred choices
    lines: list[str] = []
    preamble = ["# head", "", "---", "%YAML 1.1", "  ", "\ufeff", "  x: 1"]
    if draw(st.integers(0, 99)) < hostile * 3:
        lines += draw(st.lists(st.sampled_from(preamble), max_size=2))
    elif draw(st.booleans()):
        lines.append("# a config")
    heads = ["teams: # t", "teams: []", "teams:  ", "people: {}", "- people:", "{people:"]
    heads += ["'teams':", "session: x", "... ", "teams", "teams :", "---", "\tteams:"]
    sections = draw(st.permutations(["people:", "teams:", "version: 1", "groups:"]))
    for head in sections[: draw(st.integers(1, 4))]:
        lines.append(head if draw(st.integers(0, 99)) >= hostile else draw(st.sampled_from(heads)))
        lines += draw(section_lines(hostile))
        if draw(st.integers(0, 99)) < hostile:
            lines.append(draw(st.sampled_from(["# margin", "}", "]", "\u2028", "\x85", "x"])))
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n"]))


def paths(data: Any, base: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Every place in `data`, and one past the end of each list and mapping."""
    yield base
    if isinstance(data, dict):
        for key, value in data.items():
            yield from paths(value, (*base, key))
        yield (*base, "not-a-key")
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from paths(value, (*base, index))
        yield (*base, len(data))


def assert_same(fast: YamlDocument, slow: YamlDocument) -> None:
    assert fast.data == slow.data
    assert [type(value) for value in _walk(fast.data)] == [
        type(value) for value in _walk(slow.data)
    ]
    assert fast.problems == slow.problems
    assert fast.refused == slow.refused
    for path in paths(slow.data):
        assert fast.where(path) == slow.where(path), path
        assert fast.where(path, key=True) == slow.where(path, key=True), path


def _walk(data: Any) -> Iterator[Any]:
    yield data
    if isinstance(data, dict):
        for key, value in data.items():
            yield key
            yield from _walk(value)
    elif isinstance(data, list):
        for value in data:
            yield from _walk(value)


def read_by_lines(document: YamlDocument) -> list[str]:
    """The sections of `document` that were read line by line."""
    data = document.data if isinstance(document.data, dict) else {}
    return [
        name for name, value in data.items() if isinstance(document.marks.get(id(value)), _Lines)
    ]


@given(documents())
def test_any_document_reads_as_pyyaml_reads_it(text: str) -> None:
    assert_same(parse_yaml(text, "f.yaml"), parse_yaml(text, "f.yaml", sections=False))


PEOPLE_AND_TEAMS = """\
# Acme
version: 1

people:
  alice: '+1 415 555 0101'
  bob: "+44 20 7946 0958"   # London
  Zoë: +14155550103
  chen: 14155550104@s.whatsapp.net

teams:
  # the backend
  backend: [alice, bob, +1 (415) 555-0105]
  all: [team:backend, Zoë, chen]
groups:
  g:
    subject: G
    members: [team:all]
"""


def test_simple_sections_are_read_by_lines_and_found_where_written() -> None:
    """The shape of a big config is read line by line (the test above cannot tell whether
    it ever is), and each value and item is found where it is written."""
    fast = parse_yaml(PEOPLE_AND_TEAMS, "f.yaml")
    assert read_by_lines(fast) == ["people", "teams"]
    assert_same(fast, parse_yaml(PEOPLE_AND_TEAMS, "f.yaml", sections=False))
    item = fast.where(("teams", "backend", 2))
    assert (item.line, item.column) == (12, 25)
    assert PEOPLE_AND_TEAMS.splitlines()[11][24:].startswith("+1 (415)")


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ("  backend: [alice]\n", "a key twice"),
        ("  dana: yes\n", "true, not text"),
        ("  dana: [12345]\n", "a number"),
        ("  dana: [alice,\n    bob]\n", "a list over two lines"),
        ("  dana:\n    phone: '+1'\n", "a mapping"),
        ("  dana: 'it''s'\n", "an escaped quote"),
        ("  dana: [&a alice]\n", "an anchor"),
        ("  dana: '\u2028'\n", "a line break YAML knows"),
        (f"  {'d' * 1025}: [alice]\n", "a key longer than libyaml reads"),
    ],
)
def test_a_section_with_one_other_line_is_left_to_pyyaml(change: str, why: str) -> None:
    text = PEOPLE_AND_TEAMS.replace("  all:", change + "  all:")
    fast = parse_yaml(text, "f.yaml")
    assert "teams" not in read_by_lines(fast), why
    assert_same(fast, parse_yaml(text, "f.yaml", sections=False))


def test_sections_that_are_a_small_part_of_a_file_are_left_to_pyyaml() -> None:
    """When PyYAML's reading shows the sections were none (here a quoted text over several
    lines holds `people:`), the file is read again whole: sections that are less than half
    of it are not tried, so that a file costs at most half again its reading."""
    groups = "".join(f"  g{n}:\n    subject: G{n}\n    members: [alice]\n" for n in range(50))
    text = f'note: "hello\npeople:\n  bob: y\n"\ngroups:\n{groups}'
    assert read_by_lines(parse_yaml(text, "f.yaml")) == []
    assert parse_yaml(text, "f.yaml").data["note"] == "hello people: bob: y "


def test_an_item_far_in_a_long_list_is_found_where_written() -> None:
    """Each item's column is worked out from the items before it, once a list."""
    items = [f"p{n}" for n in range(3000)]
    text = f"people:\n  alice: '+1'\nteams:\n  all: [{', '.join(items)}]\n"
    fast, slow = parse_yaml(text, "f.yaml"), parse_yaml(text, "f.yaml", sections=False)
    assert read_by_lines(fast) == ["people", "teams"]
    for index in (0, 1, 2999, 1500):
        assert fast.where(("teams", "all", index)) == slow.where(("teams", "all", index))
