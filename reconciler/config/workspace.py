"""Where a run's files are, worked out once at the edge and then passed around as one value:
the config (a YAML file or a directory of them), the directory its relative paths start from
(pictures), and the state file beside it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reconciler.core.groups import DesiredState

STATE_FILE = ".groupctl-state.json"


def session_state_file(session: str) -> str:
    """The state file of a session other than the config's own (sessions:), beside the
    config: each account's runs keep their records, and their lock, apart."""
    return f".groupctl-state.{session}.json"


def state_file_of(config: Path, desired: DesiredState, session: str | None) -> Path | None:
    """The state file of a run of `session`: for a session of sessions: other than the
    config's own, a file of its own beside the config (None: the default one)."""
    session = session or "default"
    if not desired.sessions or session == (desired.session or "default"):
        return None
    base = config if config.is_dir() else config.parent
    return base / session_state_file(session)


@dataclass(frozen=True, slots=True)
class Workspace:
    config: Path  # as given (messages show it so)
    root: Path  # absolute: a directory config itself, else the file's directory
    state_file: Path

    @classmethod
    def of(cls, config: Path | str, *, state_file: Path | None = None) -> Workspace:
        """The workspace of `config`; the state file is `state_file`, else the default beside
        the config."""
        config = Path(config)
        base = config if config.is_dir() else config.parent
        return cls(config, base.resolve(), state_file or base / STATE_FILE)
