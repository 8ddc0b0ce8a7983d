"""The `groupctl` command: parse flags, call the library, print, map errors to exit codes.

One module per family of commands, imported only when one of its commands runs: the root
group (`cli.root`) lists them.
"""

import logging
import os
import sys

from reconciler.cli.root import cli


def main() -> None:
    """The console script: run the command, then leave without tearing the heap down.

    A plan of thousands of groups leaves millions of objects behind, and freeing them one by
    one at exit took longer than printing the plan (0.55 s at 1,000 groups). Everything the
    command writes is flushed first (output, logs; files are written whole and synced as they
    are made), then the process ends at once."""
    try:
        cli()
        code = 0
    except SystemExit as stop:
        code = _status(stop.code)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:  # a reader that went away (groupctl plan | head): nothing to tell it
            code = code or 1
    os._exit(code)


def _status(code: object) -> int:
    """SystemExit's code as an exit status, as Python would make it."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


__all__ = ["cli", "main"]
