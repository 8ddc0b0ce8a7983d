"""The plan file: a plan as versioned JSON, sealed so that `apply PLANFILE` can trust it or refuse
it. The seal is keyed from the API key (see `checksum`); nothing else of a plan ever sees it.

Version 2 seals when the plan was made and the hashes of the config files it was made from, so
that apply can refuse a plan that is old, of another config, or applied before (see
`reconciler.engine.validity`); a version 1 file says neither, and is refused."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

import pydantic

from reconciler.core.jid import jid_from_api
from reconciler.core.limits import MAX_PARTICIPANTS_PER_CALL as MAX_PER_CALL
from reconciler.engine.plan import GroupPlan, Kind, Plan
from reconciler.errors import PlanFileError
from reconciler.util.untrusted import repr_shown

FORMAT_VERSION = 2


def data(plan: Plan, *, key: str | None = None, bundle: Sequence[str] = ()) -> dict[str, Any]:
    """The plan as JSON-able data, sealed with a checksum of everything else in it: an
    HMAC keyed from the API `key` when there is one (see `checksum`). Its directory names
    the people of its actions and snapshots (to say who changed, if any did). `bundle`: the
    sessions of the file of several sessions' plans it is one of, sealed in with it, so that
    it is never applied out of that file."""
    groups = [group.to_json() for group in plan.groups]
    people = {
        jid
        for g in plan.groups
        for a in g.actions
        for addresses in a.addresses().values()
        for jid in addresses
    }
    people |= {
        address
        for group in groups
        for member in (group["snapshot"] or {}).get("members", ())
        for address in member[:2]
        if address
    }
    body: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "session": plan.session,
        "api": plan.api,
        "config": plan.config,
        "created": plan.created.isoformat() if plan.created is not None else None,
        "config_files": dict(sorted(plan.config_files.items())),
        "summary": plan.summary.sentence(),
        "counts": plan.summary.counts(),
        "unmanaged": plan.unmanaged,
        "directory": {jid: plan.directory[jid] for jid in sorted(people) if jid in plan.directory},
        "groups": groups,
        "safety": {"brakes": list(plan.brakes), "forced": plan.forced},
    }
    if plan.limits:
        body["safety"]["limits"] = dict(sorted(plan.limits.items()))
    if plan.shard:
        body["shard"] = plan.shard
    if bundle:
        body["bundle"] = sorted(bundle)
    return {**body, "checksum": checksum(body, key=key)}


def dumps(plan: Plan, *, key: str | None = None) -> str:
    """The plan file's text (see `data`)."""
    return json.dumps(data(plan, key=key), indent=2, ensure_ascii=False)


def loads(text: str, *, source: str = "the plan file", key: str | None = None) -> Plan:
    """Read a plan file, refusing one that is not exactly as it was made (with `key`, the
    API key apply uses: a plan sealed without one, or with another, is refused too)."""
    found = _json(text, source)
    if "bundle" in found:
        raise PlanFileError(
            f"{source} is one session's plan of a file of several sessions' plans: it is"
            " applied with the others, in that file, or not at all"
        )
    return _loads(found, source=source, key=key, check_seal=True)


def loads_for_review(
    text: str, *, source: str = "the plan file", key: str | None = None
) -> tuple[Plan, bool]:
    """Read a plan file to show it (`groupctl show`): its seal checked where it can be (a plan
    sealed with an API key, when `key` is given; one sealed without, always), and whether it
    was. A reviewer without the key still sees the plan; apply checks the seal whatever."""
    found = _json(text, source)
    keyed = str(found.get("checksum", "")).startswith("hmac-sha256:")
    check = key is not None or not keyed
    return _loads(found, source=source, key=key, check_seal=check), check


def _json(text: str, source: str) -> dict[str, Any]:
    try:
        found = json.loads(text)
    except ValueError as exc:
        raise PlanFileError(f"{source} is not JSON: {exc}") from None
    if not isinstance(found, dict):
        raise PlanFileError(f"{source} is not a groupctl plan")
    return found


