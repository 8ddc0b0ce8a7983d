"""The names a config gives: group keys, people's names and team names.

They are shown in every plan, pull request comment and CI log, and typed on the command line
(`--group KEY`), so they keep to characters that can neither hide nor forge anything there,
nor pass for something else: letters of any alphabet (with their accents), digits 0-9, single
spaces between words, and `- _ . '`, starting with a letter, at most `MAX_NAME_LENGTH`
characters. No line breaks, control, bidi or zero-width characters, no Markdown or HTML
(`< > * [ ] | #`...), no `@` or `:` (which make a phone number, a JID or a team reference), no
parentheses or `+` (which would let a name pass for a number: `alice (+1 415-555-0101)`).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from reconciler.util.untrusted import MAX_MARKS, repr_shown

MAX_NAME_LENGTH = 64
_PUNCTUATION = "_.'-"  # "-" last: the schema's pattern puts these in a character class
# Letters that show as nothing (Hangul fillers): a name made of them would look empty.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")
_ACCENTS = frozenset({"Mn", "Mc"})
# The rule for a name of ASCII characters only, which most are: checked in one match, where
# the rule for any alphabet looks up every character (a config may hold 100,000 names).
_ASCII_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.'-]*(?: [A-Za-z0-9_.'-]+)*")
NAME_RULE = (
    f"a name is 1 to {MAX_NAME_LENGTH} characters: letters of any alphabet, digits 0-9,"
    " single spaces and - _ . ', starting with a letter"
)


def name_problem(noun: str, name: object) -> str | None:
    """Why `name` cannot be a `noun` (group key, person, team) of a config, or None. The
    message shows the name with its unusual characters escaped, and says the rule."""
    if isinstance(name, str) and len(name) <= MAX_NAME_LENGTH and _ASCII_NAME.fullmatch(name):
        return None
    why = _why_not(name) if isinstance(name, str) else "it is not text"
    if why is None:
        return None
    return f"{noun} {repr_shown(str(name))} is not a usable name ({why}): rename it; {NAME_RULE}"


def _why_not(name: str) -> str | None:
    if not name:
        return "it is empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"it is {len(name)} characters long"
    if not _is_letter(name[0]):
        return f"it starts with {_described(name[0])}"
    if name.endswith(" ") or "  " in name:
        return "spaces go one at a time, between words"
    accents = 0
    for char in name:
        accent = unicodedata.category(char) in _ACCENTS
        accents = accents + 1 if accent else 0
        if accents > MAX_MARKS:
            return f"it has more than {MAX_MARKS} accents in a row"
        if not (_is_letter(char) or accent or char in _PUNCTUATION or char in "0123456789 "):
            return f"it has {_described(char)}"
    return None


def _is_letter(char: str) -> bool:
    return unicodedata.category(char).startswith("L") and char not in _BLANK_LETTERS


def _described(char: str) -> str:
    """`'<'`, or for a character that does not show, its code: `U+202E (RIGHT-TO-LEFT
    OVERRIDE)`."""
    if char.isprintable() and char not in _BLANK_LETTERS and not char.isspace():
        return repr(char)
    kind = "a line break" if char in "\n\r" else "a control character"
    return f"U+{ord(char):04X} ({unicodedata.name(char, kind)})"


def name_schema() -> dict[str, Any]:
    """What the JSON Schema says of a name (editors flag what it catches; the loader checks
    all of the rule): its length, and no ASCII character outside the rule, no control,
    bidi or zero-width character, no doubled or trailing space."""
    refused = [
        code
        for code in range(0x80)
        if not (chr(code).isalnum() or chr(code) in _PUNCTUATION or chr(code) == " ")
    ]
    # Other controls, the format characters (bidi, zero-width) and spaces of Unicode.
    refused += [0xA0, 0xAD, 0x61C, 0x1680, 0x180E, 0x205F, 0x3000, 0xFEFF]
    refused += [*range(0x80, 0xA0), *range(0x2000, 0x2010), *range(0x2028, 0x2030)]
    refused += [*range(0x2060, 0x2070), *map(ord, _BLANK_LETTERS)]
    word = f"[^{_character_ranges(sorted(refused))} ]+"
    return {
        "minLength": 1,
        "maxLength": MAX_NAME_LENGTH,
        "pattern": f"^(?![0-9{_PUNCTUATION}]){word}( {word})*$",
    }


def _character_ranges(codes: list[int]) -> str:
    """Sorted code points as the inside of a regular expression's character class, runs
    written as ranges (`\\x00-\\x1f`), in escapes that JSON Schema's and Python's regular
    expressions read alike."""
    runs: list[list[int]] = []
    for code in codes:
        if runs and code == runs[-1][1] + 1:
            runs[-1][1] = code
        else:
            runs.append([code, code])

    def escaped(code: int) -> str:
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return "".join(
        escaped(first) if first == last else f"{escaped(first)}-{escaped(last)}"
        for first, last in runs
    )
