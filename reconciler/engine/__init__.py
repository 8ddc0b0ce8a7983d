"""The reconciler: live read, matching, planner, plan and plan file, safety, freshness of saved
plans, apply and its report, the state file, and the one service module."""
