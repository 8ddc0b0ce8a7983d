"""Apply's progress: a bar with counts on a terminal, one plain line per step elsewhere."""

from __future__ import annotations

from types import TracebackType
from typing import IO, TYPE_CHECKING

from reconciler.engine.plan import PARTICIPANT_KINDS, Kind, Plan
from reconciler.engine.report import SUCCESSES, UNCHECKED, GroupReport, Outcome, Step
from reconciler.render.people import person
from reconciler.util.rates import Rate
from reconciler.util.untrusted import one_line, repr_shown, shown
from reconciler.util.wording import count, duration

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


def expected_steps(plan: Plan) -> int:
    """How many steps apply reports for `plan`: one per person, one per other action."""
    total = 0
    for group in plan.groups:
        if group.errors:
            continue
        for action in group.actions:
            total += len(action.members) if action.kind in PARTICIPANT_KINDS else 1
            total += action.kind == Kind.CREATE
    return total


def write_calls(plan: Plan) -> int:
    """How many calls that change WhatsApp apply makes for `plan`, at least: one per action
    (each names at most 256 people); an invite sent by message is one more each."""
    return sum(len(group.actions) for group in plan.groups if not group.errors)


def pace_line(plan: Plan, pace: Rate | None) -> str | None:
    """What a paced apply will take, said before it starts (None when it is not paced)."""
    calls = write_calls(plan)
    if pace is None or calls < 2:
        return None
    took = duration((calls - 1) * pace.interval)  # the first goes at once
    return (
        f"apply: {count(calls, 'call')} that change WhatsApp, at most {pace} (--write-rate,"
        f" so that WhatsApp sees no burst): about {took}"
    )


class ApplyProgress:
    """Use as a context manager; `step` is the listener `apply.apply` calls. With `pace`
    (the write rate), it first says how long the writes will take."""

    def __init__(
        self, plan: Plan, stream: IO[str], *, terminal: bool, pace: Rate | None = None
    ) -> None:
        self.plan = plan
        self.stream = stream
        self.terminal = terminal
        self.pace = pace
        self.counts: dict[Outcome, int] = {}
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> ApplyProgress:
        said = pace_line(self.plan, self.pace)
        if said is not None:
            self.stream.write(said + "\n")
            self.stream.flush()
        if self.terminal:
            # Imported here: only a bar on a terminal needs it (a plan, or an apply in a log,
            # would spend a tenth of its start-up on it).
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            console = Console(file=self.stream)
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task("applying", total=expected_steps(self.plan))
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def step(self, step: Step) -> None:
        self.counts[step.outcome] = self.counts.get(step.outcome, 0) + 1
        if self._bar is not None and self._task is not None:
            counts = ", ".join(f"{n} {o.value}" for o, n in self.counts.items())
            self._bar.update(self._task, advance=1, description=counts)
            if step.outcome in (Outcome.FAILED,):
                # Not markup: the line holds WhatsApp's text, where "[/x]" is no style tag.
                self._bar.console.print(
                    line(self.plan, step), style="red", highlight=False, markup=False
                )
            return
        self.stream.write(line(self.plan, step) + "\n")
        self.stream.flush()


def line(plan: Plan, step: Step) -> str:
    """`[announcements] add olivia (+1 415-555-0111): needs invite (403: ...)`"""
    who = f" {shown(person(plan, step.person))}" if step.person is not None else ""
    said = one_line(step.detail)
    told = step.outcome != Outcome.DONE or step.kind == Kind.REVOKE_LINK
    detail = f" ({said})" if step.detail and told else ""
    made = step.kind == Kind.CREATE and step.person is None and step.outcome in SUCCESSES
    created = f" {said}" if made else ""
    return f"[{shown(step.group)}] {step.kind.value}{who}{created}: {step.outcome.value}{detail}"


def which_group(group: GroupReport) -> str:
    """`'Eng' [eng]`: a group in apply's lines, its subject and key each kept on the line."""
    return f"{repr_shown(group.subject)} [{shown(group.key)}]"


def reread_lines(plan: Plan, group: GroupReport) -> list[str]:
    """What re-reading a group after its changes showed: `re-read 'Eng' [eng]: 4 of 4 people
    as planned`, then each change it does not show, as `line` puts it. (The subject is
    repr()'d, as in apply's other lines: it is WhatsApp's text.)"""
    head = f"re-read {which_group(group)}"
    if group.reread_error is not None:
        why = one_line(group.reread_error)
        return [f"{head}: not verified, the group could not be re-read ({why})"]
    if not group.reread:
        return []
    people = [s for s in group.steps if s.person is not None and s.outcome not in UNCHECKED]
    checked = [s for s in people if s.verified is not None]
    contradicted = [s for s in group.steps if s.verified is False]
    if people:
        verdict = (
            f"{sum(1 for s in checked if s.verified)} of {count(len(checked), 'person', 'people')}"
            " as planned"
        )
        if len(checked) < len(people):
            verdict += f"; {len(people) - len(checked)} not checked (shown by another address)"
    else:
        verdict = "not as planned" if contradicted else "as planned"
    return [f"{head}: {verdict}", *(f"  not as planned: {line(plan, s)}" for s in contradicted)]
