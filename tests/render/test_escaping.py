"""Nasty strings, escaped: each shows as itself (on one line) in every place a renderer puts
one, as GitHub renders a comment and as a terminal or CI log shows a line."""

from __future__ import annotations

import pytest

from reconciler.render.escaping import code, md
from reconciler.util.untrusted import one_line, quoted, shown
from tests.support.github_view import as_shown, render
from tests.support.hostile import NASTY

# Where the renderers put a string (`{}`), and the tags each place has of its own.
PLACES = {
    "text": ("x {} y", {"p"}),
    "bold in a list": ("- **{}** removes y", {"ul", "li", "strong"}),
    "table cell": (
        "| a | b |\n|---|---|\n| {} | y |",
        {"table", "thead", "tbody", "tr", "th", "td"},
    ),
    "summary": (
        "<details>\n<summary>x <b>{}</b></summary>\n\ny\n\n</details>",
        {"details", "summary", "b", "p"},
    ),
    "callout": (
        "> [!WARNING]\n> **Review first**\n>\n> - {} y",
        {"blockquote", "p", "strong", "ul", "li"},
    ),
}


@pytest.mark.parametrize("nasty", NASTY.values(), ids=NASTY.keys())
@pytest.mark.parametrize("place", PLACES)
def test_a_nasty_string_shows_as_itself_and_nothing_more(nasty: str, place: str) -> None:
    template, tags = PLACES[place]
    for written, extra in ((md(nasty), set()), (code(nasty), {"code"})):
        shown_as = render(template.format(written) + "\n\nEND")
        assert shown_as.hidden == []
        assert shown_as.tags() <= tags | extra | {"p"}, shown_as.html
        assert shown_as.mentions() == []
        assert as_shown(nasty) in shown_as.root.text()
        assert shown_as.root.text().rstrip().endswith("END")  # nothing after it was hidden
    assert "\n" not in md(nasty)
    assert "<!--" not in md(nasty)
    assert "##[" not in md(nasty)
    assert "::" not in md(nasty)


def test_a_table_row_keeps_its_cells() -> None:
    row = f"| {md('a | b')} | {code('c | d')} |"
    table = render(f"| x | y |\n|---|---|\n{row}")
    assert [cell.text() for cell in table.root.all("td")] == ["a | b", "c | d"]


# text -> as a terminal or log shows it
SHOWN = {
    "plain": ("Zoë's Ωteam", "Zoë's Ωteam"),
    "line break": ("a\nb", "a\\nb"),
    "carriage return": ("a\r\nb", "a\\r\\nb"),
    "terminal escape": ("\x1b[31mred", "\\x1b[31mred"),
    "bidi override": ("x\u202ey", "x\\u202ey"),
    "zero-width space": ("a\u200bb", "a\\u200bb"),
    "a joiner outside emoji": ("a\u200db", "a\\u200db"),
    "a family emoji": ("👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧"),
    "a rainbow flag": ("🏳\ufe0f\u200d🌈", "🏳\ufe0f\u200d🌈"),
    "line separator": ("a\u2028b", "a\\u2028b"),
    "tag character": ("a\U000e0041", "a\\U000e0041"),
    "lone surrogate": ("a\ud800", "a\\ud800"),
    "accents": ("Nguyễn", "Nguyễn"),
    "zalgo": ("e" + "\u0301" * 6, "e" + "\u0301" * 4 + "\\u0301\\u0301"),
    "old workflow command": ("x ##[error]y", "x ##\\x5berror]y"),
    "three hashes": ("###[x", "###\\x5bx"),
    "workflow command at the start": ("::error::x", "\\x3a:error::x"),
    "after spaces": ("  ::warning::x", "  \\x3a:warning::x"),
    "after a wide space": ("\u3000::warning::x", "\u3000\\x3a:warning::x"),
    "colons inside": ("a::b [::1]", "a::b [::1]"),
}


@pytest.mark.parametrize(("text", "expected"), SHOWN.values(), ids=SHOWN.keys())
def test_untrusted_text_in_a_line_of_text(text: str, expected: str) -> None:
    assert shown(text) == expected


def test_quoted_and_cut_text_are_shown_too() -> None:
    assert quoted('say "hi"\n##[error]') == '"say \\"hi\\"\\n##\\x5berror]"'
    assert quoted(None) == '""'
    assert one_line("\u202e" * 400, limit=2) == "\\u202e\\u202e... (398 more characters)"
