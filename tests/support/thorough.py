"""How thorough the slowest tests are. By default (`pytest`, and CI on every push and pull
request) each runs a few well-chosen trials; with HYPOTHESIS_PROFILE=long (the weekly
workflow, or by hand) they run many, as the property tests then run 20,000 examples."""

from __future__ import annotations

import os

LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"


def trials(usual: int, long: int) -> int:
    """`long` under the long profile, `usual` otherwise."""
    return long if LONG else usual
