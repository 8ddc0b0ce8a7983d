"""The schema of groups.yaml as pydantic models: what each key is, its type and its default.

This checks shape only; `load.py` resolves names, numbers and teams and checks the rules that
need the whole file (duplicates, cycles, limits). The JSON Schema (`groupctl schema`) comes from
these models, so descriptions here are what editors show.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import phonenumbers
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    WithJsonSchema,
    create_model,
    field_validator,
    model_validator,
)

from reconciler.config.names import NAME_RULE, name_schema
from reconciler.core.invites import DEFAULT_INVITE_MESSAGE, check_template, parse_period
from reconciler.core.limits import MAX_DESCRIPTION_LENGTH, MAX_GROUP_SIZE, MAX_SUBJECT_LENGTH
from reconciler.errors import GroupctlError
from reconciler.util.rates import parse_rate

_INVITE_BY_MESSAGE = (
    "true: send the group's invite link as a WhatsApp message to each person WhatsApp will not"
    " add (their privacy settings), once; needs the API key's messages:write scope. Anyone"
    " holding the link can join the group."
)
_INVITE_MESSAGE = (
    "The message that carries the invite link (with invite_by_message: true): {subject} is the"
    f" group's subject, {{link}} its invite link. Default: {DEFAULT_INVITE_MESSAGE}"
)


def _checked_template(template: str) -> str:
    check_template(template)
    return template


# Checked in the type, not by a model validator: load.py checks each key of a group alone.
Template = Annotated[str, AfterValidator(_checked_template)]


_MIN_ADMINS = (
    "Admins the group keeps besides the session's own account, so that it is not lost with"
    " the session's number: a plan that would demote or remove admins and leave fewer is"
    " refused for this group, and validate warns when fewer are listed."
)


def _min_admins(default: str) -> Any:
    return Field(default=None, ge=0, le=MAX_GROUP_SIZE - 1, description=f"{_MIN_ADMINS} {default}")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _checked_period(text: str) -> str:
    parse_period(text)
    return text


Period = Annotated[
    str,
    AfterValidator(_checked_period),
    Field(json_schema_extra={"pattern": r"^[1-9][0-9]{0,4}[hdw]$"}),
]


class InviteLinkSpec(Strict):
    revoke_on_removal: StrictBool = Field(
        default=False,
        description="true: after apply removes anyone from the group, it revokes the invite"
        " link, so that they cannot walk back in by it. Shown in the plan as its own action.",
    )
    rotate_every: Period | None = Field(
        default=None,
        description="Revoke the invite link this often (30d, 12h, 2w); the state file keeps"
        " when it was last revoked, and a group with no record is revoked at the next apply.",
        examples=["30d"],
    )
    disabled: StrictBool = Field(
        default=False, description="true: the same as invite_link: disabled."
    )

    @model_validator(mode="before")
    @classmethod
    def _disabled(cls, value: Any) -> Any:
        """`invite_link: disabled` is `{disabled: true}`; any other text is refused here,
        with one message, rather than once for each form it is not."""
        if value == "disabled":
            return {"disabled": True}
        if not isinstance(value, dict):
            raise ValueError(
                f"expected disabled or a mapping {{revoke_on_removal, rotate_every}},"
                f" not {str(value)[:80]!r}"
            )
        return value

    @model_validator(mode="after")
    def _alone_when_disabled(self) -> InviteLinkSpec:
        if self.disabled and (self.revoke_on_removal or self.rotate_every):
            raise ValueError(
                "disabled revokes the link after every removal and every day: drop"
                " revoke_on_removal and rotate_every"
            )
        return self


_INVITE_LINK = (
    "What becomes of the group's invite link: {revoke_on_removal, rotate_every}, or"
    " disabled: revoked after every removal and every day, never shown by groupctl links,"
    " and not to be sent by invite_by_message."
)
# In the schema as editors see it: the word, or the mapping.
InviteLink = Annotated[
    InviteLinkSpec,
    WithJsonSchema({"anyOf": [{"const": "disabled"}, InviteLinkSpec.model_json_schema()]}),
]


class Defaults(Strict):
    country: str | None = Field(
        default=None,
        description="Two-letter country (ISO 3166) for phone numbers written without +<code>,"
        " e.g. US: then (415) 555-0101 means +1 415-555-0101.",
        examples=["US", "GB", "DE"],
    )
    invite_by_message: StrictBool | None = Field(
        default=None, description=_INVITE_BY_MESSAGE + " For every group that does not say."
    )
    invite_message: Template | None = Field(
        default=None, description=_INVITE_MESSAGE + " For every group that does not say."
    )
    min_admins: StrictInt | None = _min_admins("For every group that does not say.")
    invite_link: InviteLink | None = Field(
        default=None, description=_INVITE_LINK + " For every group that does not say."
    )

    @field_validator("country")
    @classmethod
    def _known_country(cls, country: str | None) -> str | None:
        if country is not None and country.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{country!r} is not a two-letter country code such as US or GB")
        return country.upper() if country else None


# YAML may read an unquoted number as an int; load.py parses both. Strict: true is no number.
Phone = str | StrictInt


class PersonSpec(Strict):
    phone: Phone | None = Field(
        default=None, description="Phone number in any common notation, or a phone JID."
    )
    lid: str | None = Field(
        default=None,
        description="WhatsApp's linked id (<digits>@lid), for people whose number groups hide.",
    )


# Numbers and flags are strict: pydantic would otherwise read true as 1, '3' as 3 and "on" as
# true, and a typo would change what a plan is allowed to remove.
class Limits(Strict):
    max_removals: StrictInt | None = Field(
        default=None,
        ge=0,
        description="Most members this group's plan may remove before it is refused.",
    )
    max_removal_percent: StrictFloat | None = Field(
        default=None,
        ge=0,
        le=100,
        description="Most members, as a percentage of the group, its plan may remove.",
    )
    max_demotions: StrictInt | None = Field(
        default=None,
        ge=0,
        description="Most admins this group's plan may demote before it is refused.",
    )
    max_adds: StrictInt | None = Field(
        default=None,
        ge=0,
        description="Most members this group's plan may add (a new group's members too)"
        " before it is refused.",
    )


class GroupSpec(Strict):
    id: str | None = Field(
        default=None,
        description="The live group's id (<digits>@g.us). Binds this entry to it, so the subject"
        " may change. Without it, the group is found by its exact subject.",
        json_schema_extra={"pattern": r"^\d+(-\d+)?@g\.us$"},
    )
    subject: str | None = Field(
        default=None,
        description="The group's name as WhatsApp shows it (1 to 25 characters).",
        # In the schema only, for editors: load.py checks it with a friendlier message.
        json_schema_extra={"minLength": 1, "maxLength": MAX_SUBJECT_LENGTH},
    )
    description: str | None = Field(
        default=None,
        description="The group description (up to 2048 characters). Absent: left as it is.",
        json_schema_extra={"maxLength": MAX_DESCRIPTION_LENGTH},
    )
    picture: str | None = Field(
        default=None,
        description="Group picture: an image file path relative to this file, or an https URL.",
    )
    # A default, not default_factory=list: pydantic's model_construct, which load.py builds
    # each group with, inspects a factory's signature at every call (half a millisecond for a
    # builtin: 50 s for a config of 100,000 groups). It copies a list default for each group.
    members: list[str] = Field(
        default=[],
        description="People (directory names), team:<name>, phone numbers or JIDs.",
    )
    admins: list[str] = Field(
        default=[],
        description="Members who are admins; same forms as members. They need not be listed"
        " in members too.",
    )
    members_policy: Literal["exact", "additive"] = Field(
        default="exact",
        description="exact: remove anyone not listed. additive: add and promote, never remove.",
    )
    protect: StrictBool = Field(
        default=False, description="Never leave or delete this group, whatever the config says."
    )
    ensure: Literal["present", "absent"] = Field(
        default="present", description="absent: leave or delete the group (see absent_action)."
    )
    absent_action: Literal["leave", "delete"] = Field(
        default="leave",
        description="What ensure: absent does: leave the group, or delete it (creator only).",
    )
    limits: Limits | None = Field(
        default=None,
        description="This group's own safety limits on removals, demotions and adds. The"
        " run's limits (--max-removals, --max-adds...) hold whatever they say.",
    )
    invite_by_message: StrictBool | None = Field(
        default=None, description=_INVITE_BY_MESSAGE + " Default: defaults.invite_by_message."
    )
    invite_message: Template | None = Field(
        default=None, description=_INVITE_MESSAGE + " Default: defaults.invite_message."
    )
    min_admins: StrictInt | None = _min_admins("Default: defaults.min_admins, else 0.")
    invite_link: InviteLink | None = Field(
        default=None,
        description=_INVITE_LINK + " Default: defaults.invite_link (the whole of it), else"
        " left alone.",
    )
    previously: list[str] = Field(
        default=[],
        description="Keys this group had before: a diff shows a rename, not a group removed"
        " and one added, and plan says so; what groupctl remembers of the group (by its id)"
        " stays with it.",
    )
    session: str | None = Field(
        default=None,
        description="The session (of sessions:) whose account has this group. Default: the"
        " top-level session:, else default.",
    )
    extends: list[str] = Field(
        default=[],
        description="Templates (of templates:) this group is made from, in order: each key"
        " a later one sets replaces an earlier one's, and the group's own keys come last.",
    )


# What a template may give a group: not its identity (id, subject), not whether it exists
# (ensure, absent_action: a template must not leave or delete groups wholesale).
TEMPLATE_KEYS = (
    "description",
    "picture",
    "members",
    "admins",
    "members_policy",
    "protect",
    "limits",
    "invite_by_message",
    "invite_message",
    "invite_link",
    "min_admins",
)
TemplateSpec: type[Strict] = create_model(
    "TemplateSpec",
    __base__=Strict,
    __doc__="A named partial group: the keys a group that extends it takes, unless it sets"
    " them itself.",
    **{
        name: (info.annotation, info)
        for name, info in GroupSpec.model_fields.items()
        if name in TEMPLATE_KEYS
    },  # type: ignore[call-overload]
)


class PolicyRule(Strict):
    """A rule the config must keep, checked by `groupctl check` (no API key) and enforced by
    plan and apply, which refuse a group that breaks it."""

    rule: Literal["protected", "never_remove", "max_size", "admins_from_team"] = Field(
        description="protected: the groups must be protect: true. never_remove: the people"
        " are never removed from the groups (the config must list them; a plan that would"
        " remove them is refused). max_size: the groups list at most size members."
        " admins_from_team: every admin the groups list is in team."
    )
    groups: list[str] = Field(
        default=["*"], description="The group keys the rule holds for; * for every group."
    )
    people: list[str] = Field(
        default=[], description="never_remove: people, team:<name>, numbers or JIDs."
    )
    size: StrictInt | None = Field(
        default=None, ge=1, le=MAX_GROUP_SIZE, description="max_size: the most members."
    )
    team: str | None = Field(default=None, description="admins_from_team: the team's name.")
    why: str | None = Field(
        default=None, description="Said with every breach of the rule, for whoever breaks it."
    )


class SessionLimits(Strict):
    """An account's own safety brakes: each lowers the run's (--max-... flag) for this
    account's plan, never raises it."""

    max_removals: StrictInt | None = Field(
        default=None, ge=0, description="Most members this account's plan may remove in all."
    )
    max_demotions: StrictInt | None = Field(
        default=None, ge=0, description="Most admins this account's plan may demote in all."
    )
    max_leaves: StrictInt | None = Field(
        default=None, ge=0, description="Most groups this account's plan may leave."
    )
    max_deletes: StrictInt | None = Field(
        default=None, ge=0, description="Most groups this account's plan may delete."
    )
    max_adds: StrictInt | None = Field(
        default=None,
        ge=0,
        description="Most members this account's plan may add in all (new groups' too).",
    )
    max_creates: StrictInt | None = Field(
        default=None, ge=0, description="Most groups this account's plan may create."
    )


