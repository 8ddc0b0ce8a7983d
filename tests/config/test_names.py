"""Group keys, people's and team names keep to a safe set; the schema flags what it can."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.config.names import _why_not, name_problem, name_schema

ACCEPTED = [
    "alice",
    "Zoë",
    "José García",
    "O'Brien",
    "dev2",
    "sales-emea",
    "sales_emea",
    "v1.2",
    "李雷",
    "Дмитрий",
    "नमस्ते",  # vowel signs are marks: a script's letters need them
    "Nguyễn",  # two accents on one letter
    "x" * 64,
]

# name -> why it is refused, as the message says it
REFUSED = {
    "": "it is empty",
    "x" * 65: "it is 65 characters long",
    "2fa": "it starts with '2'",
    "_private": "it starts with '_'",
    " alice": "it starts with U+0020 (SPACE)",
    "alice ": "spaces go one at a time, between words",
    "alice  b": "spaces go one at a time, between words",
    "welcome\n<!--": "it has U+000A (a line break)",
    "a\rb": "it has U+000D (a line break)",
    "a\tb": "it has U+0009 (a control character)",
    "a\x1b[31m": "it has U+001B (a control character)",
    "a\u202eb": "it has U+202E (RIGHT-TO-LEFT OVERRIDE)",
    "a\u2066b": "it has U+2066 (LEFT-TO-RIGHT ISOLATE)",
    "a\u200bb": "it has U+200B (ZERO WIDTH SPACE)",
    "a\u200db": "it has U+200D (ZERO WIDTH JOINER)",
    "a\ufeffb": "it has U+FEFF (ZERO WIDTH NO-BREAK SPACE)",
    "a\u00a0b": "it has U+00A0 (NO-BREAK SPACE)",
    "a\u2028b": "it has U+2028 (LINE SEPARATOR)",
    "\u3164": "it starts with U+3164 (HANGUL FILLER)",
    "a\u3164": "it has U+3164 (HANGUL FILLER)",
    "e" + "\u0301" * 5: "it has more than 4 accents in a row",
    "a<b": "it has '<'",
    "a&b": "it has '&'",
    "a*b*": "it has '*'",
    "a`b`": "it has '`'",
    "a|b": "it has '|'",
    "a[b](c)": "it has '['",
    "a#1": "it has '#'",
    "a$b$": "it has '$'",
    "a~b": "it has '~'",
    "a\\b": "it has '\\\\'",
    "@bob": "it starts with '@'",
    "bob@example.com": "it has '@'",
    "team:ops": "it has ':'",
    "alice (+1 415-555-0101)": "it has '('",
    "a+b": "it has '+'",
    "##[error]x": "it starts with '#'",
    "::error::x": "it starts with ':'",
}


@pytest.mark.parametrize("name", ACCEPTED)
def test_a_name_of_letters_digits_and_a_few_marks_is_accepted(name: str) -> None:
    assert name_problem("person", name) is None
    assert re.search(name_schema()["pattern"], name)


@pytest.mark.parametrize(("name", "why"), REFUSED.items())
def test_a_name_outside_the_safe_set_is_refused_saying_why(name: str, why: str) -> None:
    problem = name_problem("group key", name)
    assert problem is not None
    assert f"is not a usable name ({why}): rename it; a name is 1 to 64 characters" in problem
    assert not any(unsafe in problem for unsafe in ("\n", "\u202e", "##["))


@pytest.mark.parametrize("name", [n for n in REFUSED if "accents" not in REFUSED[n]])
def test_the_schema_refuses_them_too_for_editors(name: str) -> None:
    # The pattern cannot count accents; the loader does.
    schema = name_schema()
    fits = schema["minLength"] <= len(name) <= schema["maxLength"]
    assert not (fits and re.search(schema["pattern"], name))


def test_a_name_that_is_no_text_is_refused() -> None:
    assert name_problem("team", 12) is not None


@given(st.text(st.characters(max_codepoint=0x7F) | st.sampled_from("aZz9 -"), max_size=70))
def test_an_ascii_name_is_judged_by_the_one_match_as_by_the_whole_rule(name: str) -> None:
    """Most names are ASCII, checked by one regular expression instead of character by
    character: it accepts exactly what the rule for any alphabet accepts."""
    assert (name_problem("person", name) is None) == (_why_not(name) is None)
