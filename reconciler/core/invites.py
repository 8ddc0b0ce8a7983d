"""Group invite links, and the message that carries one to someone who needs an invite.

WhatsApp will not add a person whose privacy settings forbid it, and tells them nothing
(titan-api.md): someone has to send them the group's invite link. Anyone holding that link can
join the group, so it is shown only where apply reports to its operator, and sent only to the
people it is for.
"""

from __future__ import annotations

import re
import string
from datetime import timedelta

INVITE_LINK_BASE = "https://chat.whatsapp.com/"
LINK_WARNING = (
    "anyone holding an invite link can join its group: send it only to the people it is for"
)
PLACEHOLDERS = ("subject", "link")
DEFAULT_INVITE_MESSAGE = 'You are invited to join the WhatsApp group "{subject}": {link}'
# WhatsApp's codes are ~22 letters and digits; anything else is not put into a URL.
_CODE = re.compile(r"[A-Za-z0-9]{1,64}")


_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
SHORTEST_ROTATION = timedelta(hours=1)
LONGEST_ROTATION = timedelta(days=366)
# invite_link: disabled revokes the link this often, besides after every removal.
LINK_DISABLED_ROTATION = timedelta(days=1)


def parse_period(text: str) -> timedelta:
    """`30d`, `12h` or `2w` as a timedelta, between an hour and a year (ValueError if not)."""
    found = re.fullmatch(r"([1-9][0-9]{0,4})([hdw])", text)
    if found is None:
        raise ValueError(f"{text[:80]!r} is not a period such as 30d, 12h or 2w")
    period = int(found[1]) * _UNITS[found[2]]
    if not SHORTEST_ROTATION <= period <= LONGEST_ROTATION:
        raise ValueError(f"{text!r} is not between 1h and 366d")
    return period


def invite_link(code: str) -> str:
    """The link for an invite code from the API (untrusted): ValueError unless it is only
    letters and digits."""
    if not _CODE.fullmatch(code):
        raise ValueError(f"the invite code {code[:80]!r} is not letters and digits")
    return INVITE_LINK_BASE + code


def check_template(template: str) -> None:
    """ValueError, saying what to write instead, unless `template` uses only the placeholders
    {subject} and {link}, plainly, and has {link}."""
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(
            f"the message template is not valid ({exc}): write {{{{ and }}}} for a literal brace"
        ) from None
    names = []
    for _, name, spec, conversion in fields:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            shown = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            shown = "{" + shown + "}"
            raise ValueError(
                f"unknown placeholder {shown} in the message: use {{subject}} and {{link}}"
                " (write {{ and }} for a literal brace)"
            )
        names.append(name)
    if "link" not in names:
        raise ValueError("the message must contain {link}, the group's invite link")


def invite_text(template: str, *, subject: str, link: str) -> str:
    """The message for one group: `template` (checked with `check_template`) filled in."""
    check_template(template)
    return template.format(subject=subject, link=link)
