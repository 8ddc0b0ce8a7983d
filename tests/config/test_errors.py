"""Every kind of mistake in a config is reported at its exact place, all at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config import load
from reconciler.errors import ConfigError

CONFIGS = Path(__file__).parent / "configs"
NAME_RULE = (
    ": rename it; a name is 1 to 64 characters: letters of any alphabet, digits 0-9, single"
    " spaces and - _ . ', starting with a letter"
)

# file -> every problem expected, as "line:col: message", in file order.
CASES: dict[str, list[str]] = {
    "yaml-syntax.yaml": [
        "5:4: YAML syntax: while parsing a block mapping did not find expected key"
        " (check the indentation)",
    ],
    "unknown-key.yaml": [
        "2:1: unknown key 'peple': did you mean 'people'?",
        "7:5: unknown key 'member': did you mean 'members'?",
    ],
    "wrong-types.yaml": [
        "3:10: person 'alice': expected a phone number, or a mapping with phone and/or lid,"
        " not a list",
        "5:8: teams.eng: expected a list, not text",
        "8:14: groups.eng.subject: expected text, not a list",
        "9:14: groups.eng.members: expected a list, not text",
        "10:14: groups.eng.protect: expected true or false, not text",
        "11:21: groups.eng.members_policy: expected 'exact' or 'additive', not 'strict'",
        "13:21: groups.eng.limits.max_removals: expected 0 or more, not -1",
        "14:28: groups.eng.limits.max_removal_percent: expected 100 or less, not 150",
    ],
    "lenient-types.yaml": [
        "5:14: groups.flag-as-number.protect: expected true or false, not a number",
        "6:28: groups.flag-as-number.limits.max_removals: expected a whole number, not true/false",
        "6:55: groups.flag-as-number.limits.max_removal_percent: expected a number, not text",
        "9:14: groups.flag-as-text.protect: expected true or false, not text",
        "10:28: groups.flag-as-text.limits.max_removals: expected a whole number, not text",
        "13:28: groups.fraction.limits.max_removals: expected a whole number, not a decimal number",
    ],
    "control-character.yaml": [
        "4:19: YAML syntax: the non-printable character U+0001 is not allowed: delete it",
    ],
    "unknown-person-or-team.yaml": [
        "9:15: unknown person 'alcie' (did you mean 'alice'?)",
        "9:22: unknown team 'engg' (did you mean 'eng'?)",
        "9:33: unknown person 'bob': add them under people:, or write their phone number",
        "9:38: unknown person 'eng' (did you mean team:eng?)",
        "9:43: unknown team 'nope': use one of eng, or define it under teams:",
    ],
    "team-cycle.yaml": [
        "7:11: team cycle: backend -> platform -> infra -> backend; a team cannot contain itself",
    ],
    "invalid-phone.yaml": [
        "3:10: '+1 415 555' is not a valid phone number (too short)",
        "4:8: '415 555 0102' has no country code: write it as +<country code> <number>,"
        " or set defaults: country:",
        "5:10: '+999 555 0103' is not a valid phone number (unknown country code)",
        "6:9: 'not a number 4' is not a phone number or JID",
        "7:9: '14155550105@example.com' has an unknown JID server 'example.com':"
        " expected @s.whatsapp.net, @c.us, @lid or @g.us",
        "8:10: '+1 555 0103' is not a valid phone number: check its digits, its area code"
        " and its country code",
        "9:16: 'abc@lid' is not a valid LID: write its digits, then @lid (123456@lid)",
        "13:15: '+1 (415) 555-01O1' is not a phone number or JID",
        "13:36: '555 0106' has no country code: write it as +<country code> <number>,"
        " or set defaults: country:",
        "13:48: 'x@c.us' is not a valid phone JID: write the whole number with its country"
        " code, digits only, before the @ (14155550101@s.whatsapp.net)",
        "13:58: '120363000000000001@g.us' is a group, not a person: list people here"
        " (names from people:, phone numbers or JIDs)",
    ],
    "duplicate-member.yaml": [
        "7:14: 'alice' is listed twice in team 't' (first at line 7: 'alice')",
        "13:9: '(415) 555-0101' is listed twice in members (first at line 12: 'alice')",
        "14:9: '14155550101@c.us' is listed twice in members (first at line 12: 'alice')",
        "16:9: 'team:t' is listed twice in members (first at line 15: 'team:t')",
    ],
    "duplicate-group-key.yaml": [
        "5:3: 'eng' is defined twice (first at line 3)",
    ],
    "same-id.yaml": [
        "7:9: groups 'eng' and 'platform' are bound to the same id 120363000000000001@g.us"
        " (first at {dir}/same-id.yaml:3:3)",
    ],
    "same-subject.yaml": [
        "6:14: groups 'eng' and 'eng-2' both have the subject 'Engineering' and no id"
        " (first at {dir}/same-subject.yaml:3:3): add id: to tell them apart",
    ],
    # Neither a group's other mistakes hide that two entries name one live group, nor does
    # an invalid id or subject count as naming one.
    "same-live-group-and-other-errors.yaml": [
        "6:15: unknown person 'nobody': add them under people:, or write their phone number",
        "8:9: groups 'eng' and 'platform' are bound to the same id 120363000000000001@g.us"
        " (first at {dir}/same-live-group-and-other-errors.yaml:3:3)",
        "10:14: groups.platform.protect: expected true or false, not text",
        "13:18: groups.ops.description: expected text, not a list",
        "15:14: groups 'ops' and 'ops-2' both have the subject 'Ops' and no id"
        " (first at {dir}/same-live-group-and-other-errors.yaml:11:3): add id: to tell them"
        " apart",
        "16:15: unknown person 'nobody': add them under people:, or write their phone number",
        "18:9: 'not-a-group-id' is not a group JID (expected <digits>@g.us)",
        "21:14: the subject is 35 characters; Titan allows at most 25: shorten it",
        "23:14: the subject is 35 characters; Titan allows at most 25: shorten it",
    ],
    "subject-and-description.yaml": [
        "4:14: the subject is empty: WhatsApp needs a name",
        "6:14: the subject is 40 characters; Titan allows at most 25: shorten it",
        "9:18: the description is 2049 characters; WhatsApp allows at most 2048",
        "10:3: group 'nameless' needs subject",
    ],
    # Braces doubled: every line here goes through str.format (for {dir}).
    "invite-message.yaml": [
        "3:19: defaults.invite_message: unknown placeholder {{group}} in the message: use"
        " {{subject}} and {{link}} (write {{{{ and }}}} for a literal brace)",
        "8:21: groups.eng.invite_message: the message must contain {{link}}, the group's"
        " invite link",
        "11:24: groups.ops.invite_by_message: expected true or false, not text",
        "12:21: groups.ops.invite_message: unknown placeholder {{link!r}} in the message: use"
        " {{subject}} and {{link}} (write {{{{ and }}}} for a literal brace)",
        "15:21: groups.sales.invite_message: the message template is not valid (Single '{{'"
        " encountered in format string): write {{{{ and }}}} for a literal brace",
    ],
    "too-many-members.yaml": [
        "5:5: group 'crowd' has 1025 members; WhatsApp groups hold at most 1024",
    ],
    "picture.yaml": [
        "5:14: the picture file 'pictures/none.png' does not exist"
        " (looked for {dir}/pictures/none.png)",
        "8:14: the picture file 'notanimage.png' is not an image Pillow can read",
        "11:14: the picture '../../../etc/passwd' is outside the config's directory:"
        " keep pictures beside the YAML file",
        "14:14: the picture '/etc/passwd' is outside the config's directory:"
        " keep pictures beside the YAML file",
        "17:14: a picture URL must start with https://",
        "20:14: the picture is empty: write an image file path or an https:// URL,"
        " or remove picture:",
        "23:14: the picture URL 'https://' has no host: write it as https://<host>/<path>",
    ],
    "absent-with-members.yaml": [
        "8:5: group 'old' is ensure: absent but lists members: remove them, or set ensure: present",
    ],
    "protect-and-absent.yaml": [
        "6:13: group 'archive' is ensure: absent but also protect: true, which never leaves or"
        " deletes it: remove protect: true, or set ensure: present",
    ],
    "hostile-yaml.yaml": [
        "3:9: YAML anchors and aliases (&name, *name) are not supported:"
        " use teams: for member lists that several groups share",
        "3:16: unknown person 'alice': add them under people:, or write their phone number",
        "6:3: group 'eng' needs subject",
        "7:5: YAML merge keys (<<) are not supported: write the keys out",
        "8:18: the YAML tag !!python/object/apply:os.system is not allowed in a groupctl file",
    ],
    # Keys and names keep to a safe set, said in the message; the name refused is shown with
    # its invisible characters escaped, and the entries that use it are not blamed again.
    "unsafe-names.yaml": [
        "4:3: person 'bob\\u202eevil' is not a usable name (it has U+202E (RIGHT-TO-LEFT"
        " OVERRIDE))" + NAME_RULE,
        "5:3: person 'carol (+1 415-555-0101)' is not a usable name (it has '(')" + NAME_RULE,
        "6:3: person 'dave\\u200b' is not a usable name (it has U+200B (ZERO WIDTH SPACE))"
        + NAME_RULE,
        "9:3: team 'ops\\n<!--' is not a usable name (it has U+000A (a line break))" + NAME_RULE,
        "10:3: team '@devs' is not a usable name (it starts with '@')" + NAME_RULE,
        "11:3: team '2fa' is not a usable name (it starts with '2')" + NAME_RULE,
        "13:3: group key 'welcome\\n<!--' is not a usable name (it has U+000A (a line break))"
        + NAME_RULE,
        "16:3: group key '##\\x5badd-mask]x' is not a usable name (it starts with '#')" + NAME_RULE,
        "18:3: group key '::error::pwned' is not a usable name (it starts with ':')" + NAME_RULE,
        "20:3: group key 'launch  day' is not a usable name (spaces go one at a time, between"
        " words)" + NAME_RULE,
    ],
    "missing-version.yaml": [
        "1:1: version must be 1 (write version: 1 at the top)",
    ],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_kind_of_mistake_is_reported_at_its_place(name: str) -> None:
    path = CONFIGS / name
    with pytest.raises(ConfigError) as refused:
        load(path)
    expected = [
        f"{path}:{line.format(dir=CONFIGS.resolve() if 'looked' in line else CONFIGS)}"
        for line in CASES[name]
    ]
    assert [str(problem) for problem in refused.value.problems] == expected


def test_all_the_mistakes_of_a_file_are_reported_together() -> None:
    path = CONFIGS / "several-errors.yaml"
    with pytest.raises(ConfigError) as refused:
        load(path)
    assert [str(p).removeprefix(f"{path}:") for p in refused.value.problems] == [
        "4:8: '+1 415 555' is not a valid phone number (too short)",
        "7:14: the subject is 41 characters; Titan allows at most 25: shorten it",
        "8:22: unknown person 'alcie' (did you mean 'alice'?)",
        "9:14: groups.eng.protect: expected true or false, not text",
        "13:5: group 'ops' is ensure: absent but lists members: remove them,"
        " or set ensure: present",
    ]