def _loads(found: dict[str, Any], *, source: str, key: str | None, check_seal: bool) -> Plan:
    version = found.get("format_version")
    if version == 1:
        raise PlanFileError(
            f"{source} was made by an older groupctl (format version 1), which sealed neither"
            " when the plan was made nor the config it was made from, so it cannot be checked"
            " for age or replay: make a new plan"
        )
    if version != FORMAT_VERSION:
        raise PlanFileError(
            f"{source} has format version {version!r}; this groupctl reads"
            f" version {FORMAT_VERSION}: make a new plan"
        )
    body = {name: value for name, value in found.items() if name != "checksum"}
    if check_seal and found.get("checksum") != checksum(body, key=key):
        sealed = str(found.get("checksum", ""))
        if key is not None and sealed.startswith("sha256:"):
            why = "it was made without an API key, and apply has one"
        elif key is None and sealed.startswith("hmac-sha256:"):
            why = "it was made with an API key: apply with the same key"
        elif sealed.startswith("hmac-sha256:"):
            why = "it was changed after it was made, or made with another API key"
        else:
            why = "it was changed after it was made"
        raise PlanFileError(f"{source} is refused: {why}. Make a new plan.")
    try:
        _PlanFile.model_validate(found)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise PlanFileError(
            f"{source} is not a valid groupctl plan: {where}: {first['msg']}"
        ) from None
    try:
        groups = tuple(GroupPlan.from_json(group) for group in found["groups"])
        directory = {jid_from_api(jid): name for jid, name in found["directory"].items()}
        return Plan(
            groups=groups,
            unmanaged=found["unmanaged"],
            session=found["session"],
            api=found["api"],
            config=found["config"],
            directory=directory,
            brakes=tuple(found["safety"]["brakes"]),
            forced=found["safety"]["forced"],
            limits=found["safety"].get("limits", {}),
            created=_created(found["created"]),
            config_files=found["config_files"],
            checksum=found["checksum"],
            shard=found.get("shard", ""),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanFileError(f"{source} is not a valid groupctl plan ({exc})") from None


def _created(value: str | None) -> datetime | None:
    if value is None:
        return None
    created = datetime.fromisoformat(value)  # a ValueError: the plan file is refused
    if created.tzinfo is None:
        raise ValueError(f"created: {value!r} has no time zone")
    return created


class _File(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", strict=True)


class _ActionFile(_File):
    kind: Literal[tuple(kind.value for kind in Kind)]  # type: ignore[valid-type]
    members: list[str] = pydantic.Field(default_factory=list, max_length=MAX_PER_CALL)
    via: dict[str, list[str]] = pydantic.Field(default_factory=dict, max_length=MAX_PER_CALL)
    old: str | None = None
    new: str | None = None
    fingerprint: str | None = None


class _GroupFile(_File):
    key: str
    subject: str
    group_id: str | None
    actions: list[_ActionFile]
    errors: list[str]
    notes: list[str]
    snapshot: dict[str, Any] | None
    fingerprint: str | None
    members_before: int = pydantic.Field(ge=0)
    max_removals: int | None = pydantic.Field(ge=0)
    max_removal_percent: float | int | None = pydantic.Field(ge=0, le=100)
    max_demotions: int | None = pydantic.Field(default=None, ge=0)
    max_adds: int | None = pydantic.Field(default=None, ge=0)
    invite_message: str | None = None


class _SafetyFile(_File):
    brakes: list[str]
    forced: bool
    limits: dict[str, Annotated[float, pydantic.Field(ge=0)]] = {}


class _PlanFile(_File):
    """The shape of a plan file: checked before anything in it is used."""

    format_version: int
    session: str
    api: str
    config: str
    created: str | None
    config_files: dict[str, Annotated[str, pydantic.StringConstraints(pattern="^[0-9a-f]{64}$")]]
    summary: str
    counts: dict[str, Annotated[int, pydantic.Field(ge=0)]] = {}  # plans made before: none
    unmanaged: int = pydantic.Field(ge=0)
    directory: dict[str, str]
    groups: list[_GroupFile]
    safety: _SafetyFile
    bundle: list[str] | None = None  # the sessions of the file of plans it is one of
    shard: Annotated[str, pydantic.StringConstraints(pattern="^[0-9]{1,4}/[0-9]{1,4}$")] = ""
    checksum: str


def checksum(body: Mapping[str, Any], *, key: str | None = None) -> str:
    """The seal of a plan file. With the API key, an HMAC-SHA256 under a key derived from it:
    whoever can change a plan file between review and apply cannot make a valid one without
    the API key (and the HMAC reveals nothing of it). Without a key (the simulator), a plain
    SHA-256, which catches mistakes, not forgers."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if key:
        secret = hashlib.sha256(f"groupctl plan seal, v1: {key}".encode()).digest()
        return "hmac-sha256:" + hmac.new(secret, canonical.encode(), hashlib.sha256).hexdigest()
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


# -- several sessions: one file of their plans -----------------------------------------------


def bundle_dumps(plans: Sequence[Plan], *, key: str | None = None) -> str:
    """The plan file of a run over several sessions: each session's plan, sealed as its own
    file is, and a seal over those seals, so that no session's plan can be dropped, swapped
    or added without the file being refused."""
    names = [plan.session for plan in plans]
    inner = {plan.session: data(plan, key=key, bundle=names) for plan in plans}
    seals = {name: plan["checksum"] for name, plan in inner.items()}
    body = {"format_version": FORMAT_VERSION, "sessions": seals}
    return json.dumps(
        {"format_version": FORMAT_VERSION, "sessions": inner, "checksum": checksum(body, key=key)},
        indent=2,
        ensure_ascii=False,
    )


def plans_for_review(
    text: str, *, source: str = "the plan file", key: str | None = None
) -> tuple[list[Plan], bool]:
    """The plan of a plan file, or each plan of a file of several sessions', to show them,
    and whether their seals were checked (see `loads_for_review`)."""
    if not is_bundle(text):
        plan, checked = loads_for_review(text, source=source, key=key)
        return [plan], checked
    keyed = str(_json(text, source).get("checksum", "")).startswith("hmac-sha256:")
    return bundle_loads(text, source=source, key=key, review=True), key is not None or not keyed


def is_bundle(text: str) -> bool:
    """Whether a plan file's text is of several sessions (see `bundle_dumps`)."""
    try:
        found = json.loads(text)
    except ValueError:
        return False
    return isinstance(found, dict) and "sessions" in found and "groups" not in found


def bundle_loads(
    text: str, *, source: str = "the plan file", key: str | None = None, review: bool = False
) -> list[Plan]:
    """The plans of a file of several sessions, each checked as `loads` checks one (`review`:
    as `loads_for_review` does), and the file's own seal over theirs."""
    found = _json(text, source)
    sessions = found.get("sessions")
    if not isinstance(sessions, dict) or not sessions:
        raise PlanFileError(f"{source} is not a groupctl plan of several sessions")
    if found.get("format_version") != FORMAT_VERSION:
        raise PlanFileError(
            f"{source} has format version {found.get('format_version')!r}; this groupctl"
            f" reads version {FORMAT_VERSION}: make a new plan"
        )
    seals = {
        name: plan.get("checksum") if isinstance(plan, dict) else None
        for name, plan in sessions.items()
    }
    keyed = str(found.get("checksum", "")).startswith("hmac-sha256:")
    check = not review or key is not None or not keyed
    body = {"format_version": found.get("format_version"), "sessions": seals}
    if check and found.get("checksum") != checksum(body, key=key):
        raise PlanFileError(
            f"{source} is not as it was made: its seal does not match its sessions' plans"
            " (or it was sealed with another API key)"
        )
    plans = []
    for name, plan in sessions.items():
        if not isinstance(plan, dict):
            raise PlanFileError(f"{source}: session {name!r} has no plan")
        one = _loads(plan, source=f"{source}, session {name!r}", key=key, check_seal=check)
        if one.session != name:
            raise PlanFileError(f"{source}: the plan under {name!r} is of session {one.session!r}")
        if plan.get("bundle") != sorted(sessions):
            raise PlanFileError(f"{source}: the plan under {name!r} was made in another file")
        plans.append(one)
    return plans


# -- several plan files, shown together: the shards of a CI matrix -----------------------------


def several_for_review(
    files: Sequence[tuple[str, str]], *, key: str | None = None
) -> tuple[list[Plan], list[str]]:
    """The plans of several plan files (each of one plan, or of several sessions'), to show
    together, as the plans of a CI matrix's shards are in one pull request comment: sorted by
    session and shard, each checked as `plans_for_review` checks it; and the files whose
    seals could not be checked. Refused: plans made from different configs, two plans of one
    session and shard (a file given twice, an old job's), and shards of one session split in
    different numbers, or beside a plan of all of its groups: those would show a group twice,
    or a stale plan beside the current one."""
    found: list[tuple[str, Plan]] = []
    unchecked: list[str] = []
    for source, text in files:
        plans, checked = plans_for_review(text, source=source, key=key)
        found += [(source, plan) for plan in plans]
        unchecked += [] if checked else [source]
    configs = {json.dumps(dict(sorted(p.config_files.items()))) for _, p in found}
    if len(configs) > 1:
        raise PlanFileError(
            f"{', '.join(dict.fromkeys(s for s, _ in found))}: these plans were made from"
            " different configs (another commit, or a config changed between jobs): show the"
            " plans of one run"
        )
    splits: dict[str, tuple[str, str]] = {}  # session -> (its split: "/N" or "", a source)
    seen: dict[tuple[str, str], str] = {}
    for source, plan in found:
        where = (plan.session, plan.shard)
        if where in seen:
            raise PlanFileError(
                f"{source} and {seen[where]} are both the plan of {plan.title}: give each plan once"
            )
        seen[where] = source
        split = plan.shard.partition("/")[2]
        first = splits.setdefault(plan.session, (split, source))
        if first[0] != split:
            raise PlanFileError(
                f"{source} and {first[1]} split session {repr_shown(plan.session)} differently"
                f" ({_split(split)}, {_split(first[0])}): show the plans of one run"
            )
    order = sorted(found, key=lambda pair: (pair[1].session, _shard_number(pair[1].shard)))
    return [plan for _, plan in order], unchecked


def _split(shards: str) -> str:
    return f"{shards} shards" if shards else "not sharded"


def _shard_number(shard: str) -> int:
    return int(shard.partition("/")[0]) if shard else 0