class SessionSpec(Strict):
    """A WhatsApp account (Titan session) the config manages groups of."""

    write_rate: str | None = Field(
        default=None,
        description="This account's pace of writes, e.g. 20/min (--write-rate wins): each"
        " account is paced on its own, since WhatsApp bans bursts per account.",
        json_schema_extra={"pattern": r"^([0-9]+/(s|min|h)|unlimited)$"},
    )
    limits: SessionLimits | None = Field(
        default=None,
        description="This account's own safety brakes (max_removals, max_adds...): each"
        " lowers the run's --max-... for its plan, never raises it.",
    )

    @field_validator("write_rate")
    @classmethod
    def _a_rate(cls, rate: str | None) -> str | None:
        if rate is not None:
            try:
                parse_rate(rate)
            except GroupctlError as exc:  # said at its line, like any value of the file
                raise ValueError(str(exc)) from None
        return rate


PersonValue = Phone | PersonSpec
TeamValue = list[str]


class ConfigFile(Strict):
    """A groupctl config file. A directory of them is merged into one config."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="groupctl config")

    version: Literal[1] = Field(description="The file format's version: 1.")
    session: str | None = Field(
        default=None,
        description="The Titan session to manage. --session and TITAN_SESSION take precedence.",
    )
    sessions: dict[str, SessionSpec | None] = Field(
        default_factory=dict,
        description="The Titan sessions (WhatsApp accounts) whose groups this config manages,"
        " each with settings of its own; a group says which (session:). Without it, every"
        " group is the top-level session's.",
    )
    defaults: Defaults = Field(default_factory=Defaults)
    people: dict[str, PersonValue] = Field(
        default_factory=dict,
        description=f"A directory of people: name -> phone number, or {{phone, lid}}; {NAME_RULE}.",
        json_schema_extra={"propertyNames": name_schema()},
    )
    teams: dict[str, TeamValue] = Field(
        default_factory=dict,
        description="Named sets of members: people, phone numbers, JIDs and team:<name>;"
        f" {NAME_RULE}.",
        json_schema_extra={"propertyNames": name_schema()},
    )
    templates: dict[str, TemplateSpec] = Field(
        default_factory=dict,
        description=f"Named partial groups that groups take keys from (extends:); {NAME_RULE}.",
        json_schema_extra={"propertyNames": name_schema()},
    )
    policy: list[PolicyRule] = Field(
        default=[],
        description="Rules the config must keep (groupctl check); plan and apply refuse a"
        " group that breaks one. The rules of every file of a directory hold together.",
    )
    groups: dict[str, GroupSpec] = Field(
        default_factory=dict,
        description=f"The groups to manage, by a stable name of your choosing; {NAME_RULE}.",
        json_schema_extra={"propertyNames": name_schema()},
    )


def config_schema() -> dict[str, Any]:
    """The JSON Schema of a config file (what `groupctl schema` prints)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **ConfigFile.model_json_schema(),
    }
