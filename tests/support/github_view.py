"""A pull request comment as GitHub shows it: rendered by GitHub's own Markdown (cmark-gfm,
through cmarkgfm), read back as a small tree of tags and text.

Raw HTML is kept as written (GitHub's sanitizer comes later and only removes): a tag, comment
or link in the tree is one the Markdown produced. `mentions` applies GitHub's own rules for
what becomes a @mention or a #reference in the text it shows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

import cmarkgfm
from cmarkgfm.cmark import Options

from reconciler.util.untrusted import shown

# Elements that never have content.
_VOID = frozenset({"br", "hr", "img", "input", "meta", "link", "source", "wbr"})
# GitHub links "@name" and "@org/team" in shown text, and "#12", "org/repo#12", "GH-12";
# never inside these.
_NO_LINKS_IN = frozenset({"a", "code", "pre"})
_MENTION = re.compile(r"(?:^|\W)@[a-z0-9][a-z0-9-]*", re.IGNORECASE)
_REFERENCE = re.compile(r"(?:^|\W)(?:[\w.-]+/[\w.-]+)?#\d|\bGH-\d", re.IGNORECASE)
_ISSUE = re.compile(r"GH-(?=\d)", re.IGNORECASE)


def as_shown(text: str) -> str:
    """What a reader sees of an untrusted string in a comment: its one line (`shown`), with
    an invisible break after @, # and GH- so that GitHub links nothing."""
    broken = shown(text).replace("@", "@\u200b").replace("#", "#\u200b")
    return _ISSUE.sub(lambda found: found.group() + "\u200b", broken)


@dataclass
class Node:
    """An element, or the whole document (tag "")."""

    tag: str
    attrs: dict[str, str | None] = field(default_factory=dict)
    children: list[Node | str] = field(default_factory=list)
    parent: Node | None = None

    def text(self) -> str:
        """Everything it shows, as one string."""
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def all(self, tag: str | None = None) -> Iterator[Node]:
        """Its elements at any depth, in document order (those named `tag`)."""
        for child in self.children:
            if isinstance(child, Node):
                if tag is None or child.tag == tag:
                    yield child
                yield from child.all(tag)

    def within(self, tag: str) -> bool:
        node = self.parent
        while node is not None:
            if node.tag == tag:
                return True
            node = node.parent
        return False

    def texts(self) -> Iterator[tuple[str, Node]]:
        """Each piece of text with the element it is in."""
        for child in self.children:
            if isinstance(child, str):
                yield child, self
            else:
                yield from child.texts()


@dataclass
class Comment:
    """A rendered comment: its tree, and the HTML comments in it (hidden from readers)."""

    html: str
    root: Node
    hidden: list[str]

    def tags(self) -> set[str]:
        return {node.tag for node in self.root.all()}

    def mentions(self) -> list[str]:
        """The @mentions and #references GitHub would link in the shown text."""
        found = []
        for text, node in self.root.texts():
            if node.tag in _NO_LINKS_IN or any(node.within(tag) for tag in _NO_LINKS_IN):
                continue
            found += [m.group() for m in _MENTION.finditer(text)]
            found += [m.group() for m in _REFERENCE.finditer(text)]
        return found


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("")
        self.open = self.root
        self.hidden: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs), parent=self.open)
        self.open.children.append(node)
        if tag not in _VOID:
            self.open = node

    def handle_endtag(self, tag: str) -> None:
        node: Node | None = self.open
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:  # an unmatched end tag is ignored
            self.open = node.parent

    def handle_data(self, data: str) -> None:
        self.open.children.append(data)

    def handle_comment(self, data: str) -> None:
        self.hidden.append(data)


def render(markdown: str) -> Comment:
    """`markdown` as GitHub renders a comment (tables, autolinks, strikethrough, task lists,
    footnotes; raw HTML kept)."""
    html = cmarkgfm.github_flavored_markdown_to_html(
        markdown, options=Options.CMARK_OPT_UNSAFE | Options.CMARK_OPT_FOOTNOTES
    )
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return Comment(html, builder.root, builder.hidden)


def words(text: str) -> str:
    """`text` with its runs of white space as one space: Markdown trims a table cell and the
    end of a line."""
    return " ".join(text.split())
