"""What the console script does before a command's modules are imported, and after.

Most of a short command's time is start-up: a plan of the example imports some 500 modules,
several times the work it then does. Two things there cost without doing anything:

- Python's cyclic garbage collector runs over and over while modules, classes and functions
  are made, none of which is garbage: it waits until the command's modules are imported, and
  what they made then goes to the permanent generation (`gc.freeze`), which later collections
  (and a big config's load) no longer go over.
- httpx imports its own command-line tool with itself (`httpx._main`: rich's console and
  progress bars, pygments), which groupctl never runs: a stand-in takes its place in this
  process only, so that `import httpx` leaves it out.
"""

from __future__ import annotations

import gc
import sys
import types

_paused = False


def begin() -> None:
    """At the console script's start, before anything of a command is imported."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True
    _without_httpx_cli()


def over() -> None:
    """The command's modules are imported: the collector resumes, without them."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()


def _without_httpx_cli() -> None:
    if "httpx" in sys.modules or "httpx._main" in sys.modules:
        return  # too late, or already done
    stand_in = types.ModuleType("httpx._main", "httpx's command line, not loaded by groupctl")

    def main() -> None:
        raise SystemExit("httpx's command line is not loaded in groupctl's process")

    stand_in.main = main  # type: ignore[attr-defined]
    sys.modules["httpx._main"] = stand_in
