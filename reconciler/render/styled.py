"""Text in parts with styles: ANSI colors where they are asked for, plain text elsewhere.

The plan and the config diff need eight styles and no layout (no wrapping, no markup, no
widths), so this is all of it: a terminal library would be most of the start-up of a plan.
Each line of a styled part is wrapped in its codes on its own, so that a style never runs on
into the next line (a log viewer may show any line alone). The parts are text already made
safe to show (`reconciler.util.untrusted`): nothing here reads them.
"""

from __future__ import annotations

# SGR codes by style word; a style is one or more words ("bold red").
_CODES = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "magenta": "35",
    "cyan": "36",
}
_RESET = "\x1b[0m"


class Styled:
    """Parts of text, each with a style or none."""

    def __init__(self, text: str = "", style: str | None = None) -> None:
        self._parts: list[tuple[str, str | None]] = []
        if text:
            self.append(text, style)

    def append(self, text: str, style: str | None = None) -> None:
        self._parts.append((text, style))

    @property
    def plain(self) -> str:
        return "".join(text for text, _ in self._parts)

    def render(self, *, color: bool) -> str:
        """The text, with ANSI colors if `color`."""
        if not color:
            return self.plain
        out: list[str] = []
        for text, style in self._parts:
            if not style:
                out.append(text)
                continue
            start = "\x1b[" + ";".join(_CODES[word] for word in style.split()) + "m"
            out.append(
                "\n".join(f"{start}{line}{_RESET}" if line else "" for line in text.split("\n"))
            )
        return "".join(out)
