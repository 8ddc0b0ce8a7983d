"""Untrusted text in a pull request comment: shown as it is, never read as Markdown or HTML.

A config's keys, names, subjects and descriptions, and what WhatsApp says, reach the comments
groupctl posts. GitHub reads a comment as Markdown with HTML in it, then links @mentions,
#references and addresses in the text it shows; a string that did the same could hide the rest
of a comment (`<!--`), add links, images and mentions, or fake the line that splits a long plan
into comments. `md` writes such a string so that it shows as the same characters and is none
of these things, in every place the renderers put one: Markdown text, a table cell, the inside
of an HTML tag (`<summary>`, `<code>`). Its output is also safe in a CI log (the Action prints
it): no line breaks, no `::`, no `##[` (see `reconciler.util.untrusted`).
"""

from __future__ import annotations

import re

from reconciler.util.untrusted import shown

# Character references, not backslash escapes: a reference means the character alone in
# Markdown text, in a table cell and inside an HTML block, where a backslash would show. These
# are every character that starts Markdown or HTML (`< & \\ ` * _ ~ [ ] ! |`), GitHub's math
# (`$`), and what GFM makes links of by itself (`http:`, `www.`).
_REFERENCES = {char: f"&#{ord(char)};" for char in "&<>\\`*_~[]!|$:."}
# GitHub links `@name` (and notifies them), `#12`, `GH-12` and `a@b.co` in the text it shows,
# after references are read: a zero-width space after @, # and GH- reads the same and matches
# none.
_ZERO_WIDTH_SPACE = "&#8203;"
_UNLINKED = {"@": "@" + _ZERO_WIDTH_SPACE, "#": "#" + _ZERO_WIDTH_SPACE}
_WRITTEN = {**_REFERENCES, **_UNLINKED}
_ISSUE = re.compile(r"GH-(?=\d)", re.IGNORECASE)


def md(text: str | None) -> str:
    """`text` as Markdown and HTML that shows exactly it, on one line (see `shown`)."""
    written = "".join(_WRITTEN.get(char, char) for char in shown(text or ""))
    return _ISSUE.sub(lambda found: found.group() + _ZERO_WIDTH_SPACE, written)


def code(text: str | None) -> str:
    """`text` in a code font. An HTML tag, not backticks: inside backticks a reference shows
    as itself, so nothing there could be escaped."""
    return f"<code>{md(text)}</code>"


def bold(text: str) -> str:
    """`text` in bold. An HTML tag, not `**`: asterisks around an empty text, or one that
    starts or ends with a space, would show as asterisks."""
    return f"<b>{md(text)}</b>"
