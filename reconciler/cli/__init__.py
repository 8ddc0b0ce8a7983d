"""The `groupctl` command: parse flags, call the library, print, map errors to exit codes.

One module per family of commands, imported only when one of its commands runs: the root
group (`cli.root`) lists them.
"""

import errno
import logging
import os
import signal
import sys
from types import FrameType

import click

from reconciler.cli import startup
from reconciler.cli.root import cli


class _TerminatedError(BaseException):
    """SIGTERM before a run's own handling of it (see `cli.interrupts`) began. Like
    KeyboardInterrupt, not an Exception: no `except Exception` on the way swallows it."""


def _terminated(number: int, frame: FrameType | None) -> None:
    raise _TerminatedError()


def main() -> None:
    """The console script: run the command, then leave without tearing the heap down.

    A signal that stops it before a run handles signals itself (during start-up, the config
    load) ends it as one that stops a run does: `error: interrupted (...)`, exit 130 for
    SIGINT and 143 for SIGTERM, not click's "Aborted!" and 1.

    A plan of thousands of groups leaves millions of objects behind, and freeing them one by
    one at exit took longer than printing the plan (0.55 s at 1,000 groups). Everything the
    command writes is flushed first (output, logs; files are written whole and synced as they
    are made), then the process ends at once."""
    startup.begin()  # the command's modules are not imported yet
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminated)
    try:
        result = cli.main(standalone_mode=False)
        code = result if isinstance(result, int) else 0  # click.Exit's status, e.g. --help
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except click.Abort:  # Ctrl-C (click turns KeyboardInterrupt into Abort)
        code = _interrupted(signal.SIGINT)
    except _TerminatedError:
        code = _interrupted(signal.SIGTERM)
    except SystemExit as stop:
        code = _status(stop.code)
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        code = 1  # a reader that went away (groupctl plan | head): nothing to tell it
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:
            code = code or 1
    os._exit(code)


def _interrupted(number: signal.Signals) -> int:
    click.echo(f"error: interrupted ({number.name})", err=True)
    return 128 + number


def _status(code: object) -> int:
    """SystemExit's code as an exit status, as Python would make it."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


__all__ = ["cli", "main"]
