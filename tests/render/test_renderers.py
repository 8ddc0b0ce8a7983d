"""The three renderers on one plan with every kind of action, against golden files.

After an intended change of output: GROUPCTL_UPDATE_GOLDEN=1 pytest tests/render, then review
the diff of tests/render/golden/ like any other change.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.core.groups import NEEDS_INVITE, UrlPicture, Waiting
from reconciler.engine import planfile
from reconciler.engine.plan import Plan
from reconciler.engine.planner import PlanPolicy, plan
from reconciler.engine.safety import Brakes, assess
from reconciler.engine.statefile import INVITED_WAIT
from reconciler.render import markdown, text
from tests.support.builders import ME, A, B, C, D, E, desired, have, jid, live, want

GOLDEN = Path(__file__).parent / "golden"
G = [f"12036300000000010{n}@g.us" for n in range(6)]
LOGO = UrlPicture("https://example.com/logo.jpg")


def rich_plan() -> Plan:
    names = {A: "alice", B: "bob", C: "carol", "204355791230411@lid": "contractor"}
    config = desired(
        want(
            "launch",
            "Launch",
            {A: "admin", B: "member", "204355791230411@lid": "member"},
            description="Launch day",
            picture=LOGO,
        ),
        want(
            "eng",
            "Engineering",
            {A: "admin", B: "admin", C: "member", D: "member"},
            id=G[0],
            description="Builds | releases `and` incidents",
            picture=LOGO,
            revoke_on_removal=True,
        ),
        want("old", "Old project", ensure="absent"),
        want("archive", "Archive", ensure="absent", absent_action="delete"),
        want("sales", "Sales", {A: "member"}),
        names=names,
    )
    state = live(
        have(
            G[0],
            "Eng",
            {ME: "superadmin", B: "member", C: "admin", E: "member", "998877@lid": "member"},
            description="Builds",
            picture_known=True,
        ),
        have(G[1], "Old project", {ME: "admin", A: "superadmin"}),
        have(G[2], "Archive", {ME: "superadmin", A: "member"}),
        have(G[3], "Sales", {ME: "member", B: "superadmin", A: "admin"}),
        others=7,
        pictures={LOGO: "ff00ff00ff00ff00"},
    )
    # Dave's privacy settings refused him last time: he waits for an invite, not an add.
    since = datetime(2026, 1, 1, 12, tzinfo=UTC)
    waiting = {jid(G[0]): {jid(D): Waiting(NEEDS_INVITE, since, since + INVITED_WAIT)}}
    policy = PlanPolicy(session="default", api="https://api.titan.example")
    return plan(config, state, policy, waiting=waiting)


def golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("GROUPCTL_UPDATE_GOLDEN"):
        path.write_text(actual)
    assert actual == path.read_text(), f"{name} differs: see the module docstring"


def test_text() -> None:
    golden("plan.txt", text.to_string(rich_plan()))


def test_text_in_color_has_the_same_words() -> None:
    colored = text.to_string(rich_plan(), color=True)
    assert "\x1b[" in colored
    assert re.sub(r"\x1b\[[0-9;]*m", "", colored) == text.to_string(rich_plan())


def test_markdown() -> None:
    parts = markdown.render(rich_plan())
    assert len(parts) == 1
    golden("plan.md", parts[0])


def test_json() -> None:
    golden("plan.json", planfile.dumps(rich_plan()) + "\n")
    assert json.loads((GOLDEN / "plan.json").read_text())["format_version"] == 2


def test_masked_phones_show_only_the_last_four_digits() -> None:
    for rendered in (
        text.to_string(rich_plan(), mask_phones=True),
        "".join(markdown.render(rich_plan(), mask_phones=True)),
    ):
        assert "alice (…0101)" in rendered
        assert "415-555" not in rendered
        assert re.search(r"\+1 \d", rendered) is None  # "+1" alone counts people


def test_a_long_plan_is_split_into_comments_under_the_limit() -> None:
    people = {f"+1212555{n:04d}": "member" for n in range(900)}
    config = desired(*(want(f"g{n}", f"Group {n}", people) for n in range(8)))
    parts = markdown.render(plan(config, live()), limit=65_536)
    assert len(parts) > 1
    assert all(len(part) < 65_536 for part in parts)
    assert parts[0].startswith(f"#### groupctl plan, part 1 of {len(parts)}")
    assert "Plan: 8 to create" in parts[0]
    joined = "".join(parts)
    assert all(f"Group {n}" in joined for n in range(8))
    assert all(part.count("<details>") == part.count("</details>") for part in parts)


@pytest.mark.parametrize("mask", [False, True])
def test_removals_and_demotions_are_called_out_before_the_details(mask: bool) -> None:
    rendered = markdown.render(rich_plan(), mask_phones=mask)[0]
    callout = rendered.index("Review first")
    assert callout < rendered.index("<details>")
    assert "<b>Engineering</b> demotes carol" in rendered


def test_a_summary_and_callouts_too_long_for_one_comment_are_split_too() -> None:
    # 1500 groups removing 3 people each: the table and the callouts alone pass the limit.
    people = [f"+1212555{n:04d}" for n in range(3)]
    keep = {"+12125559999": "member"}
    config = desired(
        *(want(f"g{n}", f"Group {n}", keep, id=f"1203630{n:011d}@g.us") for n in range(1500))
    )
    state = live(
        *(
            have(
                f"1203630{n:011d}@g.us",
                f"Group {n}",
                {ME: "superadmin", **keep, **dict.fromkeys(people, "member")},
            )
            for n in range(1500)
        )
    )
    parts = markdown.render(plan(config, state), limit=65_536)
    assert len(parts) > 2
    assert all(len(part) < 65_536 for part in parts)
    joined = "\n".join(parts)
    assert all(f"<b>Group {n}</b> removes" in joined for n in (0, 777, 1499))
    for part in parts[1:]:  # a part that continues the table or the callouts says what they are
        body = part.split("\n\n", 1)[1]
        assert body.startswith(("| | group | changes |", "> [!WARNING]", "<details>"))


def test_one_group_removing_thousands_stays_under_the_limit() -> None:
    people = {f"+1212555{n:04d}": "member" for n in range(3000)}
    config = desired(want("g", "Group", {}, id=G[0]))
    state = live(have(G[0], "Group", {ME: "superadmin", **people}))
    parts = markdown.render(plan(config, state), limit=65_536)
    assert all(len(part) < 65_536 for part in parts)


def test_the_brakes_verdict_is_in_every_rendering() -> None:
    stopped = assess(rich_plan(), Brakes(max_removals=0))
    assert stopped.stopped_by_brakes
    shown = text.to_string(stopped)
    assert "Stopped by the safety brakes:" in shown
    assert "more than --max-removals 0" in shown
    assert "run again with --force" in shown
    comment = markdown.render(stopped)[0]
    assert "Stopped by the safety brakes" in comment
    assert "more than --max-removals 0" in comment
    saved = json.loads(planfile.dumps(stopped))["safety"]
    assert saved["forced"] is False
    assert saved["brakes"][0].startswith("it removes")
    forced = assess(rich_plan(), Brakes(max_removals=0), force=True)
    assert "Safety brakes lifted by --force:" in text.to_string(forced)
    assert "Safety brakes lifted by --force" in markdown.render(forced)[0]
    assert "brakes" not in text.to_string(assess(rich_plan()))
