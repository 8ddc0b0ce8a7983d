"""The simulator's world file: accounts, people, groups and pictures, as pydantic models.

The same models are the world in state_file, so loading and saving are one validated step each.
The format is documented in docs/simulator.md; phone numbers are written as E.164 (`+1415...`).
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from reconciler.core.limits import SESSION_NAME

Role = Literal["member", "admin", "superadmin"]
Visibility = Literal["everyone", "admins", "contacts"]
# How a group keys its participants: by phone number ("pn"), or by LID ("lid"), where WhatsApp
# no longer finds a member by their phone JID for remove, promote and demote.
AddressingMode = Literal["pn", "lid"]
# Titan's session states and reasons (sessions/overview).
SessionStatus = Literal["CONNECTING", "CONNECTED", "DISCONNECTED"]
StatusReason = Literal[
    "AUTO_RECONNECT",
    "SCAN_QR",
    "MANUAL_STOP",
    "QR_TIMEOUT",
    "LOGGED_OUT",
    "FAILED",
    "STREAM_ERROR",
    "TEMPORARY_BAN",
]
# World files written before the simulator spoke Titan's session states.
_OLD_STATUSES: dict[str, tuple[str, str]] = {
    "STARTING": ("CONNECTING", "AUTO_RECONNECT"),
    "SCAN_QR_CODE": ("CONNECTING", "SCAN_QR"),
    "STOPPED": ("DISCONNECTED", "MANUAL_STOP"),
    "FAILED": ("DISCONNECTED", "FAILED"),
}


# Checked by shape only: the file is the simulator's own, and large worlds must load fast.
Phone = Annotated[str, Field(pattern=r"^\+\d{6,15}$")]
GroupId = Annotated[str, Field(pattern=r"^\d{1,20}(-\d{1,20})?@g\.us$")]
SessionName = Annotated[str, Field(pattern=f"^{SESSION_NAME.pattern}$")]
Digits = Annotated[str, Field(pattern=r"^\d{1,20}$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Settings(_Model):
    # WhatsApp refuses (408) to re-add someone who left a group on their own recently.
    recently_left_seconds: int = Field(default=86400, ge=0)
    # The session object's shape: Titan's documented flat one, or the `me: {id, lid}` some
    # engines (WAHA) answer, which clients must still read.
    session_shape: Literal["documented", "legacy"] = "documented"
    # Titan documents no route that shows a group's picture: without this, GET .../picture
    # answers 404 like any unknown route. With it, the route some engines have answers.
    picture_getter: bool = False


class Person(_Model):
    """Someone on WhatsApp. Any valid number not listed is on WhatsApp with these defaults."""

    phone: Phone
    lid: Digits | None = None
    name: str | None = None
    # Privacy "who can add me to groups": when true, an add is refused (403) with an invite
    # code, and nothing reaches them.
    invite_only: bool = False
    # Who sees the number in a group's participant list; the others see only the LID.
    phone_visible_to: Visibility = "everyone"

    @property
    def jid(self) -> str:
        return f"{self.phone[1:]}@s.whatsapp.net"

    @property
    def lid_jid(self) -> str:
        return f"{self.lid}@lid"


class Account(_Model):
    """A WhatsApp account connected to Titan as a session; acting as it is calling its session."""

    session: SessionName
    phone: Phone
    status: SessionStatus = "CONNECTED"
    status_reason: StatusReason | None = None
    push_name: str | None = None
    contacts: list[Phone] = Field(default_factory=list)
    # WhatsApp bans accounts that write in bursts: after this many more writes, the session
    # turns DISCONNECTED / TEMPORARY_BAN (for trying what a run does when that happens).
    writes_until_ban: int | None = Field(default=None, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _old_status(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("status") in _OLD_STATUSES:
            status, reason = _OLD_STATUSES[data["status"]]
            data = {**data, "status": status, "status_reason": data.get("status_reason", reason)}
        return data


class Group(_Model):
    id: GroupId
    subject: str
    description: str = ""
    creator: Phone
    created_at: int
    invite_code: str
    picture: str | None = None  # key into WorldState.pictures
    addressing_mode: AddressingMode = "pn"
    participants: dict[Phone, Role] = Field(default_factory=dict)  # in joining order
    left_at: dict[Phone, int] = Field(default_factory=dict)  # left on their own, when
    # Whose add was refused for their privacy settings (403 with an invite code), and when.
    invited_at: dict[Phone, int] = Field(default_factory=dict)


class SentMessage(_Model):
    """A text message a session sent through `POST /api/messages/send`."""

    id: str
    session: SessionName
    sender: Phone  # the session's account
    chat_id: str  # as the caller wrote it: a person's JID, a LID or a group id
    text: str
    timestamp: int


class WebhookRetries(_Model):
    attempts: int = Field(default=3, ge=1, le=10)
    delay_seconds: float = Field(default=5, ge=0, le=3600)
    policy: Literal["exponential", "fixed"] = "exponential"


class Webhook(_Model):
    """A webhook registered through `POST /api/webhooks`; the simulator delivers to it."""

    id: int
    url: str
    events: list[str] = Field(default_factory=list)  # none (or "*"): every event
    session: SessionName | None = None  # None: every session
    hmac_key: str
    headers: dict[str, str] = Field(default_factory=dict)
    retries: WebhookRetries = Field(default_factory=WebhookRetries)
    label: str | None = None
    enabled: bool = True
    created_at: int


class WorldState(_Model):
    version: Literal[1] = 1
    settings: Settings = Field(default_factory=Settings)
    people: list[Person] = Field(default_factory=list)
    accounts: list[Account] = Field(default_factory=list)
    groups: list[Group] = Field(default_factory=list)
    pictures: dict[str, str] = Field(default_factory=dict)  # sha256 hex -> base64 JPEG
    messages: list[SentMessage] = Field(default_factory=list)  # oldest first
    webhooks: list[Webhook] = Field(default_factory=list)


def derived_lid(phone: str) -> str:
    """A stable 15-digit LID for a number the world file gives none for."""
    digest = hashlib.sha256(phone.encode()).hexdigest()
    return str(int(digest[:16], 16) % 10**15).rjust(15, "1")


def default_world() -> WorldState:
    """A world with one connected account, session `default`, and nobody else."""
    return WorldState(
        people=[Person(phone="+14155550100", name="groupctl")],
        accounts=[Account(session="default", phone="+14155550100")],
    )
