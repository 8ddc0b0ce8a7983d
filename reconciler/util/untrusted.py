"""Text that a config, WhatsApp or an API supplied, made safe to print on one line.

Such text (subjects, descriptions, names, error messages, details of a person's outcome) can
hold line breaks, terminal escapes, bidi or zero-width characters and piles of combining marks
that would forge, hide or smear lines in a terminal or a CI log, and it can be huge. `shown`
writes every such character as an escape (`\\n`, `\\x1b`, `\\u202e`), so the text stays on the
line it was put on. That also keeps GitHub Actions' workflow commands out of a job log: the
runner obeys `::command::` at the start of a line (after white space), and `##[command]`
anywhere in a line (its older syntax). `shown` breaks up every `##[`, and a leading `::` for
text that begins a line.
"""

from __future__ import annotations

import json
import unicodedata

MAX_SHOWN = 300  # characters of one untrusted text in one line
# Combining marks in a row kept as they are: enough for any script's accents and vowel signs;
# past it they pile up over the lines around them ("zalgo" text).
MAX_MARKS = 4
_ESCAPED = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_MARKS = frozenset({"Mn", "Me"})
_ZWJ = "\u200d"  # joins emoji into one (a family, a rainbow flag): kept between two emoji
_EMOJI_BEFORE_ZWJ = frozenset({"So", "Sk"})  # an emoji, or its skin tone
_EMOJI_STYLE = "\ufe0f"  # "show as emoji", between an emoji and a ZWJ
_COMMAND = "::"  # a workflow command, when a line starts with it
_OLD_COMMAND = "##["  # the runner's older workflow command syntax, obeyed anywhere in a line


def shown(text: str) -> str:
    """`text` whole, on one line: control, format and line-separator characters, and
    combining marks past `MAX_MARKS` in a row, written as escapes; `##[`, and `::` at its
    start, broken up."""
    out: list[str] = []
    marks = 0
    for index, char in enumerate(text):
        category = unicodedata.category(char)
        marks = marks + 1 if category in _MARKS else 0
        if (category in _ESCAPED and not _joins_emoji(text, index)) or marks > MAX_MARKS:
            out.append(_escape(char))
        else:
            out.append(char)
    said = "".join(out).replace(_OLD_COMMAND, "##\\x5b")
    start = len(said) - len(said.lstrip())
    if said.startswith(_COMMAND, start):
        said = f"{said[:start]}\\x3a{said[start + 1 :]}"
    return said


def shown_lines(text: str) -> str:
    """Each line of `text` as `shown`: for messages of several lines (an error listing its
    reasons) that hold untrusted text."""
    return "\n".join(shown(line) for line in text.split("\n"))


def one_line(text: str, *, limit: int = MAX_SHOWN) -> str:
    """`text` as `shown`, cut to `limit` characters with a note of how many more there were."""
    cut = shown(text[:limit])
    if len(text) > limit:
        cut += f"... ({len(text) - limit:,} more characters)"
    return cut


def quoted(text: str | None) -> str:
    """`text` in double quotes, its quotes and backslashes escaped as in JSON, as `shown`."""
    return shown(json.dumps(text or "", ensure_ascii=False))


def repr_shown(text: str | None) -> str:
    """`text` in single quotes as Python's `repr` writes it (apply's lines), as `shown`."""
    return shown(repr(text))


def in_json(text: str) -> str:
    """JSON text fit for a log: the characters `shown` escapes written as JSON escapes
    (`\\u202e`), and `##[` as `##\\u005b`: the same data (all of them can only be inside its
    strings, which JSON already keeps on one line), and no hidden character or workflow command
    in a log."""
    escaped = "".join(
        _json_escape(char) if char != "\n" and unicodedata.category(char) in _ESCAPED else char
        for char in text  # its own line breaks are between values, never in a string
    )
    return escaped.replace(_OLD_COMMAND, "##\\u005b")


def _json_escape(char: str) -> str:
    # JSON writes a character past U+FFFF as its UTF-16 surrogate pair.
    return json.dumps(char)[1:-1] if ord(char) > 0xFFFF else f"\\u{ord(char):04x}"


def _joins_emoji(text: str, index: int) -> bool:
    return (
        text[index] == _ZWJ
        and 0 < index < len(text) - 1
        and (
            text[index - 1] == _EMOJI_STYLE
            or unicodedata.category(text[index - 1]) in _EMOJI_BEFORE_ZWJ
        )
        and unicodedata.category(text[index + 1]) == "So"
    )


def _escape(char: str) -> str:
    if char.isascii():
        return repr(char)[1:-1]
    code = ord(char)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
