"""Options several commands share (the connection, logging, the config path, planning), and
what they are turned into: the config loaded, the run of a plan or apply."""

from __future__ import annotations

import difflib
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from reconciler.cli.connection import ApiSettings
from reconciler.cli.flags import Seconds, setup_logging, trimmed_secret, without_final_line_break
from reconciler.config import load
from reconciler.config.shards import parse_shard, select, several_sessions
from reconciler.config.workspace import Workspace, state_file_of
from reconciler.core.groups import DesiredGroup, DesiredState
from reconciler.engine import planfile as plan_files
from reconciler.engine.plan import Plan
from reconciler.engine.planner import PlanPolicy
from reconciler.engine.safety import Brakes, lowered
from reconciler.engine.service import LOCK_TIMEOUT, Run, check_plan_target
from reconciler.engine.statefile import LONGEST_PLAN_AGE
from reconciler.errors import FileAccessError, SettingsError, UsageError
from reconciler.titan.client import DEFAULT_PARALLELISM
from reconciler.titan.retries import DEFAULT_RETRIES
from reconciler.titan.session_guard import RECONNECT_WAIT
from reconciler.util.rates import parse_duration
from reconciler.util.untrusted import repr_shown, shown

log = logging.getLogger("reconciler.cli")


def api_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Adds the connection and logging flags; the command receives `settings: ApiSettings`."""
    return _api_options(command, several=False)


def api_options_of_sessions(command: Callable[..., Any]) -> Callable[..., Any]:
    """`api_options` whose `--session` may be repeated: the command receives `settings` (with
    the session when exactly one is given) and `sessions: tuple[str, ...]`, every one given."""
    return _api_options(command, several=True)


def _api_options(command: Callable[..., Any], *, several: bool) -> Callable[..., Any]:
    @click.option(
        "--api",
        envvar="TITAN_API_URL",
        show_envvar=True,
        metavar="URL",
        help="Titan API address (https://...), or sim:PATH for the built-in simulator.",
    )
    @click.option(
        "--api-key",
        envvar="TITAN_API_KEY",
        show_envvar=True,
        metavar="KEY",
        help="Titan API key. Prefer the environment variable: flags show in `ps`.",
    )
    @click.option(
        "--session",
        envvar="TITAN_SESSION",
        show_envvar=True,
        multiple=several,
        help=(
            "Titan session (WhatsApp account) to read; repeat for several accounts, each"
            " read at once into one config (TITAN_SESSION: names separated by spaces)."
            " Default: 'default'."
            if several
            else "Titan session (WhatsApp account) to act as. Default: the config's"
            " session:, else 'default'."
        ),
    )
    @click.option(
        "--write-rate",
        envvar="TITAN_WRITE_RATE",
        show_envvar=True,
        metavar="RATE",
        help="Most writes per time, e.g. 20/min or 'unlimited'. Default: 20/min against"
        " Titan (WhatsApp bans accounts that write in bursts), unlimited on sim:.",
    )
    @click.option(
        "--timeout",
        envvar="TITAN_TIMEOUT",
        show_envvar=True,
        type=Seconds(min=0.1),
        default=30.0,
        show_default=True,
        metavar="SECONDS",
        help="How long to wait for one answer before trying again (or giving up). Until the"
        " API has answered once, 10 s without a byte ends a call: an address that never"
        " answers is said at once.",
    )
    @click.option(
        "--retries",
        envvar="TITAN_RETRIES",
        show_envvar=True,
        type=click.IntRange(0, 20),
        default=DEFAULT_RETRIES,
        show_default=True,
        metavar="N",
        help="How many more times a call that failed in a way that may pass (a 5xx, a 429,"
        " a dropped connection) is tried, waiting longer each time (about 0.5 s, 1 s, 2 s..."
        " up to 20 s, or Titan's Retry-After), two minutes at most in all. 0: fail at the"
        " first such error.",
    )
    @click.option(
        "--reconnect-wait",
        envvar="TITAN_RECONNECT_WAIT",
        show_envvar=True,
        type=Seconds(min=0),
        default=RECONNECT_WAIT,
        show_default=True,
        metavar="SECONDS",
        help="How long to wait, in all, for a session Titan is reconnecting (AUTO_RECONNECT)"
        " before stopping. Nothing is written meanwhile.",
    )
    @click.option(
        "--parallelism",
        envvar="TITAN_PARALLELISM",
        show_envvar=True,
        type=click.IntRange(1, 64),
        default=DEFAULT_PARALLELISM,
        show_default=True,
        metavar="N",
        help="Most API calls at once (reading many groups, above all). Titan's rate limit,"
        " from its answers, paces them further.",
    )
    @click.option("-v", "--verbose", is_flag=True, help="Log each API call.")
    @click.option("--debug", is_flag=True, help="Log everything, bodies included (never the key).")
    @functools.wraps(command)
    def wrapper(
        api: str | None,
        api_key: str | None,
        session: str | tuple[str, ...] | None,
        write_rate: str | None,
        timeout: float,
        retries: int,
        reconnect_wait: float,
        parallelism: int,
        verbose: bool,
        debug: bool,
        **kwargs: Any,
    ) -> Any:
        setup_logging(verbose, debug, [api_key, without_final_line_break(api_key)])
        api_key = trimmed_secret(api_key, "the API key")
        if isinstance(session, tuple):  # several=True: every name given, each once
            kwargs["sessions"] = tuple(dict.fromkeys(session))
            session = session[0] if len(kwargs["sessions"]) == 1 else None
        settings = ApiSettings(
            api=api,
            api_key=api_key,
            session=session,
            write_rate=write_rate,
            timeout=timeout,
            retries=retries,
            reconnect_wait=reconnect_wait,
            parallelism=parallelism,
        )
        return command(settings=settings, **kwargs)

    return wrapper


def check_group_keys(desired: DesiredState, only: tuple[str, ...]) -> None:
    """Refuse a --group KEY the config does not have."""
    keys = [group.key for group in desired.groups]
    for key in only:
        if key not in keys:
            close = difflib.get_close_matches(key, keys, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UsageError(f"--group {key!r}: the config has no such group{hint}")


state_file_option = click.option(
    "--state-file",
    "state_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where groupctl remembers invitations, recent leavers, the pictures it uploaded and"
    " the saved plans applied. Default:"
    " .groupctl-state.json beside the config.",
)


lock_timeout_option = click.option(
    "--lock-timeout",
    type=Seconds(min=0),
    default=LOCK_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for another run on the same state file (an apply, a heal of"
    " watch) to end; 0: fail at once.",
)


def _plan_age(ctx: click.Context, param: click.Parameter, value: str) -> timedelta:
    try:
        age = timedelta(seconds=parse_duration(value))
    except UsageError as exc:
        raise click.BadParameter(str(exc)) from None
    if age > LONGEST_PLAN_AGE:
        longest = LONGEST_PLAN_AGE.total_seconds() / 3600
        raise click.BadParameter(f"at most {longest:g}h: the state file remembers plans as long")
    return age


max_plan_age_option = click.option(
    "--max-plan-age",
    default="24h",
    show_default=True,
    metavar="DURATION",
    callback=_plan_age,
    help="Refuse a saved plan made longer ago than this (e.g. 30m, 24h; at most 168h).",
)


@dataclass(frozen=True, slots=True)
class Planning:
    """The flags plan and apply share, as one value."""

    only: tuple[str, ...]
    brakes: Brakes
    force: bool
    remove_unresolved: bool
    state_path: Path | None
    shard: tuple[int, int] | None = None  # --shard K/N

    def run(
        self, settings: ApiSettings, config_path: Path, desired: DesiredState | None = None
    ) -> Run:
        """What the plan or apply works on: with the config, under its session's own limits
        (sessions: limits:) where they are lower than the run's brakes."""
        return make_run(
            settings,
            config_path,
            self.state_path,
            only=self.only,
            remove_unresolved=self.remove_unresolved,
            brakes=session_brakes(self.brakes, desired, settings),
            force=self.force,
            shard=f"{self.shard[0]}/{self.shard[1]}" if self.shard else "",
        )


