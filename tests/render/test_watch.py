"""How watch words a planned action in its `drift` reports: one short phrase each."""

from __future__ import annotations

import pytest

from reconciler.engine.plan import Action, Kind, Plan
from reconciler.render.watch import described_action
from tests.support.builders import A, B, jid

NAMED = Plan(groups=(), directory={jid(A): "alice"})


@pytest.mark.parametrize(
    ("action", "words"),
    [
        (Action(Kind.ADD, members=(jid(A),)), "add alice (+1 415-555-0101)"),
        (
            Action(Kind.REMOVE, members=(jid(A), jid(B))),
            "remove alice (+1 415-555-0101), +1 415-555-0102",
        ),
        (Action(Kind.SUBJECT, old="Hacked", new="Sales EMEA"), "subject 'Hacked' -> 'Sales EMEA'"),
        (Action(Kind.DESCRIPTION, old="", new="Ours"), "description '' -> 'Ours'"),
        (Action(Kind.PICTURE, new="logo.jpg"), "picture 'logo.jpg'"),
        (Action(Kind.LEAVE), "leave"),
    ],
)
def test_a_planned_action_reads_as_one_phrase(action: Action, words: str) -> None:
    assert described_action(NAMED, action) == words
