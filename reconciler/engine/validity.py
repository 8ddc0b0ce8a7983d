"""Whether a saved plan may be applied at all: made recently, from the config as it is now, and
never applied before. Whether the live groups are still as it saw them is another question,
`reconciler.engine.freshness`'s.

A sealed plan that was applied once stays valid as a file: once its groups are back at its
snapshots (someone undid the change, or a later config did), applying it again would undo a
later reviewed config. So apply refuses a plan that is old (`--max-plan-age`), one whose config
changed since (the plan no longer shows what the reviewed config says: also when the state file
that remembers applied plans is lost, as in CI without a cache), and one the state file says
was applied.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path

from reconciler.config.load import config_files
from reconciler.engine.plan import Plan
from reconciler.engine.statefile import LONGEST_PLAN_AGE, StateFile
from reconciler.errors import (
    ExpiredPlanError,
    FileAccessError,
    OutdatedPlanError,
    ReplayedPlanError,
)

MAX_PLAN_AGE = timedelta(hours=24)  # a plan is reviewed and applied the same day
# How far another machine's clock (the one that made the plan) may be ahead of this one's.
CLOCK_SKEW = timedelta(minutes=5)
_MAKE_A_NEW_PLAN = "Make a new plan (groupctl plan --out ...), review it, and apply that."


def config_hashes(config: Path) -> dict[str, str]:
    """Each file of the config (a YAML file, or a directory of them), by its path relative to
    the config, with the SHA-256 of its bytes."""
    base = config if config.is_dir() else config.parent
    try:
        return {
            file.relative_to(base).as_posix(): hashlib.sha256(file.read_bytes()).hexdigest()
            for file in config_files(config)
        }
    except OSError as exc:
        raise FileAccessError(f"{exc.filename}: cannot read the config: {exc.strerror}") from None


def check_valid(
    saved: Plan, *, state_file: StateFile, config: Path, now: datetime, max_age: timedelta
) -> None:
    """Refuse `saved` if it was applied before (ReplayedPlanError), was made more than
    `max_age` (at most `LONGEST_PLAN_AGE`) before `now` or after it (ExpiredPlanError), or if
    the files of `config` are not those it was made from (OutdatedPlanError)."""
    applied = state_file.applied.get(saved.checksum or "")
    if applied is not None:
        raise ReplayedPlanError(
            f"this plan was applied already, on {_when(applied.at)} (it was made on"
            f" {_when(applied.made)}): a plan is applied once, since applying it again could"
            f" undo what was changed since. {_MAKE_A_NEW_PLAN}"
        )
    if saved.created is None:
        raise ExpiredPlanError(f"the plan does not say when it was made. {_MAKE_A_NEW_PLAN}")
    age = now - saved.created
    # Never longer than the state file remembers applied plans: past it, a replay would pass.
    max_age = min(max_age, LONGEST_PLAN_AGE)
    if age > max_age:
        raise ExpiredPlanError(
            f"the plan was made on {_when(saved.created)}, {_duration(age)} ago: more than"
            f" --max-plan-age {_duration(max_age)}. {_MAKE_A_NEW_PLAN}"
        )
    if -age > CLOCK_SKEW:
        raise ExpiredPlanError(
            f"the plan says it was made on {_when(saved.created)}, {_duration(-age)} from now:"
            f" check this machine's clock. {_MAKE_A_NEW_PLAN}"
        )
    changed = _changed_files(saved.config_files, config_hashes(config))
    if changed:
        raise OutdatedPlanError(
            f"the config changed since the plan was made ({'; '.join(changed)}): the plan no"
            f" longer shows what the config says. {_MAKE_A_NEW_PLAN}"
        )


def _changed_files(before: Mapping[str, str], now: Mapping[str, str]) -> list[str]:
    return [
        f"{name} {'added' if name not in before else 'removed' if name not in now else 'changed'}"
        for name in sorted(before.keys() | now.keys())
        if before.get(name) != now.get(name)
    ]


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def _duration(span: timedelta) -> str:
    hours, rest = divmod(int(span.total_seconds()), 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"
