"""What a reviewer reads cannot be hidden or forged by the config or by WhatsApp.

A pull request's config (keys, names, subjects, descriptions) and WhatsApp's answers (live
subjects, descriptions, numbers) reach the plan's comment on the pull request and the CI log.
Rendered by GitHub's own Markdown (cmark-gfm), every comment still shows every group, every
removal and demotion, and the "Review first" callout, with no HTML comment, link, image or
mention that a string brought in and no splitter of comments; text output keeps each string on
its line, so no workflow command (`::error::`, `##[add-mask]`) reaches a job log.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.config.diff import ConfigDiff, GroupChange
from reconciler.core.jid import Jid, jid_from_api
from reconciler.engine.plan import DESTRUCTIVE, Action, GroupPlan, Kind, Plan
from reconciler.engine.report import ApplyReport, GroupReport, Outcome, Step
from reconciler.render import diff as render_diff
from reconciler.render import markdown, progress, text
from reconciler.render.markdown import SEPARATOR
from reconciler.render.people import person
from reconciler.render.progress import reread_lines
from reconciler.render.report import invite_lines
from reconciler.render.watch import described_action
from reconciler.sim.state import Account, Group, Person, WorldState
from tests.support.github_view import Comment, Node, as_shown, render, words
from tests.support.hostile import NASTY, assert_safe_in_a_log, hostile_text
from tests.support.processes import run_groupctl

CALLOUT = "Review first: people leaving or losing admin"
# How the callout says what happens to each person or group.
CALLED = {
    Kind.REMOVE: "removes",
    Kind.DEMOTE: "demotes",
    Kind.LEAVE: "the session will leave the group",
    Kind.DELETE: "the session will delete the group",
}
# The tags of a plan's comment; anything else came from a string.
PLAN_TAGS = {"h3", "h4", "p", "strong", "b", "code", "table", "thead", "tbody", "tr", "th", "td"}
PLAN_TAGS |= {"blockquote", "ul", "li", "details", "summary"}
DIFF_TAGS = {"h3", "h4", "p", "strong", "b", "code", "pre", "ul", "li"}
PEOPLE = [jid_from_api(f"1415555{n:04d}@s.whatsapp.net") for n in range(12)]


def group_id(index: int) -> Jid:
    return jid_from_api(f"1203630000000001{index:02d}@g.us")


def plan_with(words: dict[str, str], people: list[Jid] = PEOPLE) -> Plan:
    """A plan with a group of each kind, every string taken from `words` (key, subject...)."""
    one, two, three, four = people[:4]
    update = GroupPlan(
        key=words["key"],
        subject=words["subject"],
        group_id=group_id(0),
        actions=(
            Action(Kind.SUBJECT, old=words["live subject"], new=words["subject"]),
            Action(Kind.DESCRIPTION, old=words["live description"], new=words["description"]),
            Action(Kind.PICTURE, new=words["picture"]),
            Action(Kind.ADD, members=(one,)),
            Action(Kind.PROMOTE, members=(one,)),
            Action(Kind.DEMOTE, members=(two,)),
            Action(Kind.REMOVE, members=(three, four)),
        ),
        notes=(words["note"],),
    )
    create = GroupPlan(
        key=words["key"] + "-new",
        subject=words["live subject"],
        group_id=None,
        actions=(Action(Kind.CREATE, members=(one, two), new=words["live subject"]),),
    )
    leave = GroupPlan(
        key=words["key"] + "-old",
        subject=words["live description"],
        group_id=group_id(1),
        actions=(Action(Kind.LEAVE),),
    )
    refused = GroupPlan(
        key=words["key"] + "-refused",
        subject=words["subject"],
        group_id=group_id(2),
        errors=(words["note"],),
    )
    names = {one: words["name"], two: words["name"] + "2", three: words["name"] + "3"}
    return Plan(
        groups=(update, create, leave, refused),
        session=words["session"],
        directory=names,
        brakes=(words["note"],),
    )


FIELDS = (
    *("key", "subject", "live subject", "description", "live description", "picture"),
    *("note", "name", "session"),
)


def assert_comments_show_the_plan(plan: Plan, parts: list[str], *, mask: bool = False) -> None:
    """GitHub shows every group, every removal and demotion and the callout, and nothing a
    string brought in."""
    assert SEPARATOR.join(parts).split(SEPARATOR) == parts  # no string splits a comment
    comments = [render(part) for part in parts]
    for part, comment in zip(parts, comments, strict=True):
        assert comment.hidden == []
        assert comment.tags() <= PLAN_TAGS, comment.tags() - PLAN_TAGS
        assert comment.mentions() == []
        assert_safe_in_a_log(part)
    rows = [row.text() for c in comments for row in c.root.all("tr") if row.within("tbody")]
    sections = [s.text() for c in comments for s in c.root.all("summary")]
    assert len(rows) == len(sections) == len(plan.groups)
    for group, row, section in zip(plan.groups, rows, sections, strict=True):
        for shown_in in (words(row), words(section)):
            assert words(as_shown(group.subject)) in shown_in
            assert words(f"({as_shown(group.key)})") in shown_in
    items = [words(li.text()) for li in _callout_items(comments)]
    destructive = [(g, a) for g in plan.groups for a in g.actions if a.kind in DESTRUCTIVE]
    assert len(items) == len(destructive)
    for (group, action), item in zip(destructive, items, strict=True):
        assert item.startswith(words(as_shown(group.subject)))
        assert CALLED[action.kind] in item
        for jid in action.members:
            assert words(as_shown(person(plan, jid, mask_phones=mask))) in item


def _callout_items(comments: list[Comment]) -> list[Node]:
    quotes = [q for c in comments for q in c.root.all("blockquote") if CALLOUT in q.text()]
    assert quotes, "the callout is not shown"
    assert not any(q.within("details") for q in quotes)
    for comment in comments:
        if CALLOUT in comment.root.text() and "<details>" in comment.html:
            assert comment.html.index(CALLOUT) < comment.html.index("<details>")
    return [li for q in quotes for li in q.all("li")]


def assert_text_shows_the_plan(plan: Plan, shown: str) -> None:
    """Each line of the text plan is one the renderer wrote: as many group headings, removals
    and demotions as the plan has."""
    assert_safe_in_a_log(shown)
    lines = shown.split("\n")
    headings = [line for line in lines if line[:2] in ("+ ", "~ ", "- ", "x ", "! ")]
    assert len(headings) == len(plan.groups)
    removed = sum(g.count(Kind.REMOVE) for g in plan.groups)
    demoted = sum(g.count(Kind.DEMOTE) for g in plan.groups)
    assert sum(line.startswith("    - member ") for line in lines) == removed
    assert sum(line.startswith("    v member ") for line in lines) == demoted


# -- a table of nasty strings, each in every field at once --------------------------------


@pytest.mark.parametrize("nasty", NASTY.values(), ids=NASTY.keys())
def test_a_nasty_string_in_every_field_hides_and_forges_nothing(nasty: str) -> None:
    plan = plan_with({name: f"{nasty} {name}" for name in FIELDS})
    for mask in (False, True):
        assert_comments_show_the_plan(plan, markdown.render(plan, mask_phones=mask), mask=mask)
    assert_text_shows_the_plan(plan, text.to_string(plan))


@pytest.mark.parametrize("nasty", NASTY.values(), ids=NASTY.keys())
def test_each_line_of_apply_and_watch_holds_a_nasty_string_on_it(nasty: str) -> None:
    plan = plan_with({name: f"{nasty} {name}" for name in FIELDS})
    step = Step(nasty, Kind.ADD, Outcome.NEEDS_INVITE, PEOPLE[0], nasty, False, LINK)
    failed = Step(nasty, Kind.REMOVE, Outcome.FAILED, PEOPLE[1], nasty, False)
    group = GroupReport(nasty, nasty, group_id(0), steps=[step, failed], reread=True)
    unread = GroupReport(nasty, nasty, group_id(0), reread_error=nasty)
    said = [progress.line(plan, step), *reread_lines(plan, group), *reread_lines(plan, unread)]
    said += invite_lines(plan, ApplyReport([group]))
    said += [described_action(plan, action) for action in plan.groups[0].actions]
    for each in said:
        assert "\n" not in each
        assert_safe_in_a_log(each)


# -- the same for random hostile strings --------------------------------------------------


@st.composite
def hostile_plans(draw: st.DrawFn) -> Plan:
    words = {name: draw(hostile_text()) for name in FIELDS}
    # Numbers as WhatsApp may send them: a LID of any digits the JID parser takes.
    digits = st.text(st.characters(categories=["Nd"]), min_size=1, max_size=20)
    lids = []
    for _ in range(2):
        try:
            lids.append(jid_from_api(f"{draw(digits)}@lid"))
        except ValueError:
            continue
    return plan_with(words, [*lids, *PEOPLE])


@given(hostile_plans())
def test_for_any_hostile_strings_the_comment_shows_every_group_removal_and_demotion(
    plan: Plan,
) -> None:
    assert_comments_show_the_plan(plan, markdown.render(plan))
    assert_text_shows_the_plan(plan, text.to_string(plan))


@st.composite
def hostile_diffs(draw: st.DrawFn) -> ConfigDiff:
    words = [draw(hostile_text()) for _ in range(6)]
    changed = GroupChange(
        key=words[0],
        status="changed",
        subject=words[1],
        settings=(("description", words[2], words[3]), ("subject", words[3], words[1])),
        joins=(PEOPLE[0],),
        leaves=(PEOPLE[1], PEOPLE[2]),
        promoted=(PEOPLE[0],),
        demoted=(PEOPLE[3],),
    )
    going = GroupChange(key=words[4], status="added", subject=words[5], goes="delete")
    dropped = GroupChange(key=words[5], status="removed", subject=words[4])
    names = {PEOPLE[n]: draw(hostile_text()) for n in range(4)}
    return ConfigDiff(
        groups=(changed, going, dropped),
        readdressed=((words[2], PEOPLE[4], PEOPLE[5]),),
        directory=names,
    )


@given(hostile_diffs(), hostile_text())
def test_for_any_hostile_strings_the_config_diff_shows_every_group_and_change(
    result: ConfigDiff, base: str
) -> None:
    parts = render_diff.to_markdown(result, base=base)
    assert SEPARATOR.join(parts).split(SEPARATOR) == parts
    (comment,) = [render(part) for part in parts]
    assert comment.hidden == []
    assert comment.tags() <= DIFF_TAGS, comment.tags() - DIFF_TAGS
    assert comment.mentions() == []
    assert_safe_in_a_log(parts[0])
    headings = [p.text() for p in comment.root.all("p") if next(p.all("b"), None)]
    assert len(headings) == len(result.groups)
    for group, heading in zip(result.groups, headings, strict=True):
        assert words(as_shown(group.subject)) in words(heading)
        assert words(heading).endswith(words(f"({as_shown(group.key)})"))
    blocks = [block.text() for block in comment.root.all("pre")]
    assert len(blocks) == len(result.groups)
    changed = blocks[0].splitlines()
    assert sum(line.startswith("- member ") for line in changed) == 2
    assert sum(line.startswith("v member ") for line in changed) == 1
    assert blocks[2].strip() == render_diff.REMOVED_NOTE


# -- through the installed CLI -------------------------------------------------------------

BOT = "+14155550100"
LINK = "https://chat.whatsapp.com/Inv120363000000000100"
# From WhatsApp: the live group's subject and description, and a participant's push name.
LIVE_SUBJECT = "Ops\n<!--"
LIVE_DESCRIPTION = "@octocat ![x](https://evil.example/p.png)\n\n<!-- groupctl: next comment -->"
# From the pull request: the new subject and description (config values may be anything).
DESCRIPTION = "##[add-mask]x\n::error::pwned\n</details>[click](https://evil.example)"
CONFIG = f"""\
version: 1
people:
  alice: "+14155550101"
  bob: "+14155550102"
