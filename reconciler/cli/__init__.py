"""The `groupctl` command: parse flags, call the library, print, map errors to exit codes.

One module per family of commands; importing them registers them on the root group.
"""

from reconciler.cli import (  # noqa: F401 - registers the commands
    apply,
    diff,
    import_,
    plan,
    sim,
    status,
    validate,
    watch,
)
from reconciler.cli.root import cli


def main() -> None:
    cli()


__all__ = ["cli", "main"]
