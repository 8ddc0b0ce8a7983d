"""`groupctl watch`: listen to Titan's group webhooks, report drift at once, optionally heal it.

A webhook is trusted only with a valid `X-Webhook-Signature` (HMAC-SHA256 of the raw body),
read only up to a size, and acted on once per event id. An event about a managed group puts
the group in a queue; one worker takes groups from it one at a time: re-reads the group, plans
it, reports drift as one JSON log line and in metrics, and with self-heal applies its plan
under the same brakes and guards as `apply` (a refused plan is reported, never forced).

It does not fight itself: the changes it makes come back as webhooks, and those are recognized
as its own and dropped. A group that keeps drifting is healed with exponential backoff, not in
a tight loop. Every managed group is checked again every resync interval, since webhooks can be
lost. While the session is not connected (Titan's `session.status`), healing pauses; a ban
stops it until restart. Time comes from an injected clock; `tick()` does what is due.
"""

from reconciler.watch.intake import MAX_BODY
from reconciler.watch.watcher import Watcher, WatchOptions

__all__ = ["MAX_BODY", "WatchOptions", "Watcher"]