def session_brakes(brakes: Brakes, desired: DesiredState | None, settings: ApiSettings) -> Brakes:
    """The run's brakes, lowered by the limits of the session it runs as (sessions:)."""
    if desired is None:
        return brakes
    return lowered(brakes, desired.session_brakes.get(settings.session or "default", {}))


def make_run(
    settings: ApiSettings,
    config_path: Path,
    state_path: Path | None,
    *,
    only: tuple[str, ...] = (),
    remove_unresolved: bool = False,
    brakes: Brakes = Brakes(),
    force: bool = False,
    shard: str = "",
) -> Run:
    """What a plan, apply or watch works on: the workspace, the policy (with where the plan
    is made, for its record), the brakes."""
    policy = PlanPolicy(
        remove_unresolved=remove_unresolved,
        only=frozenset(only),
        session=settings.session or "default",
        api=settings.shown_api,
        config=str(config_path),
        shard=shard,
    )
    return Run(
        Workspace.of(config_path, state_file=state_path),
        policy=policy,
        brakes=brakes,
        force=force,
    )


# The run's safety limits (engine/safety.py), each set by its --max-... flag.
BRAKE_FLAGS = {
    "max_removals": "Refuse a plan that removes more members than this in all.",
    "max_demotions": "Refuse a plan that demotes more admins than this in all.",
    "max_leaves": "Refuse a plan that leaves more groups than this.",
    "max_deletes": "Refuse a plan that deletes more groups than this.",
    "max_adds": "Refuse a plan that adds more members than this in all (new groups' too).",
    "max_creates": "Refuse a plan that creates more groups than this.",
}


