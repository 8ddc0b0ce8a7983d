"""Edges an attacker (or an unlucky config) could use to make a plan surprise people: look-alike
or invisible subjects, digits that are not ASCII, a group one seat too full, a protected entry
whose group went to another entry, the session listed as a plain member."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from reconciler.config import load
from reconciler.core.jid import jid_from_api, parse_jid, parse_phone
from reconciler.core.limits import MAX_GROUP_SIZE
from reconciler.engine.plan import Kind
from reconciler.engine.planner import plan
from reconciler.errors import ConfigError, GroupctlError
from tests.support.builders import ME, ME_LID, A, desired, have, live, want

GROUP = "120363000000000001@g.us"
OTHER = "120363000000000002@g.us"
CAFE_NFC = unicodedata.normalize("NFC", "Café crew")
CAFE_NFD = unicodedata.normalize("NFD", "Café crew")


@pytest.mark.parametrize(
    "text",
    [
        "+\u0661 \u0664\u0661\u0665 \u0665\u0665\u0665 \u0660\u0661\u0660\u0661",  # Arabic-Indic
        "+\u0967\u096a\u0967\u096b\u096b\u096b\u096b\u0966\u0967\u0966\u0967",  # Devanagari
        "\uff11\uff14\uff11\uff15\uff15\uff15\uff15\uff10\uff11\uff10\uff11@s.whatsapp.net",
        "\u0662\u0660\u0664\u0663@lid",
        "14155550101:\u0661@s.whatsapp.net",
    ],
)
def test_numbers_and_lids_are_ascii_digits_only(text: str) -> None:
    for read in (parse_phone, parse_jid, jid_from_api):
        with pytest.raises(GroupctlError):
            read(text)


def test_a_number_pasted_with_no_break_spaces_is_still_read() -> None:
    assert str(parse_phone("+1\u00a0415\u00a0555\u00a00101")) == "14155550101@s.whatsapp.net"


def test_a_subject_written_with_combining_accents_is_the_same_group() -> None:
    result = plan(
        desired(want("cafe", CAFE_NFD, {ME: "admin"})),
        live(have(GROUP, CAFE_NFC, {ME: "superadmin"})),
    )
    assert result.groups == ()  # bound to the live group, nothing to change, nothing created
    renamed = plan(
        desired(want("cafe", CAFE_NFD, {ME: "admin"}, id=GROUP)),
        live(have(GROUP, CAFE_NFC, {ME: "superadmin"})),
    )
    assert renamed.groups == ()  # no subject "change" to the same text


def test_the_sessions_own_seat_counts_toward_whatsapps_group_size() -> None:
    people = [f"+1415555{n:04d}" for n in range(2000, 2000 + MAX_GROUP_SIZE)]
    full = desired(want("big", "Big", dict.fromkeys(people, "member")))
    (refused,) = plan(full, live()).groups
    assert refused.errors
    assert f"at most {MAX_GROUP_SIZE}" in refused.errors[0]
    assert not refused.actions
    fits = desired(want("big", "Big", dict.fromkeys(people[:-1], "member")))
    (planned,) = plan(fits, live()).groups
    assert not planned.errors
    assert planned.actions[0].kind == Kind.CREATE


def test_a_protected_entry_whose_group_another_entry_claims_by_id_is_refused() -> None:
    config = desired(
        want("team", "Team", {ME: "admin"}, protect=True),
        want("team-by-id", "Team renamed", {ME: "admin"}, id=GROUP),
    )
    result = plan(config, live(have(GROUP, "Team", {ME: "superadmin"})))
    by_key = {group.key: group for group in result.groups}
    assert by_key["team"].errors
    assert "'team-by-id' by id" in by_key["team"].errors[0]
    assert not by_key["team"].actions  # not planned as a second group to create


@pytest.mark.parametrize("listed_as", [ME, ME_LID], ids=["by-number", "by-lid"])
@pytest.mark.parametrize("shown_with_lid", [True, False], ids=["lid-shown", "lid-hidden"])
def test_the_session_listed_as_a_plain_member_is_refused_by_either_address(
    listed_as: str, shown_with_lid: bool
) -> None:
    lids = {ME: ME_LID} if shown_with_lid else None
    config = desired(want("g", "G", {listed_as: "member", A: "member"}, id=GROUP))
    (refused,) = plan(
        config, live(have(GROUP, "G", {ME: "superadmin", A: "member"}, lids=lids))
    ).groups
    assert refused.errors == (
        "the config lists the session's own account as a plain member;"
        " groupctl never demotes itself",
    )
    assert not refused.actions


@pytest.mark.parametrize("invisible", ["\u200b", "\u202e", "\u2060", "\ufeff"])
def test_a_subject_with_an_invisible_character_is_refused_at_its_line(
    tmp_path: Path, invisible: str
) -> None:
    config = tmp_path / "groups.yaml"
    config.write_text(
        f'version: 1\ngroups:\n  team:\n    subject: "Team{invisible}"\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError) as refused:
        load(config)
    assert f"groups.yaml:4:14: the subject holds U+{ord(invisible):04X}" in str(refused.value)


def test_an_emoji_joined_by_a_zero_width_joiner_is_a_fine_subject(tmp_path: Path) -> None:
    config = tmp_path / "groups.yaml"
    config.write_text(
        'version: 1\ngroups:\n  team:\n    subject: "Family \U0001f468\u200d\U0001f469"\n',
        encoding="utf-8",
    )
    assert load(config).groups[0].state.subject == "Family \U0001f468\u200d\U0001f469"
