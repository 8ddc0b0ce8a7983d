"""apply against the simulator: outcomes per person, partial failure, convergence."""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
import pytest
from PIL import Image

from reconciler.core.groups import LINK_SENT, NEEDS_INVITE, DesiredState, LocalPicture, UrlPicture
from reconciler.core.jid import Jid, parse_group_jid, parse_jid
from reconciler.core.limits import MAX_GROUP_SIZE
from reconciler.engine.apply import apply
from reconciler.engine.plan import Action, GroupPlan, Kind, Plan
from reconciler.engine.planner import PlanPolicy
from reconciler.engine.report import NO_PER_PERSON_ANSWER, ApplyReport, Outcome
from reconciler.engine.service import plan_now
from reconciler.engine.statefile import StateFile
from reconciler.render.progress import expected_steps
from reconciler.render.report import invite_lines
from reconciler.sim.gateway import FaultInjector
from reconciler.sim.state import Role
from reconciler.titan.client import TitanClient
from tests.conftest import MakeSim
from tests.support.builders import desired, want
from tests.support.harness import (
    ALICE,
    BOB,
    CAROL,
    DEFAULT,
    ENGINEERING,
    ENGINEERING_CODE,
    MARKETING,
    MEMBER,
    OTHER,
    Harness,
    jid,
    standard_world,
)

ENG = ENGINEERING


async def plan_and_apply(
    sim: Harness,
    config: DesiredState,
    state_file: StateFile | None = None,
    client: TitanClient | None = None,
    policy: PlanPolicy = PlanPolicy(),
    pictures: Path | None = None,
) -> tuple[Plan, ApplyReport]:
    state_file = state_file if state_file is not None else StateFile()
    client = client or sim.client()
    result = (await plan_now(client, config, policy, state_file)).plan
    return result, await apply(result, client, state_file=state_file, pictures=pictures)


def outcomes(report: ApplyReport) -> list[tuple[str, str, str | None, str]]:
    return [
        (s.group, s.kind.value, s.person, s.outcome.value) for g in report.groups for s in g.steps
    ]


def p(phone: str) -> str:
    return f"{phone[1:]}@s.whatsapp.net"


# The standard world's Engineering as the default session sees it, so that the plan is just
# the change under test. Erin is not listed: her number is hidden from this session, so she
# is known only by a LID (kept, unresolved).
ENG_NOW = {
    DEFAULT: "admin",
    OTHER: "admin",
    MEMBER: "member",
    ALICE: "member",
    "+14155550104": "member",
}


async def test_every_person_gets_an_outcome(sim: Harness) -> None:
    config = desired(want("eng", "Engineering", {**ENG_NOW, BOB: "member", CAROL: "admin"}, id=ENG))
    _, report = await plan_and_apply(sim, config)
    assert outcomes(report) == [
        ("eng", "add", p(BOB), "done"),
        ("eng", "add", p(CAROL), "needs invite"),
        ("eng", "promote", p(CAROL), "needs invite"),  # not in the group yet: promoted once in
    ]
    assert report.ok
    group = sim.world.state.groups[0]
    assert group.participants[BOB] == "member"
    assert CAROL in group.invited_at


async def test_someone_who_needs_an_invite_gets_the_link_in_the_report_and_no_message(
    sim: Harness,
) -> None:
    state_file = StateFile()
    config = desired(want("eng", "Engineering", {**ENG_NOW, CAROL: "member"}, id=ENG))
    _, report = await plan_and_apply(sim, config, state_file)
    (step,) = report.groups[0].steps
    link = f"https://chat.whatsapp.com/{ENGINEERING_CODE}"
    assert (step.outcome, step.invite_link, report.groups[0].invite_link) == (
        Outcome.NEEDS_INVITE,
        link,
        link,
    )
    assert step.to_json()["invite_link"] == link
    assert "anyone holding" in report.to_json()["groups"][0]["invite_link_warning"]
    assert "1 needing an invite" in report.summary()
    assert state_file.records[sim_gid(ENG)][jid(CAROL)].reason == NEEDS_INVITE
    assert sim.world.state.messages == []


