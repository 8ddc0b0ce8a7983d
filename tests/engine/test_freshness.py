"""What changed in a group since a plan was made, explained person by person."""

from __future__ import annotations

from typing import Any

from reconciler.engine.freshness import describe

A, B, C, D = (f"1415555010{n}@s.whatsapp.net" for n in range(1, 5))


def snapshot(members: list[tuple[str, str]], subject: str = "Team") -> dict[str, Any]:
    return {
        "id": "120363000000000001@g.us",
        "subject": subject,
        "description": "",
        "picture": "not read",
        "members": sorted([jid, None, role] for jid, role in members),
    }


def test_each_change_is_one_line() -> None:
    before = snapshot([(A, "superadmin"), (B, "member"), (C, "member")])
    after = snapshot([(A, "superadmin"), (B, "admin"), (D, "member")], subject="Team!")
    assert describe(before, after) == [
        f"{B} is now admin (was member)",
        f"{C} left (was member)",
        f"{D} joined as member",
        "subject: 'Team' -> 'Team!'",
    ]


def test_a_group_whose_members_all_changed_is_still_explained_person_by_person() -> None:
    before = snapshot([(A, "member"), (B, "member")])
    after = snapshot([(C, "member"), (D, "member")])
    assert describe(before, after) == [
        f"{A} left (was member)",
        f"{B} left (was member)",
        f"{C} joined as member",
        f"{D} joined as member",
    ]


def test_people_are_shown_as_the_caller_names_them() -> None:
    before = snapshot([(A, "member")])
    after = snapshot([])
    names = {A: "alice"}
    assert describe(before, after, lambda jid: names.get(jid, jid)) == ["alice left (was member)"]