def brake_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Adds a --max-... flag for each of the run's limits; the command receives them as
    `brakes: Brakes`."""

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        limits = {name: kwargs.pop(name) for name in BRAKE_FLAGS}
        return command(brakes=Brakes(**limits), **kwargs)

    for name, help_text in reversed(BRAKE_FLAGS.items()):
        wrapper = click.option(
            "--" + name.replace("_", "-"),
            name,
            type=click.IntRange(0),
            default=getattr(Brakes(), name),
            show_default=True,
            help=help_text,
        )(wrapper)
    return wrapper


# `--group KEY`, repeated: the command receives `only`, the keys.
only_option = click.option(
    "--group",
    "only",
    multiple=True,
    metavar="KEY",
    help="Only this group of the config (repeat for more).",
)


def planning_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Adds the flags plan and apply share; the command receives `planning: Planning`."""

    @only_option
    @click.option(
        "--shard",
        metavar="K/N",
        help="Only the K-th of N stable shares of the groups (by session and key), so that N"
        " jobs split a big config without overlap (groupctl shards N prints the matrix)."
        " Applying a saved plan: the plan must be of this shard.",
    )
    @brake_options
    @click.option(
        "--force",
        is_flag=True,
        help="Lift the safety brakes: every --max-... limit, and the groups' own limits.",
    )
    @click.option(
        "--remove-unresolved",
        is_flag=True,
        help="Also remove participants known only by a LID that no one in the"
        " config has (kept by default: they may be people listed by number).",
    )
    @state_file_option
    @functools.wraps(command)
    def wrapper(
        only: tuple[str, ...],
        shard: str | None,
        brakes: Brakes,
        force: bool,
        remove_unresolved: bool,
        state_path: Path | None,
        **kwargs: Any,
    ) -> Any:
        share = parse_shard(shard) if shard is not None else None
        planning = Planning(only, brakes, force, remove_unresolved, state_path, share)
        return command(planning=planning, **kwargs)

    return wrapper


def load_config(
    config_path: Path,
    only: tuple[str, ...],
    settings: ApiSettings,
    shard: tuple[int, int] | None = None,
) -> tuple[DesiredState, ApiSettings]:
    """The config (every --group KEY must be in it), cut to the groups of the run's session
    and `shard`, and the settings with that session (and its pace, from sessions:)."""
    started = time.perf_counter()
    desired = load(config_path)
    log.info(
        "config %s: %d groups loaded in %.2f s",
        config_path,
        len(desired.groups),
        time.perf_counter() - started,
    )
    check_group_keys(desired, only)
    return _for_session(desired, settings, shard, only)


def state_path_for(
    planning: Planning, config_path: Path, desired: DesiredState, settings: ApiSettings
) -> Path | None:
    """The state file of a run: --state-file, else, for a session of sessions: other than
    the config's own, a file of its own beside the config (None: the default one)."""
    if planning.state_path is not None:
        return planning.state_path
    return state_file_of(config_path, desired, settings.session)


def _for_session(
    desired: DesiredState,
    settings: ApiSettings,
    shard: tuple[int, int] | None,
    only: tuple[str, ...] = (),
) -> tuple[DesiredState, ApiSettings]:
    """The groups of the run's session (and shard), and the settings with that session and
    its pace; every --group KEY must be among them."""
    picked, session = select(desired, session=settings.session, shard=shard)
    taken = {group.key for group in picked.groups}
    for key in only:
        if key not in taken:
            group = next(g for g in desired.groups if g.key == key)
            where = (
                f"not in shard {shard[0]}/{shard[1]}"
                if shard is not None and desired.session_of(group) == session
                else f"a group of session {repr_shown(desired.session_of(group))}"
            )
            raise UsageError(f"--group {repr_shown(key)} is {where}: it is not in this run")
    settings = settings.for_config(session or desired.session)
    pace = desired.sessions.get(settings.session or "default")
    if settings.write_rate is None and pace is not None:
        settings = replace(settings, write_rate=pace)
    if shard is not None:  # the N jobs of one account share its pace
        settings = replace(settings, pace_shares=shard[1])
    return picked, settings


