"""WhatsApp's rules for sending a text message, to a person or to a group one is in."""

from __future__ import annotations

import secrets

from reconciler.core.jid import JidKind, jid_from_api
from reconciler.errors import InvalidJidError
from reconciler.sim.state import Account, SentMessage
from reconciler.sim.world import SimError, World

MAX_MESSAGE_LENGTH = 65536


def send_text(world: World, account: Account, chat_id: str, text: str, now: int) -> SentMessage:
    """A text message to a person (any number on WhatsApp, or a known LID) or to a group
    the account is in. Recorded in `WorldState.messages`; nobody reads it."""
    if not text.strip():
        raise SimError(400, "the message text must not be empty")
    if len(text) > MAX_MESSAGE_LENGTH:
        raise SimError(400, f"the message text is longer than {MAX_MESSAGE_LENGTH} characters")
    try:
        parsed = jid_from_api(chat_id)
    except InvalidJidError:
        raise SimError(
            400, f"{chat_id!r} is not a chat id (a person's JID or a group id)"
        ) from None
    if parsed.kind is JidKind.GROUP:
        world.group(account, str(parsed))
    elif parsed.kind is JidKind.LID and world.person_with_lid(parsed.user) is None:
        raise SimError(404, f"no WhatsApp account for {chat_id}")
    message = SentMessage(
        id=f"3EB0{secrets.token_hex(8).upper()}",
        session=account.session,
        sender=account.phone,
        chat_id=chat_id,
        text=text,
        timestamp=now,
    )
    world.state.messages.append(message)
    return message