async def test_with_invite_by_message_the_link_is_sent_once_then_they_wait(sim: Harness) -> None:
    state_file = StateFile()
    template = "Hi! {subject}: {link}"
    config = desired(
        want("eng", "Engineering", {**ENG_NOW, CAROL: "member"}, id=ENG, invite_message=template)
    )
    _, report = await plan_and_apply(sim, config, state_file)
    (step,) = report.groups[0].steps
    assert step.outcome == Outcome.INVITED
    assert "the invite link was sent to them by message" in step.detail
    (message,) = sim.world.state.messages
    link = f"https://chat.whatsapp.com/{ENGINEERING_CODE}"
    assert (message.chat_id, message.text) == (p(CAROL), f"Hi! Engineering: {link}")
    assert state_file.records[sim_gid(ENG)][jid(CAROL)].reason == LINK_SENT
    for _ in range(2):
        again, second = await plan_and_apply(sim, config, state_file)
        assert not again.has_changes
        assert second.groups == []
        assert "sent the group's invite link by message on" in again.groups[0].notes[0]
    assert len(sim.world.state.messages) == 1


async def test_someone_who_left_recently_is_recorded_not_failed(sim: Harness) -> None:
    await sim.client("member").leave_group(sim_gid(ENG))
    state_file = StateFile()
    _, report = await plan_and_apply(
        sim, desired(want("eng", "Engineering", ENG_NOW, id=ENG)), state_file
    )
    assert ("eng", "add", p(MEMBER), "left recently") in outcomes(report)
    assert report.ok
    assert list(state_file.records[sim_gid(ENG)]) == [p(MEMBER)]


async def test_invited_people_are_not_added_again_while_they_wait(sim: Harness) -> None:
    config = desired(want("eng", "Engineering", {**ENG_NOW, CAROL: "member"}, id=ENG))
    state_file = StateFile()
    await plan_and_apply(sim, config, state_file)
    again, report = await plan_and_apply(sim, config, state_file)
    assert report.groups == []
    assert not again.has_changes
    assert "needs an invite since" in again.groups[0].notes[0]
    forgotten, _ = await plan_and_apply(sim, config, StateFile())  # no record: tried again
    assert [a.kind for g in forgotten.groups for a in g.actions] == [Kind.ADD]


async def test_a_new_group_gets_its_id_for_the_later_actions(sim: Harness) -> None:
    config = desired(want("new", "Launch", {ALICE: "admin", BOB: "member"}, description="Go"))
    _, report = await plan_and_apply(sim, config)
    created = report.groups[0].created
    assert created is not None
    group = next(g for g in sim.world.state.groups if g.id == created)
    assert (group.subject, group.description) == ("Launch", "Go")
    assert group.participants == {DEFAULT: "superadmin", ALICE: "admin", BOB: "member"}


async def test_a_failed_call_stops_its_group_and_no_other(make_sim: MakeSim) -> None:
    faults = FaultInjector()
    sim = make_sim(faults=faults)
    faults.inject("500", method="PUT", path_contains=ENG)
    config = desired(
        want("eng", "Eng", {**ENG_NOW, "+14155550105": "member", BOB: "member"}, id=ENG),
        want(
            "mkt",
            "Marketing",
            {OTHER: "admin", DEFAULT: "member", BOB: "member", ALICE: "member"},
            id=MARKETING,
        ),
    )
    _, report = await plan_and_apply(sim, config, client=sim.client("other"))
    eng, mkt = report.groups
    assert eng.error is not None
    assert "HTTP 500" in eng.error
    assert [(s.kind, s.outcome) for s in eng.steps] == [
        (Kind.SUBJECT, Outcome.FAILED),
        (Kind.ADD, Outcome.SKIPPED),
    ]
    assert mkt.ok
    assert not report.ok
    assert "1 failed" in report.summary()
    assert sim.world.state.groups[1].participants[ALICE] == "member"
    # Running again finishes the job, without repeating what was done.
    again, second = await plan_and_apply(sim, config, client=sim.client("other"))
    assert [g.key for g in again.groups] == ["eng"]
    assert second.ok


