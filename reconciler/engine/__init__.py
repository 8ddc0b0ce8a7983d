"""The reconciler.

- `service`: the one road to plan and to apply, for the CLI and for watch.
- `live`: the live read; `matching`: which live group is which entry.
- `planner`: `plan(desired, live, policy)`, pure; `plan`: the plan as data;
  `planfile`: the sealed plan file; `safety`: the brakes; `freshness`: is a saved plan
  still right; `validity`: may a saved plan be applied at all (recent, of the config as it
  is, never applied before).
- `apply`: carry a plan out; `report`: what it did; `verify`: does a re-read group show it.
- `statefile`: what groupctl remembers between runs (invitations, leavers, pictures, applied
  plans), and the lock beside it that keeps two runs apart.

Its modules are imported one by one (nothing is loaded with the package).
"""

__all__ = [
    "apply",
    "freshness",
    "live",
    "matching",
    "plan",
    "planfile",
    "planner",
    "report",
    "safety",
    "service",
    "statefile",
    "validity",
    "verify",
]
