"""Two applies started together on one config, TRIALS times: is each group created once, is
anyone asked to join twice, is any record of the state file lost?

    python bench/two_applies.py [--trials 20] [--latency-ms 150]

Each trial copies examples/ afresh, serves its world with `groupctl sim serve --latency-ms
LATENCY` (a separate process, real HTTP) and starts two `groupctl apply --auto-approve --format
json` at once, in the same directory: one config, one state file. Reported per trial: each
apply's exit code and the seconds from the start to its end, whether one waited for the other
(the lock beside the state file), how many applied anything, the most groups found with one
subject of the config, the most times one person was asked to join one group (WhatsApp's
invitation or the invite link), the state file's records against those the reports call for,
and the problems found (exit 1 if any). The trial itself is tests/support/racing.py, which
tests/reliability/test_two_applies.py runs too. Needs `groupctl` installed (pip install .);
run from the repository's root.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests/support

from tests.support.racing import Trial, race


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--latency-ms", type=int, default=150)
    args = parser.parse_args()
    groupctl = shutil.which("groupctl")
    if groupctl is None:
        sys.exit("groupctl is not installed: pip install .")
    print(f"{args.trials} trials, two applies each, simulator latency {args.latency_ms} ms")
    print("trial  exits  ends (s)     waited  applied  groups/subject  asked/person  records")
    trials: list[Trial] = []
    with tempfile.TemporaryDirectory() as scratch:
        for number in range(args.trials):
            trial = race(groupctl, Path(scratch, f"trial-{number}"), latency_ms=args.latency_ms)
            trials.append(trial)
            most_groups = max(trial.subjects[subject] for subject in trial.wanted)
            most_asked = max(trial.asked.values(), default=0)
            records = f"{len(trial.recorded & trial.remembered)}/{len(trial.remembered)}"
            ends = "/".join(f"{seconds:.1f}" for seconds in trial.seconds)
            print(
                f"{number + 1:5}  {trial.codes[0]}/{trial.codes[1]}    {ends:11}  {trial.waited:6}"
                f"  {trial.applied:7}  {most_groups:14}  {most_asked:12}  {records}"
            )
            for problem in trial.problems():
                print(f"       problem: {problem[:200]}")
    failed = sum(1 for trial in trials if trial.problems())
    last = [max(trial.seconds) for trial in trials]
    print(
        f"{args.trials - failed} of {args.trials} trials clean; both applies done after"
        f" {statistics.median(last):.1f} s (median), {max(last):.1f} s (most)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
