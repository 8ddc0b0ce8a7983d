"""The `groupctl` command: parse flags, call the library, print, map errors to exit codes.

One module per family of commands, imported only when one of its commands runs: the root
group (`cli.root`) lists them.
"""

from reconciler.cli.root import cli


def main() -> None:
    cli()


__all__ = ["cli", "main"]
