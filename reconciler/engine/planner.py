"""plan(desired, live, policy) -> Plan: what to change, in order, and what must never be done.

A pure function: no I/O, no clock, no printing. Groups are independent of each other; within a
group actions come in the order of `plan.Kind`: create, subject, description, picture, add,
promote, demote, remove, revoke the invite link, leave/delete, so that new admins are in place
before old ones go, the session keeps its own rights to the end, and the link dies only once
everyone removed is out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, replace
from datetime import datetime

from reconciler.core.groups import (
    LINK_SENT,
    NEEDS_INVITE,
    DesiredGroup,
    DesiredState,
    FetchedPicture,
    GroupState,
    LiveGroup,
    LiveState,
    LocalPicture,
    Member,
    Picture,
    UploadedPicture,
    Waiting,
    same_subject,
)
from reconciler.core.jid import Jid
from reconciler.core.limits import MAX_GROUP_SIZE, MAX_PARTICIPANTS_PER_CALL
from reconciler.core.pictures import same_picture
from reconciler.engine.matching import match_groups
from reconciler.engine.plan import Action, GroupPlan, Kind, Plan
from reconciler.util.wording import count


@dataclass(frozen=True, slots=True)
class PlanPolicy:
    """Choices made when planning, beyond the config."""

    remove_unresolved: bool = False  # remove LID-only participants nobody in the config names
    only: frozenset[str] = frozenset()  # plan only these group keys (all when empty)
    session: str = "default"
    api: str = ""
    config: str = ""  # the config's path, as given: recorded in the plan
    shard: str = ""  # "K/N" for a run of one shard (--shard): recorded in the plan


def plan(
    desired: DesiredState,
    live: LiveState,
    policy: PlanPolicy = PlanPolicy(),
    waiting: Mapping[Jid, Mapping[Jid, Waiting]] | None = None,
    *,
    links_made: Mapping[Jid, datetime] | None = None,
    links_owed: Set[Jid] = frozenset(),
    keys: Mapping[Jid, str] | None = None,
    now: datetime | None = None,
) -> Plan:
    """The plan for `desired` against `live`. `waiting`: by group id, people not to add again
    yet, and why (invited, needing an invite, or left recently: see `engine.statefile`).
    `links_made`: by group id, when apply last made its invite link (revoked, or created the
    group), which invite_link's rotate_every is counted from; `links_owed`: groups whose
    link an apply that removed people did not get to revoke; rotations are planned only
    with `now` (the planner has no clock of its own). `keys`: by group id, the config's key
    apply last ran it under, which tells a renamed key (previously:) from a new group."""
    matching = match_groups(desired, live.listed)
    groups: list[GroupPlan] = []
    for group in desired.groups:
        if policy.only and group.key not in policy.only:
            continue
        if group.key in matching.errors:
            groups.append(_refused(group, None, [matching.errors[group.key]]))
            continue
        group_id = matching.bound[group.key]
        renamed = _renamed(group, group_id, keys or {}, live)
        found = live.groups.get(group_id) if group_id is not None else None
        if group_id is not None and found is None:  # never planned as a new group
            groups.append(_refused(group, None, [f"the details of {group_id} were not read"]))
            continue
        if group.broken_rules:  # the config breaks its own policy: nothing is done to it
            groups.append(_refused(group, found, [f"policy: {b}" for b in group.broken_rules]))
            continue
        pending = (waiting or {}).get(group_id, {}) if group_id is not None else {}
        link_made = (links_made or {}).get(group_id) if group_id is not None else None
        owed = group_id in links_owed
        planned = _GroupPlanner(
            group, found, live, policy, desired.directory, pending, (link_made, owed), now
        ).plan()
        if renamed and planned.actions:
            planned = replace(planned, notes=(renamed, *planned.notes))
        if planned.actions or planned.errors or planned.notes:
            groups.append(
                replace(
                    planned,
                    max_removals=group.policy.max_removals,
                    max_removal_percent=group.policy.max_removal_percent,
                    max_demotions=group.policy.max_demotions,
                    max_adds=group.policy.max_adds,
                    invite_message=group.policy.invite_message,
                    links_disabled=group.policy.links_disabled,
                )
            )
    return Plan(
        groups=tuple(groups),
        unmanaged=matching.unmanaged,
        session=policy.session,
        api=policy.api,
        directory=desired.directory,
        config=policy.config,
        shard=policy.shard,
    )


def _renamed(
    group: DesiredGroup, group_id: Jid | None, keys: Mapping[Jid, str], live: LiveState
) -> str | None:
    """What the plan says of a group whose key was renamed (previously:): the live group it
    is, or the one it no longer finds (bound by subject, and the subject changed too)."""
    if not group.previously:
        return None
    if group_id is not None:
        was = keys.get(group_id)
        if was is not None and was != group.key and was in group.previously:
            return f"renamed from {was!r}: what groupctl remembers of the group stays with it"
        return None
    lost = [(gid, key) for gid, key in keys.items() if key in group.previously]
    subjects = {entry.id: entry.subject for entry in live.listed}
    for gid, key in lost:
        if gid in subjects:
            return (
                f"{key!r}, its key before, was the live group {gid} ({subjects[gid]!r}), which"
                " its subject no longer finds: this plan creates a new group and leaves that one"
                f" unmanaged. To rename it instead, add id: '{gid}' to the entry"
            )
    return None


class _GroupPlanner:
    def __init__(
        self,
        desired: DesiredGroup,
        live: LiveGroup | None,
        world: LiveState,
        policy: PlanPolicy,
        directory: Mapping[Jid, str],
        waiting: Mapping[Jid, Waiting],
        link: tuple[datetime | None, bool] = (None, False),
        now: datetime | None = None,
    ) -> None:
        self.desired = desired
        self.link_made, self.link_owed = link  # when apply made its link; a revocation owed
        self.now = now
        self.live = live
        self.world = world
        self.policy = policy
        self.directory = directory
        self.waiting = waiting
        self.errors: list[str] = []
        self.notes: list[str] = []

    def plan(self) -> GroupPlan:
        desired = self.desired
        if desired.policy.ensure == "absent":
            return self._absent()
        seats = 1 + sum(1 for jid in desired.state.members if not self._is_me(jid))
        if seats > MAX_GROUP_SIZE:  # the session's own seat counts too
            return _refused(
                desired,
                self.live,
                [
                    f"it would have {seats} members with the session's own account, and"
                    f" WhatsApp allows at most {MAX_GROUP_SIZE}: list at most"
                    f" {MAX_GROUP_SIZE - 1} people besides the session"
                ],
            )
        planned = self._create() if self.live is None else self._update(self.live)
        if planned.errors:
            return planned
        short, notes = self._admins_after(planned.actions)
        if short is not None:
            return _refused(desired, self.live, [short], planned.notes)
        planned = replace(planned, notes=(*planned.notes, *notes))
        return replace(planned, actions=tuple(self._with_addresses(a) for a in planned.actions))

    def _admins_after(self, actions: Iterable[Action]) -> tuple[str | None, list[str]]:
        """Against the group's min_admins, the session not counted: why demoting or
        removing admins would leave it fewer (the group is then refused), or else a note
        when it will have fewer all the same (nobody losing their rights).

        Only people in the group already count among the admins the plan promotes for the
        refusal: one it adds may not be let in (privacy settings), and the removals would go
        ahead all the same. The note counts them all."""
        least = self.desired.policy.min_admins
        if not least:
            return None, []
        members = self.live.state.members if self.live is not None else {}
        before = {jid for jid, member in members.items() if member.admin and not self._is_me(jid)}
        sure, hoped = set(before), set(before)
        for action in actions:
            if action.kind == Kind.PROMOTE:
                promoted = [jid for jid in action.members if not self._is_me(jid)]
                sure.update(jid for jid in promoted if jid in members)
                hoped.update(promoted)
            elif action.kind in (Kind.DEMOTE, Kind.REMOVE):
                sure.difference_update(action.members)
                hoped.difference_update(action.members)
        if before - sure and len(sure) < least:
            return (
                f"it would leave {count(len(sure), 'admin')} besides the session, fewer than"
                f" its min_admins: {least}: list more people in admins: (people who join with"
                " this apply count once they are in: make them admins first, then let the"
                " others go)"
            ), []
        if len(hoped) >= least:
            return None, []
        return None, [
            f"it has {count(len(hoped), 'admin')} besides the session (those this plan"
            f" promotes included), fewer than its min_admins: {least}: list more people in"
            " admins:, so that the group is not lost with the session's number"
        ]

    # -- the three cases -------------------------------------------------------------------

    def _create(self) -> GroupPlan:
        state = self.desired.state
        if state.picture is not None and state.picture in self.world.picture_problems:
            return _refused(self.desired, None, [self.world.picture_problems[state.picture]])
        others = sorted(jid for jid in state.members if not self._is_me(jid))
        first, rest = others[:MAX_PARTICIPANTS_PER_CALL], others[MAX_PARTICIPANTS_PER_CALL:]
        actions = [Action(Kind.CREATE, tuple(first), new=state.subject)]
        if state.description:
            actions.append(Action(Kind.DESCRIPTION, old="", new=state.description))
        if state.picture is not None:
            actions.append(
                Action(
                    Kind.PICTURE,
                    new=_source(state.picture),
                    fingerprint=self.world.pictures.get(state.picture),
                )
            )
        actions += _batched(Kind.ADD, rest)
        admins = sorted(jid for jid in state.admins if not self._is_me(jid))
        actions += _batched(Kind.PROMOTE, admins)
        return GroupPlan(self.desired.key, state.subject, None, tuple(actions))

    def _absent(self) -> GroupPlan:
        live, policy = self.live, self.desired.policy
        if live is None:
            return GroupPlan(self.desired.key, self.desired.state.subject, None)
        if policy.protect:
            return _refused(
                self.desired,
                live,
                [
                    "it is protect: true, so it is never left or deleted: remove protect:,"
                    " or set ensure: present"
                ],
            )
        mine = self._my_standing(live.state)
        if policy.absent_action == "delete":
            if not (mine and mine.super_admin):
                return _refused(
                    self.desired,
                    live,
                    [
                        "only its creator can delete it, and the session is not: use"
                        " absent_action: leave"
                    ],
                )
            kept = sorted(
                self._name(jid) for jid in live.state.members if jid in self.desired.never_remove
            )
            if kept:
                return _refused(
                    self.desired,
                    live,
                    [
                        f"policy: deleting it would remove {', '.join(kept)}, who may never be"
                        " removed from it (never_remove): use absent_action: leave"
                    ],
                )
            action = Action(Kind.DELETE)
        else:
            others = [m for jid, m in live.state.members.items() if not self._is_me(jid)]
            if others and mine and mine.admin and not any(m.admin for m in others):
                return _refused(
                    self.desired,
                    live,
                    [
                        "the session is its only admin; leaving would leave it without one:"
                        " make someone else admin first"
                    ],
                )
            action = Action(Kind.LEAVE)
        return GroupPlan(
            self.desired.key,
            live.state.subject,
            live.id,
            (action,),
            live=live,
            members_before=len(live.state.members),
        )

    def _update(self, live: LiveGroup) -> GroupPlan:
        desired, now = self.desired.state, live.state
        actions: list[Action] = []
        if same_subject(desired.subject) != same_subject(now.subject):
            actions.append(Action(Kind.SUBJECT, old=now.subject, new=desired.subject))
        if desired.description is not None and desired.description != (now.description or ""):
            actions.append(
                Action(Kind.DESCRIPTION, old=now.description or "", new=desired.description)
            )
        if desired.picture is not None and desired.picture in self.world.picture_problems:
            self.errors.append(self.world.picture_problems[desired.picture])
        elif desired.picture is not None and not self._same_picture(live):
            actions.append(
                Action(
                    Kind.PICTURE,
                    new=_source(desired.picture),
                    fingerprint=self.world.pictures.get(desired.picture),
                )
            )
        actions += self._members(live)
        kept = sorted(
            self._name(jid)
            for action in actions
            if action.kind == Kind.REMOVE
            for jid in action.members
            if jid in self.desired.never_remove
        )
        if kept:
            self.errors.append(
                f"policy: {', '.join(kept)} may never be removed from this group"
                " (never_remove): list them, or change the rule"
            )
        mine = self._my_standing(now)
        revoke = self._link_revocation(actions)
        if revoke is not None and (actions or revoke.new != "rotation" or (mine and mine.admin)):
            actions.append(revoke)
        elif revoke is not None:  # a rotation alone, which the session cannot make
            self.notes.append(
                "its invite link is due for rotation (invite_link), but the session's account"
                " is not an admin of this group, so it cannot revoke it"
            )
        if actions and not (mine and mine.admin):
            self.errors.append(
                "the session's account is not an admin of this group, so it cannot change"
                " it: make it an admin, or stop managing the group here"
            )
        if any(a.kind == Kind.DEMOTE for a in actions) and not (mine and mine.super_admin):
            self.errors.append(
                "only the group's creator can demote admins, and the session is not its"
                " creator: list those admins in admins:, or use members_policy: additive"
            )
        if self.errors:
            return _refused(self.desired, live, self.errors, self.notes)
        return GroupPlan(
            self.desired.key,
            desired.subject,
            live.id,
            tuple(actions),
            notes=tuple(self.notes),
            live=live,
            members_before=len(now.members),
        )

    def _link_revocation(self, actions: Iterable[Action]) -> Action | None:
        """The group's invite link to revoke: after this plan's removals (so that those
        removed cannot walk back in by it), or because its rotation is due."""
        policy = self.desired.policy
        made = self.link_made.isoformat() if self.link_made is not None else None
        # Who holds the link now, waiting to join by it: they are given the new one.
        holders = tuple(
            sorted(p for p, w in self.waiting.items() if w.reason in (LINK_SENT, NEEDS_INVITE))
        )
        if policy.revoke_on_removal and any(a.kind == Kind.REMOVE for a in actions):
            return Action(Kind.REVOKE_LINK, holders, old=made, new="removal")
        if policy.revoke_on_removal and self.link_owed:
            return Action(Kind.REVOKE_LINK, holders, old=made, new="owed")
        every = policy.rotate_links_every
        if every is None or self.now is None:
            return None
        if self.link_made is None or self.now - self.link_made >= every:
            return Action(Kind.REVOKE_LINK, holders, old=made, new="rotation")
        return None

    # -- members ---------------------------------------------------------------------------

    def _members(self, live: LiveGroup) -> list[Action]:
        """Add, promote, demote, remove, by set arithmetic on addresses and admin sets (most
        people match under the same address); LIDs settle what is left over on both sides."""
        desired, now = self.desired.state, live.state
        exact = self.desired.policy.members_policy == "exact"
        missing = {j for j in desired.members.keys() - now.members.keys() if not self._is_me(j)}
        extra = now.members.keys() - desired.members.keys()
        promote = sorted((desired.admins - now.admins) & now.members.keys())
        demote: list[Jid] = []
        mine = self._my_standing(now)
        as_member = [j for j in desired.members if self._is_me(j) and j not in desired.admins]
        if exact and as_member and mine is not None and mine.admin:
            # By its number or by its LID alike: the session keeps its rights to the end.
            self.errors.append(
                "the config lists the session's own account as a plain member;"
                " groupctl never demotes itself"
            )
        if exact:
            for address in sorted((now.admins - desired.admins) & desired.members.keys()):
                self._demote(address, now.members[address], demote)
        waited_for = missing & self.waiting.keys()
        for jid in sorted(waited_for):
            missing.discard(jid)  # not yet: it would be refused again, or invite them twice
            self.notes.append(f"{self._name(jid)}: {self.waiting[jid].describe()}")
        if missing and extra:
            for address, desired_address in self._match_by_lid(missing, extra, now.members):
                standing, admin = now.members[address], desired_address in desired.admins
                if admin and not standing.admin:
                    promote.append(address)
                elif standing.admin and not admin and exact:
                    self._demote(address, standing, demote)
        promote += sorted(desired.admins & missing)  # once added: before old admins go
        # Who is who cannot always be told: someone listed by LID alone may be any participant
        # whose LID the API did not give, and someone listed by number whose LID is unknown
        # (or whom WhatsApp said is here, unseen) may be any participant shown by LID alone.
        # Those participants are never removed.
        unplaced = missing | waited_for
        by_lid_only = any(j.is_lid for j in unplaced)
        by_number_only = any(j.is_phone and desired.members[j].lid is None for j in unplaced)
        remove: list[Jid] = []
        for address in sorted(extra):
            standing = now.members[address]
            # A LID that people: gives to someone is that person, whoever else is unplaced.
            maybe = (by_lid_only and address.is_phone and standing.lid is None) or (
                by_number_only and address.is_lid and address not in self.directory
            )
            if maybe and exact and not self._is_me(address):
                self.notes.append(
                    f"{self._name(address)} is kept: they may be someone the config lists"
                    " whom WhatsApp shows here by another address"
                )
                continue
            self._not_in_config(address, standing, remove, exact)
        # No check that an admin remains is needed here: a group is changed only by an admin
        # session, and the session never demotes or removes itself.
        return [
            *_batched(Kind.ADD, sorted(missing)),
            *_batched(Kind.PROMOTE, sorted(promote)),
            *_batched(Kind.DEMOTE, demote),
            *_batched(Kind.REMOVE, remove),
        ]

    def _match_by_lid(
        self, missing: set[Jid], extra: set[Jid], now: Mapping[Jid, Member]
    ) -> list[tuple[Jid, Jid]]:
        """Pairs (live address, desired address) of the same person under two addresses: a
        phone in one, its LID in the other. Matched ones leave `missing` and `extra`."""
        wanted = self.desired.state.members
        by_lid = {member.lid: jid for jid, member in now.items() if member.lid is not None}
        pairs = []
        for jid in sorted(missing):
            lid = wanted[jid].lid
            found = by_lid.get(jid) or (by_lid.get(lid) if lid else None)
            if found is None and lid is not None and lid in extra:
                found = lid
            if found is None or found not in extra:
                continue
            if jid.is_phone and found.is_phone:  # two numbers, one LID: a mistake somewhere
                self.errors.append(
                    f"{self._name(jid)} has the LID {lid} in the config, but in this group"
                    f" that LID is {found.display()}: check people: for a wrong lid:"
                )
                continue
            pairs.append((found, jid))
            missing.discard(jid)
            extra.discard(found)
        return pairs

    def _demote(self, address: Jid, standing: Member, demote: list[Jid]) -> None:
        if self._is_me(address):
            return  # refused in `_members`, whichever of its addresses the config lists
        if standing.super_admin:
            self.errors.append(
                f"{self._name(address)} created the group and cannot be"
                " demoted: list them in admins:"
            )
        else:
            demote.append(address)

    def _not_in_config(
        self, address: Jid, standing: Member, remove: list[Jid], exact: bool
    ) -> None:
        if self._is_me(address) or not exact:
            return  # the session stays; additive never removes
        if address.is_lid and address not in self.directory and not self.policy.remove_unresolved:
            self.notes.append(
                f"{address} is in the group but WhatsApp hides their number and"
                " the config names no one with this LID: kept (give them a lid:"
                " under people:, or plan with --remove-unresolved)"
            )
        elif standing.super_admin:
            self.errors.append(
                f"{self._name(address)} created the group and cannot be"
                " removed: add them to members, or use members_policy: additive"
            )
        else:
            remove.append(address)

    # -- helpers ---------------------------------------------------------------------------

    def _with_addresses(self, action: Action) -> Action:
        """The action with both addresses of the members who have two (see `Action.addresses`).
        A revoke_link's members are sent a message, by the address they were recorded by."""
        if action.kind == Kind.REVOKE_LINK:
            return action
        via = tuple(
            (member, addresses)
            for member in action.members
            if len(addresses := self._addresses(member)) > 1
        )
        return replace(action, via=via) if via else action

    def _addresses(self, jid: Jid) -> tuple[Jid, ...]:
        live = self.live.state.members.get(jid) if self.live is not None else None
        if live is not None and live.lid is not None:
            return (live.lid, jid)  # as the live group shows them: by the LID first
        wanted = self.desired.state.members.get(jid)
        if wanted is not None and wanted.lid is not None and wanted.lid != jid:
            return (jid, wanted.lid)
        return (jid,)

    def _same_picture(self, live: LiveGroup) -> bool:
        desired = self.desired.state.picture
        wanted = self.world.pictures.get(desired) if desired is not None else None
        if wanted is None:
            return True  # not compared: nothing to decide on
        if live.picture_unreadable:
            return self._same_as_uploaded(live.uploaded, wanted)
        if not live.picture_known:
            return True  # not read: nothing to decide on
        current = live.state.picture
        return isinstance(current, FetchedPicture) and same_picture(wanted, current.fingerprint)

    def _same_as_uploaded(self, uploaded: UploadedPicture | None, wanted: str) -> bool:
        """Where Titan cannot show the group's picture, the state file's record of the last
        one apply uploaded decides; a plan that uploads on its word says so."""
        if uploaded is not None and same_picture(wanted, uploaded.fingerprint):
            return True
        record = (
            f"it records another picture, uploaded on {uploaded.at:%Y-%m-%d %H:%M UTC}"
            if uploaded is not None
            else "it records no picture uploaded to this group"
        )
        self.notes.append(
            f"picture: Titan cannot show the live picture, so the state file decides, and"
            f" {record} (a picture changed by hand in WhatsApp goes unseen)"
        )
        return False

    def _is_me(self, jid: Jid) -> bool:
        return jid in (self.world.me, self.world.me_lid)

    def _my_standing(self, state: GroupState) -> Member | None:
        mine = state.members.get(self.world.me)
        if mine is None and self.world.me_lid is not None:
            mine = state.members.get(self.world.me_lid)
        return mine

    def _name(self, jid: Jid) -> str:
        name = self.directory.get(jid)
        return f"{name} ({jid.display()})" if name else jid.display()


def _refused(
    group: DesiredGroup, live: LiveGroup | None, errors: list[str], notes: Iterable[str] = ()
) -> GroupPlan:
    subject = live.state.subject if live is not None else group.state.subject
    return GroupPlan(
        group.key,
        subject,
        live.id if live else None,
        errors=tuple(errors),
        notes=tuple(notes),
        live=live,
        members_before=len(live.state.members) if live else 0,
    )


def _batched(kind: Kind, jids: list[Jid]) -> list[Action]:
    size = MAX_PARTICIPANTS_PER_CALL
    return [Action(kind, tuple(jids[i : i + size])) for i in range(0, len(jids), size)]


def _source(picture: Picture) -> str:
    """How a plan names a picture: its URL, or the path the config resolved for it."""
    if isinstance(picture, LocalPicture):
        return picture.shown or str(picture.path)
    return getattr(picture, "url", "")
