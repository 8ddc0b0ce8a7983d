"""Watch knows the webhooks of its own changes, whether they name people by number, by LID or
both (JIDRef), and consumes each expected change once."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.core.jid import parse_jid
from reconciler.engine.plan import Action, GroupPlan, Kind, Plan
from reconciler.watch.echoes import Echoes
from reconciler.watch.events import read_event
from tests.support.builders import ME, A, B, C, have, live

TEAM = "120363000000000001@g.us"
A_LID, B_LID, C_LID = "111111111111111@lid", "222222222222222@lid", "333333333333333@lid"
LIVE = live(
    have(TEAM, "Team", {ME: "superadmin", A: "member", B: "admin"}, lids={A: A_LID, B: B_LID})
)


def healed(*actions: Action) -> Plan:
    return Plan(groups=(GroupPlan("team", "Team", parse_jid(TEAM), actions=actions),))


def pn(phone: str, lid: str) -> dict[str, Any]:
    return {"phoneNumber": phone, "lid": lid, "mode": "pn"}


def by_lid(lid: str) -> dict[str, Any]:
    return {"phoneNumber": None, "lid": lid, "mode": "lid"}


def changes(**payload: Any) -> Any:
    event = read_event(
        {"id": "evt_1", "event": "group.participant", "payload": {"id": TEAM, **payload}}
    )
    return event.changes


REMOVE_A = Action(Kind.REMOVE, (parse_jid(A),))
DEMOTE_B = Action(Kind.DEMOTE, (parse_jid(B),))
ADD_C = Action(Kind.ADD, (parse_jid(C),))


@pytest.mark.parametrize(
    ("action", "payload", "own"),
    [
        (REMOVE_A, {"left": [pn(A, A_LID)]}, True),
        (REMOVE_A, {"left": [by_lid(A_LID)]}, True),  # number hidden: known by the live LID
        (REMOVE_A, {"left": [by_lid(A_LID.removesuffix("@lid"))]}, True),
        (REMOVE_A, {"left": ["14155550101@s.whatsapp.net"]}, True),  # a plain JID
        (REMOVE_A, {"left": [by_lid(C_LID)]}, False),  # someone else
        (REMOVE_A, {"joined": [pn(A, A_LID)]}, False),  # another change of the same person
        (REMOVE_A, {"left": [pn(A, A_LID), pn(C, C_LID)]}, False),  # one of them is not ours
        (DEMOTE_B, {"demoted": [by_lid(B_LID)]}, True),
        (ADD_C, {"joined": [pn(C, C_LID)]}, True),
        # C's LID was unknown before the add: checked again, which is safe, not dropped.
        (ADD_C, {"joined": [by_lid(C_LID)]}, False),
    ],
)
def test_its_own_changes_are_recognized_by_number_or_lid(
    action: Action, payload: dict[str, Any], own: bool
) -> None:
    echoes = Echoes(window=300)
    echoes.expect(healed(action), now=0, live=LIVE)
    assert echoes.is_echo(parse_jid(TEAM), changes(**payload), now=1) is own


def test_each_expected_change_is_consumed_once_and_expires() -> None:
    echoes = Echoes(window=300)
    echoes.expect(healed(REMOVE_A), now=0, live=LIVE)
    left = changes(left=[by_lid(A_LID)])
    assert echoes.is_echo(parse_jid(TEAM), left, now=1)
    assert not echoes.is_echo(parse_jid(TEAM), left, now=2)  # the same change again: not ours
    echoes.expect(healed(REMOVE_A), now=0, live=LIVE)
    assert not echoes.is_echo(parse_jid(TEAM), left, now=301)  # too late to be ours
