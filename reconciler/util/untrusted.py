"""Text that WhatsApp or an API supplied, made safe to print on one line of a log.

Such text (error messages, details of a person's outcome) can hold newlines, terminal escapes
or bidi controls that would forge or hide lines in a CI log, and can be huge. `one_line`
shows every control character as an escape and cuts the text to a readable length.
"""

from __future__ import annotations

import unicodedata

MAX_SHOWN = 300  # characters of one untrusted text in one line


def one_line(text: str, *, limit: int = MAX_SHOWN) -> str:
    """`text` with control and format characters escaped (`\\n`, `\\x1b`, `\\u202e`), and
    cut to `limit` characters with a note of how many more there were."""
    cut = text[:limit]
    shown = "".join(_escaped(char) for char in cut)
    if len(text) > limit:
        shown += f"... ({len(text) - limit:,} more characters)"
    return shown


def _escaped(char: str) -> str:
    if unicodedata.category(char) not in ("Cc", "Cf", "Zl", "Zp"):
        return char
    return repr(char)[1:-1] if char.isascii() else f"\\u{ord(char):04x}"
