"""WhatsApp's rules, each an operation done as an account on a `World`: it changes the world
and returns what happened, or raises `SimError` with the status and message Titan would send.

`groups` a group's life and settings, `participants` add, remove, promote and demote with
their per-person answers, `invites` the invite link, `messages` text messages.
"""

from reconciler.sim.rules import groups, invites, messages, participants

__all__ = ["groups", "invites", "messages", "participants"]
