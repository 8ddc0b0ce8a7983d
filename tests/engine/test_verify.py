"""The re-read check: does the group show what each action meant, finding people by any of
their addresses, and saying "cannot tell" only where someone may hide behind another one."""

from __future__ import annotations

import pytest

from reconciler.core.groups import GroupState
from reconciler.engine.plan import Kind
from reconciler.engine.verify import Reread
from tests.support.builders import A, B, C, jid, members

A_LID, B_LID, HIDDEN = "4401@lid", "4402@lid", "9999@lid"

# A is a plain member shown by number and LID, B an admin shown by LID alone.
SHOWN = GroupState("Eng", "About", None, members({A: "member", B_LID: "admin"}, {A: A_LID}))


@pytest.mark.parametrize(
    ("kind", "addresses", "as_planned"),
    [
        (Kind.ADD, [A], True),
        (Kind.ADD, [A_LID], True),  # found by the LID the group gives with the number
        (Kind.ADD, [B, B_LID], True),  # found by the other address
        (Kind.ADD, [C, "7777@lid"], False),
        (Kind.REMOVE, [A_LID, A], False),
        (Kind.REMOVE, [C, "7777@lid"], True),
        (Kind.PROMOTE, [B_LID], True),
        (Kind.PROMOTE, [A_LID, A], False),
        (Kind.DEMOTE, [A_LID, A], True),
        (Kind.DEMOTE, [B, B_LID], False),
        (Kind.DEMOTE, [C, "7777@lid"], False),
        (Kind.CREATE, [], True),
    ],
)
def test_each_action_is_checked_against_the_group_as_re_read(
    kind: Kind, addresses: list[str], as_planned: bool
) -> None:
    verdict = Reread(SHOWN).verdict(kind, [jid(a) for a in addresses])
    assert verdict.as_planned is as_planned
    assert bool(verdict.instead) is not as_planned


def test_someone_known_by_number_alone_may_hide_behind_a_strangers_lid() -> None:
    state = GroupState("Eng", "", None, members({A: "member", HIDDEN: "member"}, {A: A_LID}))
    assert Reread(state).verdict(Kind.REMOVE, [jid(C)]).as_planned is None
    assert Reread(state).verdict(Kind.ADD, [jid(C)]).as_planned is None
    # ...unless that LID is someone the config names: then C is surely not in the group.
    named = Reread(state, frozenset({jid(HIDDEN)}))
    assert named.verdict(Kind.REMOVE, [jid(C)]).as_planned is True
    assert named.verdict(Kind.ADD, [jid(C)]).as_planned is False


def test_someone_known_by_lid_alone_may_hide_behind_a_number_shown_without_lid() -> None:
    state = GroupState("Eng", "", None, members({A: "member"}))  # an API that gives no LIDs
    assert Reread(state).verdict(Kind.REMOVE, [jid(HIDDEN)]).as_planned is None
    assert Reread(state).verdict(Kind.REMOVE, [jid(C), jid(HIDDEN)]).as_planned is True


def test_subject_and_description_are_compared_without_echoing_them() -> None:
    reread = Reread(SHOWN)
    assert reread.verdict(Kind.SUBJECT, [], new="Eng").as_planned is True
    assert reread.verdict(Kind.DESCRIPTION, [], new="About").as_planned is True
    other = reread.verdict(Kind.SUBJECT, [], new="Engineering")
    assert (other.as_planned, other.instead) == (False, "another subject")
