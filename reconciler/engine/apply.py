"""Carry a plan out through the client, and say what happened to every group and person.

Groups run concurrently (bounded); within a group, actions run strictly in plan order, and a
call that fails stops that group's later actions (they depended on it) but no other group.
Per person, WhatsApp's answers are outcomes, not failures: needs an invite (privacy settings;
WhatsApp sent nothing), invited (the answer says an invite was sent), left recently, already
done. People who need an invite get the group's invite link in the report, and by message when
the group asks for it (invite_by_message). People who were not added are left out of the
group's later promotions. Invites and recent leavers are remembered (see `engine.statefile`),
so the next plan does not add them again at once, nor sends the link twice.

Just before a create, the group list is read again: a group of that subject that appeared
since the plan was made is not doubled. One that this session's account created since then
(another run of the same config, on another machine: runs on one state file wait for each
other) is bound to, and the people that run did not get in are left to it; any other stops
the group, since the next plan must say which is which.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Set
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from reconciler.core.groups import HIDDEN, INVITED, LEFT_RECENTLY, LINK_SENT, NEEDS_INVITE
from reconciler.core.invites import invite_link, invite_text
from reconciler.core.jid import Jid
from reconciler.core.pictures import fingerprint, normalize, same_picture
from reconciler.engine.live import fetch_group
from reconciler.engine.outcomes import detail_of, maybe_sent, outcome_of
from reconciler.engine.plan import PARTICIPANT_KINDS, Action, GroupPlan, Kind, Plan
from reconciler.engine.report import (
    ADDS,
    SUCCESSES,
    UNCHECKED,
    ApplyReport,
    GroupReport,
    Outcome,
    Step,
)
from reconciler.engine.safety import Brakes, raise_if_unsafe
from reconciler.engine.statefile import StateFile, now_utc
from reconciler.engine.stopping import Stop
from reconciler.engine.verify import VERIFIABLE, Reread
from reconciler.errors import (
    CreateUncertainError,
    CutShortError,
    GroupctlError,
    NotSentError,
    OutcomeUnknownError,
    PlanFileError,
    SessionNotReadyError,
)
from reconciler.titan.client import TitanClient
from reconciler.titan.models import Group
from reconciler.titan.results import NOT_REPORTED, ParticipantResult, ParticipantStatus
from reconciler.titan.retries import surely_not_applied

Listener = Callable[[Step], None]
log = logging.getLogger("reconciler.engine")


async def apply(
    plan: Plan,
    client: TitanClient,
    *,
    state_file: StateFile | None = None,
    pictures: Path | None = None,
    brakes: Brakes = Brakes(),
    force: bool = False,
    concurrency: int = 4,
    on_step: Listener | None = None,
    now: Callable[[], datetime] = now_utc,
    stop: Stop | None = None,
) -> ApplyReport:
    """Carry out every group of `plan` that is not refused. Raises UnsafePlanError, before
    any call, if the safety brakes stop it (unless `force`); never raises for a failed call:
    failures are in the report (`ApplyReport.ok`). `pictures`: the directory the plan's
    picture files are in (the config's root); a plan that names a file needs it. `now`: the
    clock of the state file's records. `stop`: once requested, no action starts, and the
    calls in flight get its grace to finish (see `engine.stopping`); the report says so.

    The state file is saved after each group; a save that fails does not stop the run (its
    report must not be lost): the first failure is in `ApplyReport.state_error`."""
    raise_if_unsafe(plan, brakes, force=force)
    state_file = state_file if state_file is not None else StateFile()
    stop = stop if stop is not None else Stop()
    stop.on_request(client.stop)
    slots = asyncio.Semaphore(concurrency)
    report = ApplyReport()
    named = frozenset(plan.directory)
    for group in plan.groups:  # before any call: a plan file is not trusted further
        for action in group.actions:
            if action.kind == Kind.PICTURE and not _is_url(action.new or ""):
                picture_path(pictures, action.new or "")

    async def run(group: GroupPlan) -> None:
        async with slots:
            outcome = await _GroupRun(
                group,
                client,
                state_file,
                pictures,
                on_step or _ignore,
                named=named,
                now=now,
                planned_at=plan.created,
                stop=stop,
            ).run()
        report.groups.append(outcome)
        group_id = outcome.created or outcome.group_id
        gone = any(action.kind in (Kind.LEAVE, Kind.DELETE) for action in group.actions)
        if group_id is not None and not gone:  # a group left or deleted is forgotten
            state_file.record_key(group_id, group.key)
        save(state_file, report)

    # The client stops every call once it finds the session not connected (a circuit
    # breaker): groups not yet started are then not attempted at all, and the report says why.

    await asyncio.gather(*(run(g) for g in plan.groups if g.actions and not g.errors))
    if client.halted is not None:
        report.halted = client.halted.message
    report.interrupted = stop.reason
    order = {group.key: index for index, group in enumerate(plan.groups)}
    report.groups.sort(key=lambda g: order[g.key])
    return report


def save(state_file: StateFile, report: ApplyReport, now: datetime | None = None) -> None:
    """Save the state file; a failure is kept in the report (the first one), not raised:
    what was done must still be reported."""
    try:
        state_file.save(now)
    except GroupctlError as exc:
        report.state_error = report.state_error or str(exc)


def _ignore(step: Step) -> None:
    return None


class _GroupRun:
    def __init__(
        self,
        plan: GroupPlan,
        client: TitanClient,
        state_file: StateFile,
        pictures: Path | None,
        on_step: Listener,
        *,
        named: frozenset[Jid] = frozenset(),
        now: Callable[[], datetime] = now_utc,
        planned_at: datetime | None = None,
        stop: Stop | None = None,
    ) -> None:
        self.plan = plan
        self.stop = stop if stop is not None else Stop()
        self.planned_at = planned_at  # when the plan was made: a create binds to a later group
        self.client = client
        self.state_file = state_file
        self.pictures = pictures  # the config's directory, where picture files are
        self.on_step = on_step
        self.now = now
        self.report = GroupReport(plan.key, plan.subject, plan.group_id)
        self.group_id = plan.group_id
        # People this run did not get into the group, and why (invited, left recently, failed).
        self.not_added: dict[Jid, Outcome] = {}
        # Steps of people whose outcome the API did not state (no result for them, or the
        # call failed or was left unanswered): the re-read settles them either way.
        self.unsettled: set[tuple[Kind, Jid | None]] = set()
        self.named = named  # addresses the config gives people: nobody else hides behind them
        # WhatsApp's refusals for privacy settings, reported once the invite link is known.
        self.needing_invite: list[tuple[Kind, Jid, ParticipantResult]] = []
        # Who was in the group another run created, when this run bound to it (None: not
        # bound): the others are that run's to add, not this one's (no one asked twice).
        self.bound_to: frozenset[Jid] | None = None

    async def run(self) -> GroupReport:
        halted = self.client.halted
        if halted is not None:  # stopped before this group's turn: nothing of it is sent
            self.report.error = f"not attempted: {halted.message}"
            for action in self.plan.actions:
                self._each(action, Outcome.SKIPPED, "not attempted: the session stopped")
            return self.report
        self._owe_link()
        for index, action in enumerate(self.plan.actions):
            if self.stop.reason is not None:  # told to stop: no action starts
                done = "finished" if index else "attempted"
                self.report.error = f"not {done}: {self.stop.reason}"
                self.report.interrupted = True
                for later in self.plan.actions[index:]:
                    self._each(later, Outcome.SKIPPED, f"not attempted: {self.stop.reason}")
                break
            reported = len(self.report.steps)
            try:
                await self.stop.bounded(self._action(action))
            except GroupctlError as exc:
                self.report.error = str(exc)
                self.report.interrupted = isinstance(exc, NotSentError | CutShortError)
                # What the action reported before it failed stands (an add answered before
                # its invite message was cut short); the rest of it gets this outcome.
                settled = {step.person for step in self.report.steps[reported:]}
                self._each(action, _outcome_of_failure(exc), str(exc), skip=settled)
                self.unsettled.update((action.kind, person) for person in action.members)
                self.unsettled.add((action.kind, None))  # a setting: the re-read settles it
                why = (
                    "the session stopped"
                    if isinstance(exc, SessionNotReadyError)
                    else self.stop.reason
                    if isinstance(exc, NotSentError | CutShortError) and self.stop.reason
                    else f"{action.kind.value} failed"
                )
                for later in self.plan.actions[index + 1 :]:
                    self._each(later, Outcome.SKIPPED, f"not attempted: {why}")
                break
        if self.needing_invite:  # waiting for a revocation that failed or was not made
            await self._invites()
        if not self._to_reread():
            return self.report
        if self.stop.cut_short:
            self.report.reread_error = f"not re-read: {self.stop.reason}"
            return self.report
        try:
            await self.stop.bounded(self._verify())
        except CutShortError as exc:
            self.report.reread_error = str(exc)
        return self.report

    def _owe_link(self) -> None:
        """Before removing anyone from a group whose link is then revoked: the revocation is
        owed, on disk, until it is made, so that a run cut short in between (even killed)
        leaves it to the next plan, and nobody removed keeps a working link."""
        kinds = {action.kind for action in self.plan.actions}
        if self.group_id is None or not {Kind.REMOVE, Kind.REVOKE_LINK} <= kinds:
            return
        self.state_file.owe_link(self.group_id)
        with contextlib.suppress(GroupctlError):  # the save after the group says so
            self.state_file.save()

    def _to_reread(self) -> bool:
        """Whether this run changed the group's people, subject or description, and so
        re-reads it (`_verify`)."""
        return self.group_id is not None and any(
            step.kind in VERIFIABLE and step.outcome not in UNCHECKED for step in self.report.steps
        )

    def _each(
        self, action: Action, outcome: Outcome, detail: str, *, skip: Set[Jid | None] = frozenset()
    ) -> None:
        """The same outcome for the action itself (a create, a setting) and every person in it
        (but those in `skip`: None stands for the action itself)."""
        if (
            action.kind not in PARTICIPANT_KINDS or action.kind == Kind.CREATE
        ) and None not in skip:
            self._step(action.kind, outcome, detail=detail)
        for person in action.members:
            if person not in skip:
                self._step(action.kind, outcome, person, detail)

    async def _action(self, action: Action) -> None:
        kind = action.kind
        if kind == Kind.CREATE:
            await self._create(action)
            await self._invites()
            return
        group = self.group_id
        assert group is not None, "every action after create has the new group's id"
        if kind == Kind.REVOKE_LINK:
            await self._revoke_link(group, action)
            return
        if kind == Kind.SUBJECT:
            await self.client.set_subject(group, action.new or "")
        elif kind == Kind.DESCRIPTION:
            await self.client.set_description(group, action.new or "")
        elif kind == Kind.PICTURE:
            await self._picture(group, action.new or "", action.fingerprint)
        elif kind == Kind.LEAVE:
            await self.client.leave_group(group)
            self.state_file.forget_group(group)
        elif kind == Kind.DELETE:
            await self.client.delete_group(group)
            self.state_file.forget_group(group)
        else:
            await self._people(group, action)
            if not self._revokes_link:  # else the link is sent once it is the new one
                await self._invites()
            return
        self._step(kind, Outcome.DONE, detail=action.new or "")

    @property
    def _revokes_link(self) -> bool:
        return any(action.kind == Kind.REVOKE_LINK for action in self.plan.actions)

    async def _revoke_link(self, group: Jid, action: Action) -> None:
        """Revoke the invite link. The people waiting to join by the old one (the action's)
        are given the new one: by message if the group sends it, else in the report; and so
        are those this run could not add."""
        code = await self.client.revoke_invite_code(group)
        self.state_file.record_link(group, self.now())
        self._step(Kind.REVOKE_LINK, Outcome.DONE, detail="the old invite link no longer works")
        link: str | None = None
        if action.members and not self.plan.links_disabled:
            try:  # the answer may not carry the new code: then it is read
                link = invite_link(code or await self.client.get_invite_code(group))
            except (GroupctlError, ValueError):
                link = None  # they are told to be sent it, without it
        for person in action.members:
            reason: str | None = NEEDS_INVITE
            outcome, more = Outcome.NEEDS_INVITE, ": send them the new link"
            if self.plan.links_disabled:
                more = ": the link is disabled (invite_link: disabled): invite them another way"
            if self.plan.invite_message is not None:
                outcome, reason, more = await self._send_link(
                    person, link, self.plan.invite_message
                )
            if reason is None:
                self.state_file.forget(group, person)
            else:
                self.state_file.record(group, person, reason, self.now())
            said = "they were waiting to join by the old link" + more
            self._step(Kind.REVOKE_LINK, outcome, person, said, invite_link=link)
        await self._invites()

    async def _create(self, action: Action) -> None:
        subject = action.new or ""
        meanwhile = await self._created_meanwhile(subject)
        if meanwhile is not None:
            self._bind(meanwhile, action)
            return
        try:
            created = await self.client.create_group(subject, action.members)
        except CreateUncertainError as exc:
            raise GroupctlError(f"{exc}") from None
        self.group_id = self.report.created = created.group.id
        self.state_file.record_link(created.group.id, self.now())  # rotations count from here
        self._step(Kind.CREATE, Outcome.DONE, detail=created.group.id)
        results = {r.jid: r for r in created.results}
        present = {p.jid for p in created.group.participants or ()} | {
            p.lid for p in created.group.participants or () if p.lid
        }
        absent = [p for p in action.members if p not in results and p not in present]
        stopped: str | None = None  # why they were not asked again, if a stop kept them
        if created.recovered and absent and created.group.participants is not None:
            try:
                results |= await self._asked_again(created.group.id, action, absent)
            except NotSentError as exc:
                stopped = exc.reason
        for person in action.members:
            result = results.get(person)
            if result is not None:
                self._person(Kind.ADD, person, result)
            elif person in present:
                self._step(Kind.CREATE, Outcome.DONE, person)
            elif stopped is not None:
                self.not_added[person] = Outcome.SKIPPED
                self._step(
                    Kind.CREATE,
                    Outcome.SKIPPED,
                    person,
                    f"not in the new group, and not asked again: {stopped}; the next plan adds"
                    " them",
                )
            else:  # the API said nothing of them, and they are not in the group
                self.not_added[person] = Outcome.FAILED
                self._step(
                    Kind.CREATE,
                    Outcome.FAILED,
                    person,
                    "not in the new group; the next plan adds them again",
                )

    async def _asked_again(
        self, group: Jid, action: Action, people: list[Jid]
    ) -> dict[Jid, ParticipantResult]:
        """WhatsApp's answer for `people`, who are not in a group whose create's answer was
        lost (it was found afterwards): with that answer went what WhatsApp said of each, and
        someone who needs an invite would be reported as failed, without the link. So they are
        asked once more, by an add, whose answers stand in for the lost ones. If that fails
        too, they stay failed, and the next plan adds them again."""
        addresses = action.addresses()
        targets = {person: addresses[person][0] for person in people}
        try:
            answered = {
                r.jid: r for r in await self.client.add_participants(group, list(targets.values()))
            }
        except NotSentError:
            raise  # the run is stopping: the create says so
        except GroupctlError as exc:
            log.warning("asking again the people a lost create did not bring in: %s", exc)
            return {}
        return {
            person: answered[found]
            for person, address in targets.items()
            for found in [next((a for a in (address, *addresses[person]) if a in answered), None)]
            if found is not None
        }

    async def _created_meanwhile(self, subject: str) -> Group | None:
        """A group named `subject` that appeared since the plan was made: one this session's
        account created since then, to bind to; GroupctlError for any other (the group is not
        created: a second group of that subject would make every later plan refuse it)."""
        appeared = sorted(g.id for g in await self.client.list_groups() if g.name == subject)
        if not appeared:
            return None
        if self.planned_at is not None:
            since = self.planned_at.timestamp()
            found = await self.client.own_group_created_since(subject, since)
            if found is not None:
                return found
        raise GroupctlError(
            f"a group named {subject!r} appeared since the plan was made"
            f" ({', '.join(appeared)}), not created by this session since then: not created"
            " again. Make a new plan: it matches that group, or says why it cannot"
        )

    def _bind(self, group: Group, action: Action) -> None:
        """Another run created the group since the plan: this run goes on with it."""
        self.group_id = group.id
        self._step(
            Kind.CREATE,
            Outcome.ALREADY,
            detail=f"{group.id}: created by another run since the plan was made; not created again",
        )
        present = {p.phone for p in group.participants or () if p.phone} | {
            p.lid for p in group.participants or () if p.lid
        }
        self.bound_to = frozenset(present)
        for person in action.members:
            self._left_to_the_other_run(Kind.CREATE, person)

    def _left_to_the_other_run(self, kind: Kind, person: Jid) -> None:
        assert self.bound_to is not None
        if person in self.bound_to:
            self._step(kind, Outcome.ALREADY, person, "in the group another run created")
            return
        self.not_added[person] = Outcome.SKIPPED
        self._step(
            kind,
            Outcome.SKIPPED,
            person,
            "not in the group another run created: not asked again by this run (that run"
            " asked them); the next plan shows whether they still need adding",
        )

    async def _picture(self, group: Jid, source: str, planned: str | None) -> None:
        """Upload the picture, and record what was uploaded: where Titan cannot show group
        pictures, the next plan goes by that record (see `engine.statefile`)."""
        if _is_url(source):
            await self.client.set_picture(group, url=source)  # Titan fetches it
            uploaded = planned  # as plan saw it: the URL is not read here
        else:
            path = picture_path(self.pictures, source)
            try:
                data = await asyncio.to_thread(path.read_bytes)
            except OSError as exc:
                raise GroupctlError(f"cannot read the picture {path}: {exc.strerror}") from None
            uploaded = fingerprint(data, source=source)
            if planned is not None and not same_picture(uploaded, planned):
                raise GroupctlError(
                    f"the picture {source} changed since the plan was made: make a new plan"
                )
            await self.client.set_picture(group, jpeg=normalize(data, source=source))
        if uploaded is not None:
            self.state_file.record_picture(group, uploaded, self.now())

    async def _people(self, group: Jid, action: Action) -> None:
        members = list(action.members)
        if action.kind == Kind.ADD and self.bound_to is not None:
            for person in members:
                self._left_to_the_other_run(action.kind, person)
            return
        if action.kind == Kind.PROMOTE:
            for person in [m for m in members if m in self.not_added]:
                members.remove(person)
                why = self.not_added[person]
                # Waiting for an invitation is not a failure: the next plan promotes them
                # once they are in. A failed add is already a failure of its own.
                waiting = (Outcome.INVITED, Outcome.NEEDS_INVITE, Outcome.LEFT_RECENTLY)
                outcome = why if why in waiting else Outcome.SKIPPED
                self._step(action.kind, outcome, person, "not in the group yet")
        if not members:
            return
        call = {
            Kind.ADD: self.client.add_participants,
            Kind.PROMOTE: self.client.promote_participants,
            Kind.DEMOTE: self.client.demote_participants,
            Kind.REMOVE: self.client.remove_participants,
        }[action.kind]
        addresses = action.addresses()

        async def send(targets: dict[Jid, Jid]) -> dict[Jid, ParticipantResult]:
            """Results by person, sent to `targets` (person -> the address to act on)."""
            answered = {r.jid: r for r in await call(group, list(targets.values()))}
            return {
                person: next(
                    (answered[a] for a in (address, *addresses[person]) if a in answered),
                    ParticipantResult(
                        jid=address, status=NOT_REPORTED, message="the API reported no result"
                    ),
                )
                for person, address in targets.items()
            }

        results = await send({person: addresses[person][0] for person in members})
        if action.kind != Kind.ADD:
            # Not found by one address: a group keyed by LID finds members by nothing else,
            # one keyed by number may not know the LID. Tried once more, by the other.
            again = {
                person: addresses[person][1]
                for person in members
                if results[person].status == ParticipantStatus.NOT_PARTICIPANT
                and len(addresses[person]) > 1
            }
            if again:
                results |= await send(again)
        for person in members:
            if results[person].status == NOT_REPORTED:
                self.unsettled.add((action.kind, person))
            self._person(action.kind, person, results[person])

    async def _verify(self) -> None:
        """Re-read the group once, if this run changed its people, subject or description,
        and check each step against it (`Step.verified`). A contradicted success is a failure
        (a 404 on remove while the group still lists them is not "already done"); a step
        whose outcome the API did not state is done if the group shows it. A re-read that
        fails leaves the steps unverified, and says why; it is never raised."""
        steps = self.report.steps
        if self.group_id is None or not self._to_reread():
            return
        try:
            group = await fetch_group(self.client, self.group_id, with_picture=False)
        except GroupctlError as exc:
            self.report.reread_error = str(exc)
            return
        self.report.reread, reread = True, Reread(group.state, self.named)
        known: dict[Jid, set[Jid]] = {}
        for action in self.plan.actions:
            for person, addresses in action.addresses().items():
                known.setdefault(person, set()).update(addresses)
        settings = {action.kind: action.new for action in self.plan.actions}
        for index, step in enumerate(steps):
            if step.kind not in VERIFIABLE or step.outcome in UNCHECKED:
                continue
            who = known.get(step.person, {step.person}) if step.person is not None else ()
            verdict = reread.verdict(step.kind, who, new=settings.get(step.kind))
            if verdict.as_planned is None:
                continue
            if not verdict.as_planned and step.outcome in (Outcome.DONE, Outcome.ALREADY):
                said = step.detail or f"WhatsApp answered {step.outcome.value}"
                detail = f"{said}, but {verdict.instead}"
                step = replace(step, outcome=Outcome.FAILED, detail=detail)
            elif (
                verdict.as_planned
                and step.outcome in (Outcome.FAILED, Outcome.UNKNOWN)
                and (step.kind, step.person) in self.unsettled
            ):
                step = replace(
                    step, outcome=Outcome.DONE, detail=f"{step.detail}; the group re-read shows it"
                )
            steps[index] = replace(step, verified=verdict.as_planned)
        if self.report.error is not None and all(step.outcome in SUCCESSES for step in steps):
            # The call that failed did its work after all, and nothing after it was skipped.
            self.report.error = None

    def _person(self, kind: Kind, person: Jid, result: ParticipantResult) -> None:
        outcome = outcome_of(kind, result)
        if kind in ADDS and self.group_id is not None:
            if outcome not in (Outcome.DONE, Outcome.ALREADY):
                self.not_added[person] = outcome
            if outcome == Outcome.NEEDS_INVITE:
                self.needing_invite.append((kind, person, result))
                return  # reported with the invite link, by `_invites`
            # 409 to an add the plan thought needed: they are here, under a LID nobody named.
            reason = {
                Outcome.INVITED: INVITED,
                Outcome.LEFT_RECENTLY: LEFT_RECENTLY,
                Outcome.ALREADY: HIDDEN,
            }.get(outcome)
            if reason is not None:
                self.state_file.record(self.group_id, person, reason, self.now())
            else:
                self.state_file.forget(self.group_id, person)
        self._step(kind, outcome, person, detail_of(kind, outcome, result))

    async def _invites(self) -> None:
        """Report everyone WhatsApp would not add for their privacy settings, with the group's
        invite link (read once), and send each the link by message if the group asks.

        Each is remembered, so that no plan adds them (or messages them) again before the
        wait is over; except when a message surely did not go out: the next run tries again.
        """
        pending, self.needing_invite = self.needing_invite, []
        group = self.group_id
        if not pending or group is None:
            return
        link, problem = None, ""
        if self.plan.links_disabled:
            problem = (
                "; the group's invite link is disabled (invite_link: disabled): invite them"
                " another way"
            )
        else:
            try:
                link = invite_link(await self.client.get_invite_code(group))
            except (GroupctlError, ValueError) as exc:
                problem = f"; the invite link could not be read: {exc}"
        self.report.invite_link = link
        for index, (kind, person, result) in enumerate(pending):
            detail = detail_of(kind, Outcome.NEEDS_INVITE, result) + problem
            outcome, more = Outcome.NEEDS_INVITE, ""
            reason: str | None = NEEDS_INVITE
            if self.plan.invite_message is not None:
                try:
                    outcome, reason, more = await self._send_link(
                        person, link, self.plan.invite_message
                    )
                except asyncio.CancelledError:  # cut short (a stop): say so, then go
                    self._link_cut_short(group, pending[index:], link)
                    raise
            if reason is None:
                self.state_file.forget(group, person)
            else:
                self.state_file.record(group, person, reason, self.now())
            self._step(kind, outcome, person, detail + more, invite_link=link)

    def _link_cut_short(
        self, group: Jid, pending: list[tuple[Kind, Jid, ParticipantResult]], link: str | None
    ) -> None:
        """The run was cut short while the first of `pending` was sent the invite link: it may
        have gone out, so it is remembered as sent (better than twice); the others were not
        sent it, and are not remembered, so that the next run sends it."""
        for number, (kind, person, result) in enumerate(pending):
            said = detail_of(kind, Outcome.NEEDS_INVITE, result)
            if number == 0:
                self.state_file.record(group, person, LINK_SENT, self.now())
                more, outcome = (
                    "; cut short while the invite link was sent: it may have gone out",
                    Outcome.UNKNOWN,
                )
            else:
                self.state_file.forget(group, person)
                more, outcome = (
                    "; the invite link was not sent by message: the run stopped",
                    Outcome.NEEDS_INVITE,
                )
            self._step(kind, outcome, person, said + more, invite_link=link)

    async def _send_link(
        self, person: Jid, link: str | None, template: str
    ) -> tuple[Outcome, str | None, str]:
        """Send `person` the invite link by message: their outcome, what to remember (None:
        nothing, so that the next run tries again), and what to add to the report."""
        if link is None:
            return Outcome.FAILED, None, ": not sent by message"
        text = invite_text(template, subject=self.plan.subject, link=link)
        try:
            await self.client.send_text(person, text)
        except NotSentError as exc:  # the run is stopping: the next run sends it
            return (
                Outcome.NEEDS_INVITE,
                None,
                f"; the invite link was not sent by message: {exc.reason}",
            )
        except GroupctlError as exc:
            if maybe_sent(exc):  # not sent again before the wait is over: better than twice
                return Outcome.UNKNOWN, LINK_SENT, f"; the message may have been sent: {exc}"
            return Outcome.FAILED, None, f"; the message with the invite link failed: {exc}"
        return Outcome.INVITED, LINK_SENT, "; the invite link was sent to them by message"

    def _step(
        self,
        kind: Kind,
        outcome: Outcome,
        person: Jid | None = None,
        detail: str = "",
        *,
        invite_link: str | None = None,
    ) -> None:
        step = Step(self.plan.key, kind, outcome, person, detail, invite_link=invite_link)
        self.report.steps.append(step)
        self.on_step(step)


def _outcome_of_failure(exc: GroupctlError) -> Outcome:
    """What became of an action whose call failed with `exc`: unknown when it may have been
    done anyway, skipped when it surely was not even sent, failed otherwise."""
    if isinstance(exc, NotSentError):
        if exc.earlier is None or surely_not_applied(exc.earlier):
            return Outcome.SKIPPED
        return Outcome.UNKNOWN
    if isinstance(exc, OutcomeUnknownError | CutShortError):
        return Outcome.UNKNOWN
    return Outcome.FAILED


def picture_path(root: Path | None, source: str) -> Path:
    """The picture file a plan names, which must be inside the config's directory `root`."""
    if root is None:
        raise PlanFileError(
            f"the plan names the picture {source}, and apply was given no config directory"
            " to find it in"
        )
    path = (root / source).resolve()
    if not path.is_relative_to(root):
        raise PlanFileError(
            f"the plan names the picture {source}, outside the config's directory {root}: refused"
        )
    return path


def _is_url(source: str) -> bool:
    # Titan fetches it, not groupctl: nothing on this machine is read for a URL.
    return source.startswith(("https://", "http://"))
