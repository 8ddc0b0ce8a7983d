"""How a person is shown: by directory name and number, or with the number masked."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Protocol

from reconciler.core.jid import Jid


class Named(Protocol):
    """A plan or a config diff: whatever knows people's names."""

    @property
    def directory(self) -> Mapping[Jid, str]: ...


def person(named: Named, jid: Jid, *, mask_phones: bool = False) -> str:
    """`alice (+1 415-555-0101)`; masked, `alice (…0101)`."""
    shown = jid.display()
    if mask_phones and jid.is_phone:
        shown = f"…{jid.user[-4:]}"
    name = named.directory.get(jid)
    return f"{name} ({shown})" if name else shown


_PHONE_IN_TEXT = re.compile(r"\+\d[\d \-()]{5,}\d")
_DIGITS = re.compile(r"\D")


def masked(text: str, *, mask_phones: bool) -> str:
    """Free text (errors, notes) with phone numbers cut to their last 4 digits when asked."""
    if not mask_phones:
        return text
    return _PHONE_IN_TEXT.sub(lambda match: "…" + _DIGITS.sub("", match.group())[-4:], text)
