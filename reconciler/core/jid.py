"""Phone numbers and WhatsApp JIDs: parse what people write and what the API returns.

A person is `<digits>@s.whatsapp.net` (WAHA writes `@c.us` for the same person) or, when
WhatsApp hides the number, `<digits>@lid`. A group is `<digits>[-<digits>]@g.us`.
Everything is normalized to one `Jid` value so that equal people compare equal.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from enum import StrEnum

import phonenumbers

from reconciler.errors import InvalidJidError


class JidKind(StrEnum):
    """The server part of a JID, which says what kind of thing it names."""

    PHONE = "s.whatsapp.net"
    LID = "lid"
    GROUP = "g.us"


# Other spellings of the same server, as written by WAHA and whatsapp-web.js.
_SERVER_ALIASES = {"c.us": JidKind.PHONE, "s.whatsapp.net": JidKind.PHONE}
_USER_PATTERNS = {
    JidKind.PHONE: re.compile(r"\d{6,15}", re.ASCII),
    JidKind.LID: re.compile(r"\d{1,20}", re.ASCII),
    JidKind.GROUP: re.compile(r"\d{1,20}(-\d{1,20})?", re.ASCII),
}
# A device suffix ("14155550101:12@s.whatsapp.net") names a device of the same person.
_DEVICE_SUFFIX = re.compile(r":\d+$", re.ASCII)
# Digits are ASCII only (\d would take "٤١٥" too); spaces may be any, as pasted numbers have.
_PHONE_CHARACTERS = re.compile(r"[0-9\s+().\-/]+")
_SEPARATORS = re.compile(r"[\s().\-/]")
_PHONE_SERVER = "s.whatsapp.net"
_CANONICAL = re.compile(
    r"\d{6,15}@s\.whatsapp\.net|\d{1,20}@lid|\d{1,20}(?:-\d{1,20})?@g\.us", re.ASCII
)
_PLUS_DIGITS = re.compile(r"\+\d{6,15}", re.ASCII)

_IMPOSSIBLE_REASONS = {
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "unknown country code",
    phonenumbers.ValidationResult.TOO_SHORT: "too short",
    phonenumbers.ValidationResult.TOO_LONG: "too long",
    phonenumbers.ValidationResult.INVALID_LENGTH: "wrong length for its country",
}
_PARSE_FAILURES = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
    phonenumbers.NumberParseException.TOO_LONG: "too long",
}


class Jid(str):
    """A normalized WhatsApp address, `<user>@<server>`, as a string.

    A `str` subclass: planning compares millions of them, and a string caches its hash. It
    equals its plain-string form (`Jid("1", JidKind.LID) == "1@lid"`).
    """

    __slots__ = ()

    def __new__(cls, user: str, kind: JidKind) -> Jid:
        return super().__new__(cls, f"{user}@{kind}")  # a StrEnum formats as its value

    def __getnewargs__(self) -> tuple[str, JidKind]:  # type: ignore[override]
        return self.user, self.kind

    def __repr__(self) -> str:
        return f"Jid({str(self)!r})"

    @property
    def user(self) -> str:
        return self.partition("@")[0]

    @property
    def kind(self) -> JidKind:
        return JidKind(self.partition("@")[2])

    @property
    def is_phone(self) -> bool:
        return self.endswith("@s.whatsapp.net")

    @property
    def is_lid(self) -> bool:
        return self.endswith("@lid")

    @property
    def is_group(self) -> bool:
        return self.endswith("@g.us")

    @property
    def e164(self) -> str:
        """The phone number as `+<digits>`; only for phone JIDs."""
        if not self.is_phone:
            raise InvalidJidError(f"{self} is not a phone number")
        return f"+{self.user}"

    def display(self) -> str:
        """How a person reads it: `+1 415-555-0101` for phones, the JID otherwise."""
        if not self.is_phone:
            return str(self)
        try:
            number = phonenumbers.parse(self.e164, None)
        except phonenumbers.NumberParseException:
            return self.e164
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


# The same people come back in group after group of a config: parsing each text once saves
# most of the time at scale, and lets equal addresses share one string. Errors are not cached.
_CACHE_SIZE = 1 << 16


@functools.lru_cache(maxsize=_CACHE_SIZE)
def parse_phone(text: str, *, default_country: str | None = None) -> Jid:
    """A phone number in any common notation -> its phone JID.

    "+1 (415) 555-0101", "+44 20 7946 0958", or "(415) 555-0101" with `default_country="US"`.
    """
    written = text.strip()
    number = _written_e164(written)
    if number is None:
        number = _parsed(text, written, default_country)
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason in _IMPOSSIBLE_REASONS:
        raise InvalidJidError(
            f"{text!r} is not a valid phone number ({_IMPOSSIBLE_REASONS[reason]})"
        )
    if not _is_valid(number):
        region = phonenumbers.region_code_for_number(number) or "its country"
        raise InvalidJidError(f"{text!r} is not a valid phone number in {region}")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return Jid(e164.removeprefix("+"), JidKind.PHONE)


def _is_valid(number: phonenumbers.PhoneNumber) -> bool:
    """`phonenumbers.is_valid_number`, with the number checked once against the region it is
    of: `is_valid_number` finds the region of a country code that several share (+1: the US,
    Canada and 23 more) by checking the number against each in turn, then checks it again
    against the one found, which is half of its cost."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(number.country_code or 0, ())
    if len(regions) < 2:
        region = phonenumbers.region_code_for_number(number)
        return region is not None and _valid_in(number, region)
    national = phonenumbers.national_significant_number(number)
    for region in regions:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region, None)
        if metadata is None:
            continue
        if metadata.leading_digits is not None:  # the region's numbers start so: it is theirs
            if re.match(metadata.leading_digits, national):
                return _valid_in(number, region)
        elif _valid_in(number, region):
            return True
    return False


