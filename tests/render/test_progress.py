"""apply's lines about re-reading each changed group: a count per group, then each change the
group does not show, and why a group could not be re-read."""

from __future__ import annotations

from reconciler.core.jid import parse_jid
from reconciler.engine.plan import Kind, Plan
from reconciler.engine.report import GroupReport, Outcome, Step
from reconciler.render.progress import reread_lines

ANA, BEN, HIDDEN = (parse_jid(a) for a in ("+14155550161", "+14155550162", "9999@lid"))
PLAN = Plan((), directory={ANA: "ana"})


def report(*steps: Step, reread: bool = True, error: str | None = None) -> GroupReport:
    group = GroupReport("field", "Field\nTeam", parse_jid("120363000000000501@g.us"))
    group.steps, group.reread, group.reread_error = list(steps), reread, error
    return group


def test_a_group_as_planned_counts_its_people() -> None:
    group = report(
        Step("field", Kind.SUBJECT, Outcome.DONE, verified=True),
        Step("field", Kind.REMOVE, Outcome.DONE, ANA, verified=True),
        Step("field", Kind.ADD, Outcome.DONE, BEN, verified=True),
    )
    assert reread_lines(PLAN, group) == ["re-read 'Field\\nTeam' [field]: 2 of 2 people as planned"]


def test_each_change_the_group_does_not_show_is_listed_with_why() -> None:
    still_there = "404: not a participant, but the group re-read still lists them"
    group = report(
        Step("field", Kind.REMOVE, Outcome.FAILED, ANA, still_there, verified=False),
        Step("field", Kind.ADD, Outcome.ALREADY, HIDDEN, "409: already", verified=None),
        Step("field", Kind.ADD, Outcome.SKIPPED, BEN, "not attempted"),
    )
    assert reread_lines(PLAN, group) == [
        "re-read 'Field\\nTeam' [field]: 0 of 1 person as planned; 1 not checked"
        " (shown by another address)",
        f"  not as planned: [field] remove ana (+1 415-555-0161): failed ({still_there})",
    ]


def test_a_group_that_could_not_be_re_read_says_why_and_one_not_re_read_says_nothing() -> None:
    failed = report(reread=False, error="GET ...: HTTP 500")
    assert reread_lines(PLAN, failed) == [
        "re-read 'Field\\nTeam' [field]: not verified, the group could not be re-read"
        " (GET ...: HTTP 500)"
    ]
    assert reread_lines(PLAN, report(reread=False)) == []


def test_whatsapps_text_in_a_line_is_one_line_and_never_style_markup() -> None:
    import io

    from reconciler.render.progress import ApplyProgress, line

    forged = "refused [/oops]\n[eng] remove ana: done\x1b[2K\u202e"
    step = Step("field", Kind.ADD, Outcome.FAILED, BEN, forged)
    shown = line(PLAN, step)
    assert "\n" not in shown
    assert "\x1b" not in shown
    assert "\u202e" not in shown
    assert shown.startswith("[field] add +1 415-555-0162: failed (refused [/oops]\\n[eng]")
    # On a terminal, failures go through rich: "[/oops]" must print as it is, not crash.
    stream = io.StringIO()
    with ApplyProgress(PLAN, stream, terminal=True) as progress:
        progress.step(step)
    assert "[field] add +1 415-555-0162: failed (refused [/oops]" in stream.getvalue()


def test_a_huge_text_is_cut_and_says_how_much_was_left_out() -> None:
    from reconciler.util.untrusted import one_line

    assert one_line("x" * 5000) == "x" * 300 + "... (4,700 more characters)"
    assert one_line("Zoë's Ωteam") == "Zoë's Ωteam"  # letters of every language stay as they are