async def test_a_local_picture_is_sent_as_a_square_jpeg_of_at_most_640(
    make_sim: MakeSim, tmp_path: Path
) -> None:
    sim = make_sim(picture_getter=True)  # the next plan compares with the picture read back
    path = tmp_path / "wide.png"
    Image.new("RGB", (1600, 900), (10, 200, 30)).save(path)
    picture = LocalPicture(path, shown="wide.png")  # as the config beside it names it
    config = desired(want("eng", "Engineering", ENG_NOW, id=ENG, picture=picture))
    beside = PlanPolicy(config=str(tmp_path / "groups.yaml"))
    result, report = await plan_and_apply(sim, config, policy=beside, pictures=tmp_path)
    assert [a.kind for a in result.groups[0].actions] == [Kind.PICTURE]
    assert report.ok
    stored = sim.world.picture_jpeg(sim.world.state.groups[0])
    assert stored is not None
    with Image.open(io.BytesIO(stored)) as image:
        assert (image.format, image.size) == ("JPEG", (640, 640))
    again, _ = await plan_and_apply(sim, config, policy=beside, pictures=tmp_path)
    assert not again.has_changes  # the same picture, re-encoded: no new upload


async def test_a_picture_url_is_passed_as_a_url(sim: Harness, png_url: str) -> None:
    config = desired(want("eng", "Engineering", ENG_NOW, id=ENG, picture=UrlPicture(png_url)))
    result, report = await plan_and_apply(sim, config)
    assert [(a.kind, a.new) for a in result.groups[0].actions] == [(Kind.PICTURE, png_url)]
    assert report.ok
    assert sim.world.state.groups[0].picture is not None


def sim_gid(group: str) -> Jid:
    return parse_group_jid(group)


def adding(*people: str, invite_message: str | None = None) -> Plan:
    """A plan that adds `people` to Engineering, as a saved plan may say after the world moved."""
    add = Action(Kind.ADD, tuple(parse_jid(person) for person in people))
    group = GroupPlan("eng", "Engineering", sim_gid(ENG), (add,), invite_message=invite_message)
    return Plan((group,))


def titan_answering(
    add: object, send: httpx.Response | None = None, code: str = "AbC123"
) -> tuple[TitanClient, list[httpx.Request]]:
    """A client of a Titan that answers an add with `add`, the invite link with `code`, and a
    message with `send`; the requests it got, in order."""
    requests: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if request.url.path.endswith("/invite"):
            return httpx.Response(200, json={"data": {"code": code}})
        if request.url.path == "/api/messages/send":
            return send or httpx.Response(200, json={"data": {"id": "m1", "status": "sent"}})
        return httpx.Response(200, json={"data": add})

    transport = httpx.MockTransport(answer)
    # Unpaced: the pace of writes (tests/titan/test_http.py) would only add 3 s a message.
    client = TitanClient("http://titan.test", api_key="k", transport=transport, write_rate=None)
    return client, requests