# A number's national part against one kind of a region's numbers: (its possible lengths, none
# for any; the full match of its pattern).
_Kind = tuple[frozenset[int], Callable[[str], object]]
# The kinds a region's numbers come in, in `phonenumbers`' metadata (the most common first).
_KINDS = (
    "fixed_line",
    "mobile",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
)


def _valid_in(number: phonenumbers.PhoneNumber, region: str) -> bool:
    """`phonenumbers.is_valid_number_for_region`, answered as it answers: the number is of
    the region's country code, its national part is of the region's numbers in general and
    of one kind of them (fixed line, mobile, toll free...). `phonenumbers` finds which kind,
    checking the rare ones first; a number of any kind is valid, so the common ones are
    checked first here, and each region's patterns are compiled once. A config's load
    spent most of its time in `is_valid_number` (tests/core/test_jid.py holds this to it)."""
    kinds = _kinds_of(number.country_code or 0, region)
    if kinds is None:
        return False
    national = phonenumbers.national_significant_number(number)
    general, others = kinds
    return _is(national, general) and any(_is(national, kind) for kind in others)


def _is(national: str, kind: _Kind) -> bool:
    lengths, full_match = kind
    return (not lengths or len(national) in lengths) and full_match(national) is not None


@functools.cache
def _kinds_of(country_code: int, region: str) -> tuple[_Kind, tuple[_Kind, ...]] | None:
    """The general shape and the kinds of the numbers of `region` under `country_code`, or
    None when none of its numbers is valid (the region is not of that country code)."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(
        country_code, region.upper()
    )
    if metadata is None or (
        region != phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY
        and country_code != phonenumbers.country_code_for_valid_region(region)
    ):
        return None
    general = _kind(metadata.general_desc)
    if general is None:
        return None
    kinds = (_kind(getattr(metadata, name, None)) for name in _KINDS)
    return general, tuple(kind for kind in kinds if kind is not None)


def _kind(desc: phonenumbers.PhoneNumberDesc | None) -> _Kind | None:
    """A kind of numbers as `phonenumbers` matches it; None for one no number is of."""
    if desc is None or not desc.national_number_pattern:
        return None
    pattern = re.compile(desc.national_number_pattern)
    return frozenset(desc.possible_length or ()), pattern.fullmatch


def _parsed(text: str, written: str, default_country: str | None) -> phonenumbers.PhoneNumber:
    """What phonenumbers reads in `written` (`text`, stripped), in any notation."""
    if not written or not _PHONE_CHARACTERS.fullmatch(written):
        raise InvalidJidError(f"{text!r} is not a phone number or JID")
    if not written.startswith("+") and default_country is None:
        raise InvalidJidError(
            f"{text!r} has no country code: write it as +<country code> <number>"
            " or set a default country"
        )
    try:
        return phonenumbers.parse(written, None if written.startswith("+") else default_country)
    except phonenumbers.NumberParseException as exc:
        failure = _PARSE_FAILURES.get(exc.error_type, "not a phone number")
        raise InvalidJidError(f"{text!r} is not a valid phone number ({failure})") from exc


def _written_e164(written: str) -> phonenumbers.PhoneNumber | None:
    """The number of `written` when it is in E.164 (`+14155550101`), its digits apart or not
    (`+1 415-555-0101`), read without `phonenumbers.parse`, which costs more than checking the
    number then does; None for any other notation, to be parsed.

    It is the number `parse` reads: a plus, a country code and the national number, all ASCII
    digits, in groups apart by one space or dash. What `parse` would change is left to it: a
    national number that starts with a zero (Italy's keep it) or with what the country's
    national prefix may be (a trunk 0 written after +44, say, which `parse` removes)."""
    if not _E164_APART.fullmatch(written):
        return None
    digits = written.replace(" ", "").replace("-", "")[1:]
    if not 8 <= len(digits) <= 15 or digits[0] == "0":
        return None
    for size in (1, 2, 3):
        if int(digits[:size]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    country, national = int(digits[:size]), digits[size:]
    if national.startswith("0") or _national_prefix(country).match(national):
        return None
    return phonenumbers.PhoneNumber(country_code=country, national_number=int(national))


@functools.cache  # phonenumbers loads a country's metadata when first asked for it
def _national_prefix(country: int) -> re.Pattern[str]:
    """What may start a national number of country code `country` as its national prefix
    (a pattern that matches nothing where there is none)."""
    region = phonenumbers.region_code_for_country_code(country)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(country, region)
    prefix = metadata.national_prefix_for_parsing if metadata else None
    return re.compile(prefix or r"(?!)")


_E164_APART = re.compile(r"\+\d+(?:[ -]\d+)*", re.ASCII)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def parse_jid(text: str, *, default_country: str | None = None) -> Jid:
    """What a person writes for a participant or group: a phone number or a JID."""
    written = text.strip()
    if "@" not in written:
        return parse_phone(written, default_country=default_country)
    user, _, server = written.partition("@")
    kind = _SERVER_ALIASES.get(server) or _kind_or_none(server)
    if kind is None:
        raise InvalidJidError(
            f"{text!r} has an unknown JID server {server!r}:"
            " expected @s.whatsapp.net, @c.us, @lid or @g.us"
        )
    if not _USER_PATTERNS[kind].fullmatch(user):
        raise InvalidJidError(f"{text!r} is not a valid {_KIND_NAMES[kind]} JID")
    if kind is JidKind.PHONE:
        # The digits must also be a real number, so typos are caught before any API call.
        try:
            return parse_phone(f"+{user}")
        except InvalidJidError as exc:
            reason = str(exc).partition(" is ")[2]
            raise InvalidJidError(f"{text!r} is {reason}") from None
    return Jid(user, kind)


def parse_group_jid(text: str) -> Jid:
    """A group JID (`<digits>[-<digits>]@g.us`)."""
    jid = parse_jid(text) if "@" in text else None
    if jid is None or not jid.is_group:
        raise InvalidJidError(f"{text!r} is not a group JID (expected <digits>@g.us)")
    return jid


def jid_from_api(value: str, *, bare: JidKind = JidKind.PHONE) -> Jid:
    """A participant or group address as an API returns it; tolerant of every known shape.

    Accepts `+5511999999999`, `+55 11 99999-9999`, `<digits>@c.us`, `<digits>@s.whatsapp.net`,
    device JIDs (`<digits>:12@s.whatsapp.net`), `<digits>@lid` and `<id>@g.us`; digits without
    a server are of the `bare` kind (a phone number, unless the field holds LIDs). Only the
    shape is checked: the API is the authority on which numbers exist.
    """
    if _CANONICAL.fullmatch(value):  # the common case, read millions of times at scale
        return str.__new__(Jid, value)
    if bare is JidKind.PHONE and _PLUS_DIGITS.fullmatch(value):
        return str.__new__(Jid, f"{value[1:]}@{_PHONE_SERVER}")
    text = value.strip()
    user, at, server = text.partition("@")
    if not at:
        server = bare.value
        user = _SEPARATORS.sub("", text).removeprefix("+") if bare is JidKind.PHONE else text
    user = _DEVICE_SUFFIX.sub("", user)
    kind = _SERVER_ALIASES.get(server) or _kind_or_none(server)
    if kind is None or not _USER_PATTERNS[kind].fullmatch(user):
        raise InvalidJidError(f"the API returned an address groupctl cannot read: {value!r}")
    return Jid(user, kind)


_KIND_NAMES = {JidKind.PHONE: "phone", JidKind.LID: "LID", JidKind.GROUP: "group"}


def _kind_or_none(server: str) -> JidKind | None:
    try:
        return JidKind(server)
    except ValueError:
        return None
