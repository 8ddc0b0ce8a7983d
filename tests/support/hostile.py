"""Hostile text for tests of what groupctl shows: nasty strings known to break Markdown,
HTML, GitHub's linking, terminals and CI logs, a hypothesis strategy that mixes them with
random text, and the check that output holding them is safe in a CI log."""

from __future__ import annotations

import unicodedata

from hypothesis import strategies as st

# name -> a string that tries to hide, add to, or forge what is shown around it
NASTY = {
    "comment that hides the rest": "welcome\n<!--",
    "comment": "a <!-- hidden --> b",
    "comment without a line break": "<!--",
    "end of the details": "</summary></details>",
    "raw image tag": '<img src="https://evil.example/p.png">',
    "script": "<script>alert(1)</script>",
    "Markdown image": "![x](https://evil.example/p.png)",
    "Markdown link": "[click](https://evil.example)",
    "reference link": "[click][1]\n\n[1]: https://evil.example",
    "angle autolink": "<https://evil.example>",
    "bare URL": "see https://evil.example/a",
    "www": "www.evil.example",
    "email": "boss@evil.example",
    "mailto": "mailto:boss@evil.example",
    "xmpp": "xmpp:boss@evil.example/x",
    "mention": "@octocat",
    "team mention": "hi @acme/admins",
    "issue": "fixes #1",
    "other repository's issue": "acme/repo#12",
    "GH-": "GH-12",
    "GH- after a word": "x_gh-12",
    "out of a code span": "` <!-- `",
    "double backticks": "`` x ``",
    "fence": "```\n<!--",
    "emphasis and strike": "**bold** _it_ ~~gone~~",
    "table pipe": "a | b | c",
    "backslash": "\\<!--",
    "named entity": "&lt;!--",
    "numeric entity": "&#60;!-- &#x3c;",
    "heading": "\n# Approved",
    "callout": "\n> [!NOTE]\n> all fine",
    "list item": "\n- nothing to see",
    "the comment splitter": "\n\n<!-- groupctl: next comment -->\n\n",
    "workflow command": "\n::error::pwned",
    "old workflow command": "##[add-mask]x",
    "mask at the start": "::add-mask::x",
    "bidi override": "evil\u202ecod.exe",
    "zero-width space": "a\u200bb",
    "line separator": "a\u2028b",
    "terminal escape": "\x1b[2J\x1b[1;1H",
    "carriage return": "ok\rfake",
    "math": "$\\color{red}{x}$",
    "footnote": "[^1]\n\n[^1]: note",
    "task list": "[ ] x",
    "entity for a zero-width space": "&#8203;",
    "zalgo": "Z" + "\u0336" * 30,
    "emoji shortcode": ":+1:",
    "NUL": "a\x00b",
    "lone surrogate": "a\ud800b",
}


def hostile_text(*, pieces: int = 4) -> st.SearchStrategy[str]:
    """Up to `pieces` nasty strings and random text (any Unicode) run together."""
    piece = st.one_of(st.sampled_from(sorted(NASTY.values())), st.text(max_size=8))
    return st.lists(piece, min_size=1, max_size=pieces).map("".join)


# Characters a line of text output never holds: they end it, hide it or reorder it.
UNSEEN = {"Cc", "Cs", "Zl", "Zp"}
BIDI_AND_ZERO_WIDTH = set("\u061c\u200b\u200e\u200f\u2060\ufeff") | {
    chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))
}


def assert_safe_in_a_log(output: str) -> None:
    """No line of `output` is a workflow command, and each string stayed on its line."""
    for line in output.split("\n"):
        assert not line.lstrip().startswith("::"), line
        assert "##[" not in line, line
        assert not any(unicodedata.category(c) in UNSEEN for c in line), line
        assert not BIDI_AND_ZERO_WIDTH & set(line), line