def load_sessions(
    config_path: Path,
    only: tuple[str, ...],
    settings: ApiSettings,
    shard: tuple[int, int] | None = None,
) -> list[tuple[DesiredState, ApiSettings]]:
    """The config's groups as the runs that take them: one, or, for a config of several
    sessions run without --session, one for each session (each with its pace)."""
    desired = load(config_path)
    check_group_keys(desired, only)
    sessions = several_sessions(desired) if settings.session is None else []
    if only:  # the sessions of the groups asked for, and no other account is called
        keys = set(only)
        sessions = [
            s
            for s in sessions
            if any(desired.session_of(g) == s for g in desired.groups if g.key in keys)
        ]
        if len(sessions) == 1:
            return [_for_session(desired, replace(settings, session=sessions[0]), shard, only)]
    if not sessions:
        return [_for_session(desired, settings, shard, only)]
    return [
        _for_session(
            desired,
            replace(settings, session=s),
            shard,
            tuple(k for k in only if desired.session_of(_group(desired, k)) == s),
        )
        for s in sessions
    ]


def _group(desired: DesiredState, key: str) -> DesiredGroup:
    return next(group for group in desired.groups if group.key == key)


def check_plan_shard(planfile: Path, plans: list[Plan], shard: tuple[int, int] | None) -> None:
    """With a saved plan, --shard K/N is what the plan must be of (the job of a sharded apply
    applies its own shard's reviewed plan): SettingsError unless each is."""
    if shard is None:
        return
    wanted = f"{shard[0]}/{shard[1]}"
    for plan in plans:
        if plan.shard != wanted:
            raise SettingsError(
                f"{shown(str(planfile))} is the plan of {plan.title}, not of shard {wanted}:"
                " a saved plan is applied by the job of its own session and shard"
            )


def read_plans(
    planfile: Path, only: tuple[str, ...], config_path: Path, from_flag: bool, settings: ApiSettings
) -> tuple[list[tuple[Plan, ApiSettings]], Path]:
    """A saved plan (see `read_plan`), or each plan of a file of several sessions' plans, each
    refused unless it is applied where it was made; with the config they were made from."""
    try:
        text = planfile.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""  # read_plan says why
    if not plan_files.is_bundle(text):
        saved, config_path, settings = read_plan(planfile, only, config_path, from_flag, settings)
        return [(saved, _shared_by_shards(saved, settings))], config_path
    if only or settings.session is not None:
        raise UsageError("a plan of several sessions is applied whole: no --group, no --session")
    plans = plan_files.bundle_loads(text, source=str(planfile), key=settings.api_key)
    found = []
    for saved in plans:
        own = settings if settings.api else replace(settings, api=saved.api)
        check_plan_target(saved, session=saved.session, api=own.shown_api, same_api=own.same_api)
        found.append((saved, _shared_by_shards(saved, replace(own, session=saved.session))))
    config = plans[0].config
    if config and not from_flag:
        config_path = Path(config)
        if not config_path.exists():
            raise FileAccessError(
                f"the plan was made from the config {config}, which is not here"
                f" ({config_path.absolute()}): run apply where plan ran, or give the"
                " config's path with -f"
            )
    return found, config_path


def _shared_by_shards(saved: Plan, settings: ApiSettings) -> ApiSettings:
    """The settings to apply a saved plan with: a shard's plan at its share of the pace."""
    shards = saved.shard.partition("/")[2]
    return replace(settings, pace_shares=int(shards)) if shards.isdigit() else settings


def read_plan(
    planfile: Path, only: tuple[str, ...], config_path: Path, from_flag: bool, settings: ApiSettings
) -> tuple[Plan, Path, ApiSettings]:
    """A saved plan, refused unless it is applied where it was made; the config it was made
    from (unless -f said another), and the settings with its session."""
    if only:
        raise UsageError("--group picks groups to plan now; a saved plan is applied whole")
    try:
        text = planfile.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise FileAccessError(f"{shown(str(planfile))}: cannot read the plan: {why}") from None
    saved = plan_files.loads(text, source=str(planfile), key=settings.api_key)
    if not settings.api and saved.api:
        log.warning("no --api or TITAN_API_URL: using the plan's, %s", saved.api)
        settings = replace(settings, api=saved.api)
    check_plan_target(
        saved, session=settings.session, api=settings.shown_api, same_api=settings.same_api
    )
    if saved.config and not from_flag:
        config_path = Path(saved.config)
        if not config_path.exists():
            raise FileAccessError(
                f"the plan was made from the config {saved.config}, which is not here"
                f" ({config_path.absolute()}): run apply where plan ran, or give the"
                " config's path with -f"
            )
    return saved, config_path, settings.for_config(saved.session)