@pytest.mark.parametrize(
    ("result", "outcome", "ok", "detail"),
    [
        ({"status": 200}, Outcome.DONE, True, ""),
        ({"status": 403}, Outcome.NEEDS_INVITE, True, "403: as WhatsApp says"),
        ({"status": 403, "inviteSent": True}, Outcome.INVITED, True, "403: as WhatsApp says"),
        ({"status": 403, "isInviteV4Sent": False}, Outcome.NEEDS_INVITE, True, "403:"),
        ({"status": 404}, Outcome.FAILED, False, "404: not on WhatsApp: as WhatsApp says"),
        ({"status": 408}, Outcome.LEFT_RECENTLY, True, "408: as WhatsApp says"),
        ({"status": 409}, Outcome.ALREADY, True, "409: as WhatsApp says"),
        ({"status": 417}, Outcome.FAILED, False, "417: cannot be added to a community's group"),
        ({"status": 419}, Outcome.FAILED, False, "419: the group is full: as WhatsApp says"),
        ({"status": 500}, Outcome.FAILED, False, "500: as WhatsApp says"),
    ],
)
async def test_whatsapps_answer_for_each_person_becomes_an_outcome(
    result: dict[str, object], outcome: Outcome, ok: bool, detail: str
) -> None:
    add = {"results": [{"jid": p(BOB), "message": "as WhatsApp says", **result}]}
    client, _ = titan_answering(add)
    async with client:
        report = await apply(adding(BOB), client)
    assert outcomes(report) == [("eng", "add", p(BOB), outcome.value)]
    assert report.ok is ok
    assert report.groups[0].steps[0].detail.startswith(detail)


async def test_an_answer_without_per_person_detail_is_done_but_says_so() -> None:
    client, _ = titan_answering({"success": True})
    async with client:
        report = await apply(adding(BOB), client)
    (step,) = report.groups[0].steps
    assert (step.outcome, step.detail) == (Outcome.DONE, NO_PER_PERSON_ANSWER)


REFUSED = {"results": [{"jid": p(CAROL), "status": 403, "inviteSent": False}]}


@pytest.mark.parametrize(
    ("send", "outcome", "remembered", "detail"),
    [
        (None, Outcome.INVITED, LINK_SENT, "sent to them by message"),
        (
            httpx.Response(403, json={"error": "this API key lacks the messages:write scope"}),
            Outcome.FAILED,
            None,
            "the message with the invite link failed: POST /api/messages/send: HTTP 403",
        ),
        (httpx.Response(500, json={"error": "boom"}), Outcome.UNKNOWN, LINK_SENT, "may have"),
        (
            httpx.Response(202, json={"data": {"correlationId": "c1"}}),
            Outcome.UNKNOWN,
            LINK_SENT,
            "may have been sent",
        ),
    ],
    ids=["sent", "refused", "server-error", "accepted-later"],
)
async def test_a_message_that_failed_is_tried_again_one_that_may_have_gone_is_not(
    send: httpx.Response | None, outcome: Outcome, remembered: str | None, detail: str
) -> None:
    client, requests = titan_answering(REFUSED, send)
    state_file = StateFile()
    planned = adding(CAROL, invite_message="{link}")
    async with client:
        report = await apply(planned, client, state_file=state_file)
    (step,) = report.groups[0].steps
    assert step.outcome == outcome
    assert detail in step.detail
    assert step.invite_link == "https://chat.whatsapp.com/AbC123"
    # The report never tells a person to send a link that may already have gone out.
    told = "\n".join(invite_lines(planned, report))
    if outcome == Outcome.UNKNOWN:
        assert "may not have arrived: ask them before sending" in told
    if outcome == Outcome.FAILED:
        assert "needs an invite to 'Engineering' [eng]: send them https://" in told
    waiting = state_file.records.get(sim_gid(ENG), {}).get(jid(CAROL))
    assert (waiting.reason if waiting else None) == remembered
    sent = [r for r in requests if r.url.path == "/api/messages/send"]
    assert len(sent) == 1  # never repeated: a message sent twice cannot be taken back
    assert json.loads(sent[0].content) == {
        "session": "default",
        "chatId": p(CAROL),
        "type": "text",
        "text": "https://chat.whatsapp.com/AbC123",
    }


