"""A removal of someone who was an admin reads as an admin's ("- admin", "remove admin",
"admin bob" in the callout), in text and Markdown, from a fresh plan and from a saved one."""

from __future__ import annotations

from reconciler.engine import planfile
from reconciler.engine.plan import Kind, Plan
from reconciler.engine.planner import PlanPolicy, plan
from reconciler.render import markdown, text
from tests.support.builders import ME, A, B, C, desired, have, jid, live, want

GROUP = "120363000000000201@g.us"
NAMES = {A: "alice", B: "bob", C: "carol"}


def removing_an_admin() -> Plan:
    config = desired(want("team", "Team", {A: "admin"}, id=GROUP), names=NAMES)
    state = live(have(GROUP, "Team", {ME: "superadmin", A: "admin", B: "admin", C: "member"}))
    made = plan(config, state, PlanPolicy(session="default", api="https://api.titan.example"))
    (group,) = made.groups
    removed = {m for a in group.actions if a.kind == Kind.REMOVE for m in a.members}
    assert removed == {jid(B), jid(C)}  # bob was an admin, carol a member
    return made


def test_text_shows_an_admins_removal_as_an_admins() -> None:
    for made in (removing_an_admin(), planfile.loads(planfile.dumps(removing_an_admin()))):
        lines = text.to_string(made, color=False).splitlines()
        assert "    - admin        bob (+1 415-555-0102)" in lines
        assert "    - member       carol (+1 415-555-0103)" in lines


def test_markdown_shows_an_admins_removal_as_an_admins() -> None:
    for made in (removing_an_admin(), planfile.loads(planfile.dumps(removing_an_admin()))):
        comment = "".join(markdown.render(made))
        assert "- \N{HEAVY MINUS SIGN} remove admin: bob (+1 415-555-0102)\n" in comment
        assert "- \N{HEAVY MINUS SIGN} remove: carol (+1 415-555-0103)\n" in comment
        # Each says what it is: "admin bob, carol" would read as two admins.
        assert (
            "<b>Team</b> removes admin bob (+1 415-555-0102), member carol (+1 415-555-0103)\n"
            in comment
        )