groups:
  ops:
    id: "120363000000000001@g.us"
    subject: "Ops <!--"
    description: {json.dumps(DESCRIPTION)}
    members: [alice]
"""


@pytest.fixture
def hostile_world(tmp_path: Path) -> Path:
    """A config and a world where both sides hold hostile text: alice is demoted, bob and
    +1 415-555-0103 removed."""
    (tmp_path / "groups.yaml").write_text(CONFIG)
    world = WorldState(
        people=[Person(phone=BOT)],
        accounts=[Account(session="default", phone=BOT)],
        groups=[
            Group(
                id="120363000000000001@g.us",
                subject=LIVE_SUBJECT,
                description=LIVE_DESCRIPTION,
                creator=BOT,
                created_at=1,
                invite_code="OpsInviteCode000000001",
                participants={
                    BOT: "superadmin",
                    "+14155550101": "admin",
                    "+14155550102": "member",
                    "+14155550103": "member",
                },
            )
        ],
    )
    (tmp_path / "world.json").write_text(world.model_dump_json())
    return tmp_path


def test_the_plan_comment_of_a_hostile_config_and_group_shows_the_callout(
    groupctl: str, hostile_world: Path
) -> None:
    args = ("plan", "--api", "sim:world.json", "--max-removals", "5")
    done = run_groupctl(groupctl, *args, "--format", "markdown", cwd=hostile_world)
    assert done.returncode == 0, done.stderr
    parts = done.stdout.rstrip("\n").split(SEPARATOR)
    assert len(parts) == 1
    comment = render(parts[0])
    assert comment.hidden == []
    assert comment.tags() <= PLAN_TAGS
    assert comment.mentions() == []
    assert_safe_in_a_log(done.stdout)
    quotes = [q.text() for q in comment.root.all("blockquote") if CALLOUT in q.text()]
    assert quotes
    assert "Ops <!-- demotes alice (+1 415-555-0101)" in quotes[0]
    assert "Ops <!-- removes bob (+1 415-555-0102), +1 415-555-0103" in quotes[0]
    (section,) = comment.root.all("details")
    shown = section.text()
    assert "subject: Ops\\n<!-- → Ops <!--" in shown
    assert f"description: {as_shown(LIVE_DESCRIPTION)} →" in shown
    assert f"→ {as_shown(DESCRIPTION)}" in shown
    as_text = run_groupctl(groupctl, *args, cwd=hostile_world)
    assert as_text.returncode == 0, as_text.stderr
    assert_safe_in_a_log(as_text.stdout)
    assert '~ subject      "Ops\\n<!--" -> "Ops <!--"' in as_text.stdout


def test_json_output_holds_hostile_text_as_it_is_and_safe_in_a_log(
    groupctl: str, hostile_world: Path
) -> None:
    plan = ("plan", "--api", "sim:world.json", "--max-removals", "5", "--format", "json")
    diff = ("diff", "groups.yaml", "groups.yaml", "--format", "json")
    apply = ("apply", "--api", "sim:world.json", "--auto-approve", "--force", "--format", "json")
    for args in (plan, diff, apply):
        done = run_groupctl(groupctl, *args, cwd=hostile_world)
        assert done.returncode == 0, done.stderr
        assert_safe_in_a_log(done.stdout)
        data = json.loads(done.stdout)
        if args is plan:
            (update,) = data["groups"]
            said = {action["kind"]: action.get("new") for action in update["actions"]}
            assert said["description"] == DESCRIPTION  # the same data, only written safely
            assert update["snapshot"]["description"] == LIVE_DESCRIPTION


def test_a_config_diff_of_hostile_text_shows_as_it_is(groupctl: str, hostile_world: Path) -> None:
    old = hostile_world / "old.yaml"
    old.write_text(CONFIG.replace("members: [alice]", "members: [alice, bob]"))
    args = ("diff", str(old), "groups.yaml", "--format", "markdown")
    done = run_groupctl(groupctl, *args, cwd=hostile_world)
    assert done.returncode == 0, done.stderr
    comment = render(done.stdout)
    assert comment.hidden == []
    assert comment.tags() <= DIFF_TAGS
    assert comment.mentions() == []
    assert_safe_in_a_log(done.stdout)
    assert "- member       bob (+1 415-555-0102)" in comment.root.text()


def test_a_hostile_key_is_a_config_error_that_forges_no_line(groupctl: str, tmp_path: Path) -> None:
    keys = ["welcome\n<!--", "x\n::error::pwned", "##[add-mask]x", "a\u202eb"]
    groups = {key: {"subject": "S", "members": []} for key in keys}
    # A member no one defined: the message quotes it as it is written.
    groups["ok"] = {"subject": "S", "members": ["##[stop-commands]token"]}
    (tmp_path / "groups.yaml").write_text(json.dumps({"version": 1, "groups": groups}))
    done = run_groupctl(groupctl, "validate", cwd=tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert_safe_in_a_log(done.stderr)
    lines = done.stderr.splitlines()
    assert len(lines) == len(keys) + 2
    assert lines[0].startswith(
        "groups.yaml:1:27: group key 'welcome\\n<!--' is not a usable name (it has U+000A"
        " (a line break)): rename it; a name is 1 to 64 characters: letters of any alphabet,"
    )
    assert "unknown person '##\\x5bstop-commands]token'" in lines[-2]
    assert lines[-1] == "error: the config has 5 problems"


def test_apply_and_status_keep_whatsapps_text_on_its_line(
    groupctl: str, hostile_world: Path
) -> None:
    world = WorldState.model_validate_json((hostile_world / "world.json").read_text())
    world.accounts[0].push_name = "Acme\n::error::pwned ##[add-mask]x \x1b[2J"
    (hostile_world / "world.json").write_text(world.model_dump_json())
    status = run_groupctl(groupctl, "status", "--api", "sim:world.json", cwd=hostile_world)
    assert status.returncode == 0, status.stderr
    assert_safe_in_a_log(status.stdout)
    assert "(Acme\\n::error::pwned ##\\x5badd-mask]x \\x1b[2J)" in status.stdout
    args = ("apply", "--api", "sim:world.json", "--auto-approve", "--force")
    applied = run_groupctl(groupctl, *args, cwd=hostile_world)
    assert applied.returncode == 0, applied.stderr
    assert_safe_in_a_log(applied.stdout + applied.stderr)
    assert "re-read 'Ops <!--' [ops]: 3 of 3 people as planned" in applied.stdout