@pytest.mark.parametrize("code", ["x/../y", "AbC 123", "<b>", ""])
async def test_an_invite_code_that_is_not_letters_and_digits_never_becomes_a_link(
    code: str,
) -> None:
    client, requests = titan_answering(REFUSED, code=code)
    async with client:
        report = await apply(adding(CAROL, invite_message="{link}"), client)
    (step,) = report.groups[0].steps
    assert step.invite_link is None
    assert report.groups[0].invite_link is None
    assert "the invite link could not be read" in step.detail
    assert step.outcome == Outcome.FAILED  # it could not be sent
    assert not any(r.url.path == "/api/messages/send" for r in requests)


async def test_someone_already_in_the_group_is_done_and_a_full_group_fails_the_rest(
    make_sim: MakeSim,
) -> None:
    world = standard_world()
    crowd: dict[str, Role] = {f"+1415777{n:04d}": "member" for n in range(MAX_GROUP_SIZE - 7)}
    world.groups[0].participants.update(crowd)  # Engineering, of 6: one seat left
    sim = make_sim(world)
    report = await apply(adding(ALICE, BOB, "+14155550120"), sim.client())
    assert outcomes(report) == [
        ("eng", "add", p(ALICE), "already done"),
        ("eng", "add", p(BOB), "done"),
        ("eng", "add", p("+14155550120"), "failed"),
    ]
    assert "419" in report.groups[0].steps[2].detail
    assert not report.ok


async def test_every_step_apply_reports_is_counted_by_the_progress_bar(
    make_sim: MakeSim,
) -> None:
    faults = FaultInjector()
    sim = make_sim(faults=faults)
    faults.inject("500", method="POST", path_contains="participants")  # the add fails
    config = desired(
        want("eng", "Eng", {**ENG_NOW, BOB: "admin", "+14155550105": "member"}, id=ENG),
        want("new", "Launch", {ALICE: "admin", BOB: "member"}, description="Go"),
    )
    result, report = await plan_and_apply(sim, config)
    steps = [step for group in report.groups for step in group.steps]
    assert Outcome.SKIPPED in {step.outcome for step in steps}
    assert len(steps) == expected_steps(result)


async def test_an_add_titan_accepted_without_doing_it_is_unknown_never_added() -> None:
    """advanced/async-commands: a 202 with a correlation id is a receipt, not a result. The
    re-read does not show Bob, so he stays "outcome unknown", and the run is not ok."""
    requests: list[httpx.Request] = []
    group = {"id": ENG, "name": "Engineering", "participants": [{"phoneNumber": DEFAULT}]}

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if request.method == "POST":
            return httpx.Response(202, json={"data": {"correlationId": "cmd-7"}})
        return httpx.Response(200, json={"data": group})

    transport = httpx.MockTransport(answer)
    client = TitanClient("http://titan.test", api_key="k", transport=transport, write_rate=None)
    async with client:
        report = await apply(adding(BOB), client)
    [step] = [s for s in report.groups[0].steps if s.person is not None]
    assert step.outcome == Outcome.UNKNOWN
    assert step.verified is False
    assert "cmd-7" in step.detail
    assert not report.ok
    assert "1 outcome unknown" in report.summary()
    assert [r.method for r in requests].count("POST") == 1  # never repeated


async def test_a_call_whose_answer_was_lost_but_whose_work_the_re_read_shows_is_done(
    make_sim: MakeSim,
) -> None:
    faults = FaultInjector()
    sim = make_sim(faults=faults)
    # The removal happens, then the connection drops before the answer: not retried here.
    faults.inject("lost", method="DELETE", path_contains="participants")
    eng_without_alice = {k: v for k, v in ENG_NOW.items() if k != ALICE}
    config = desired(want("eng", "Engineering", eng_without_alice, id=ENG))
    _, report = await plan_and_apply(sim, config)
    [eng] = report.groups
    [removal] = [s for s in eng.steps if s.kind == Kind.REMOVE]
    assert removal.outcome == Outcome.DONE
    assert removal.verified is True
    assert "the group re-read shows it" in removal.detail
    assert eng.error is None  # the group did what it was meant to: no failure to report
    assert report.ok
