"""What plan and apply print: the plan in its formats, apply's report, and the refusals that
make the exit code 1."""

from __future__ import annotations

import json
import select
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from reconciler.cli.flags import use_color
from reconciler.cli.interrupts import HANDLED, Signals
from reconciler.engine import planfile
from reconciler.engine.apply import Listener
from reconciler.engine.plan import Plan
from reconciler.engine.report import ApplyReport
from reconciler.engine.service import Applied, Progress
from reconciler.errors import GroupctlError, InterruptedRunError, UsageError
from reconciler.render import markdown, text
from reconciler.render.progress import ApplyProgress, reread_lines, which_group
from reconciler.render.report import invite_lines
from reconciler.util.rates import Rate
from reconciler.util.untrusted import in_json, one_line, shown
from reconciler.util.wording import count


def show_plan(result: Plan, output_format: str, mask_phones: bool, *, key: str | None) -> None:
    """The plan on stdout: text, Markdown (comments split for GitHub) or the sealed JSON."""
    if output_format == "json":
        click.echo(in_json(planfile.dumps(result, key=key)))
    elif output_format == "markdown":
        click.echo(markdown.SEPARATOR.join(markdown.render(result, mask_phones=mask_phones)))
    else:
        color = use_color()
        shown = text.to_string(result, color=color, mask_phones=mask_phones)
        click.echo(shown, nl=False, color=color)  # click would take the colors out of a pipe


def show_report(report: ApplyReport, applied: Plan, output_format: str) -> None:
    """What apply did: groups created and failed, what the re-reads verified, invites."""
    if output_format == "json":
        click.echo(in_json(json.dumps(report.to_json(), indent=2, ensure_ascii=False)))
        return
    for group in report.groups:
        which = which_group(group)
        if group.created is not None:
            click.echo(f"created {which}: {shown(group.created)}")
        if group.error is not None:
            what = "stopped" if group.interrupted else "failed"
            click.echo(f"{what} {which}: {one_line(group.error)}", err=True)
        for line in reread_lines(applied, group):
            click.echo(line, err=group.reread_error is not None)
    for line in invite_lines(applied, report):
        click.echo(line)
    click.echo(report.summary())


def refuse_if_refused(result: Plan) -> None:
    """Exit 1 when the plan refused groups (said why when it was shown)."""
    if result.refused:
        raise GroupctlError(f"{count(len(result.refused), 'group')} refused: see why above")


def plan_shower(as_json: bool) -> Callable[[Plan], None]:
    """How apply shows the plan before anything happens: as text, on stderr when stdout is
    for the JSON report."""
    color = use_color(err=as_json)
    return lambda plan: click.echo(
        text.to_string(plan, color=color), nl=False, err=as_json, color=color
    )


def asker(question: str) -> Callable[[Plan], bool]:
    """The question apply asks before changing anything; refused at once where nobody can
    answer it (CI), before any work."""
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise UsageError(
            "apply asks before changing anything, and nobody can answer here:"
            " review the plan, then run with --auto-approve"
        )

    def ask(plan: Plan) -> bool:
        return _confirmed(question)

    return ask


class _SignalledError(Exception):
    def __init__(self, number: int) -> None:
        self.number = number


def _raise_signalled(number: int, frame: object) -> None:
    raise _SignalledError(number)


def _confirmed(question: str) -> bool:
    """Ask `question` on the terminal (default no); Ctrl-C (or SIGTERM) stops it at once,
    nothing changed (InterruptedRunError: exit 130 or 143).

    It is asked inside the run's event loop, whose signal handlers only cancel a task that a
    blocking read never yields to; and with worker threads about (pictures are read in
    them), the kernel may hand a signal to any thread, which does not interrupt a read in
    this one. So the answer is awaited with select() on the terminal and on a wakeup socket
    that Python writes to whichever thread the signal reaches; a handler of our own then
    raises here."""
    wake_read, wake_write = socket.socketpair()
    wake_write.setblocking(False)
    previous_fd = signal.set_wakeup_fd(wake_write.fileno(), warn_on_full_buffer=False)
    previous = {number: signal.signal(number, _raise_signalled) for number in HANDLED}
    try:
        while True:
            click.echo(f"{question} [y/N]: ", nl=False, err=True)
            select.select([sys.stdin, wake_read], [], [])
            answer = sys.stdin.readline()
            if not answer:  # end of input: nobody said yes
                click.echo("", err=True)
                return False
            word = answer.strip().lower()
            if word in ("", "n", "no"):
                return False
            if word in ("y", "yes"):
                return True
            click.echo("Error: invalid input", err=True)
    except _SignalledError as stopped:
        click.echo("", err=True)
        name = signal.Signals(stopped.number).name
        raise InterruptedRunError(
            f"interrupted ({name}) at the question: nothing was changed",
            signal_number=stopped.number,
        ) from None
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        signal.set_wakeup_fd(previous_fd)
        wake_read.close()
        wake_write.close()


def progress_shower(as_json: bool, pace: Rate | None = None) -> Progress:
    """Apply's progress: live on a terminal, line by line in a log, on stderr with --format
    json; with `pace` (the write rate), first how long the writes will take."""
    terminal = sys.stderr.isatty() and not as_json
    stream = sys.stderr if as_json or terminal else sys.stdout

    @contextmanager
    def shown(plan: Plan) -> Iterator[Listener]:
        with ApplyProgress(plan, stream, terminal=terminal, pace=pace) as progress:
            yield progress.step

    return shown


def show_applied(
    applied: Applied,
    output_format: str,
    *,
    interrupted: Signals | None = None,
    report_shown: bool = False,
) -> None:
    """The end of apply: its report, ids written, and exit 1 for what did not go through (or
    128 + the signal's number, when `interrupted` says a signal stopped it). `report_shown`:
    the caller showed the report (several sessions' reports as one JSON document)."""
    as_json = output_format == "json"
    if report_shown:
        pass
    elif applied.report is None:
        click.echo("Nothing applied." if applied.declined else "Nothing to apply.", err=as_json)
    else:
        show_report(applied.report, applied.plan, output_format)
    if applied.ids_written:
        files = ", ".join(map(str, applied.ids_written))
        click.echo(f"wrote the new groups' ids into {files}", err=True)
    ids_error = (
        None
        if applied.ids_error is None
        else f"applied, but the new groups' ids were not written: {applied.ids_error}"
    )
    if interrupted is not None and interrupted.received is not None:
        if ids_error is not None:
            click.echo(f"error: {one_line(ids_error)}", err=True)
        raise interrupted.interrupted(
            "while applying: what was done is reported above, and saved in the state file;"
            " the next plan shows what is left"
        )
    if ids_error is not None:
        raise GroupctlError(ids_error)
    if applied.report is not None and applied.report.state_error is not None:
        raise GroupctlError(
            f"applied, but {applied.report.state_error}: the next plan may ask people who were"
            " invited (see the report above) again"
        )
    refuse_if_refused(applied.plan)
    if applied.report is not None and applied.report.halted is not None:
        raise GroupctlError(f"apply stopped: {applied.report.halted}")
    if applied.report is not None and not applied.report.ok:
        raise GroupctlError("some changes failed: see above; run apply again to finish")
