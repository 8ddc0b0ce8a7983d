"""`groupctl watch`: listen to Titan's group webhooks, report drift at once, optionally heal it.

A webhook is trusted only with a valid `X-Webhook-Signature` (HMAC-SHA256 of the raw body),
read only up to a size, within a deadline and a few at once, sent within a replay window, and
acted on once per event id. An event about a managed group puts the group in a queue; one
worker takes groups from it one at a time: re-reads the group, plans it, reports drift as one
JSON log line and in metrics, and with self-heal applies its plan under the same brakes and
guards as `apply` (a refused plan is reported, never forced). It plans and applies through
`reconciler.engine.service`, the one road the CLI takes too.

It does not fight itself: the changes it makes come back as webhooks, and those are recognized
as its own and dropped. A group that keeps drifting is healed with exponential backoff, not in
a tight loop. Every managed group is checked again every resync interval, since webhooks can be
lost. While the session is not connected (Titan's `session.status`), healing pauses; a ban
stops it until restart. Time comes from an injected clock; `tick()` does what is due.

A config of several sessions (WhatsApp accounts) is watched by one process: one watcher per
session, each as it would be alone (its own client, state file, queue, heals and session
state: a ban of one account stops that account's heals only), behind one listener that hands
each delivery to the session its envelope names.

`watcher` composes the parts: `routes` (the endpoints and the triage of events, after `intake`
believed a delivery and `events` read it), `worker` (the queue, what is due when, the check of
one group), `healing` (whether a drifted group is written to now, with backoff), `bindings`
(which live group is which entry), `echoes` (its own changes' webhooks), `session` (the
session's state), `health` (/healthz, from reads of the session in the background),
`metrics`, `reporting` (the JSON lines; their wording of a planned action is
`reconciler.render.watch`) and `options`. `listener` serves one watcher or several: the app,
the ticker, SIGHUP's reload, the stop of them all. `registration` is `--register`: the webhook
Titan delivers to watch, created once.
"""

from __future__ import annotations

from reconciler.watch.intake import MAX_BODY
from reconciler.watch.listener import Listener
from reconciler.watch.registration import Registration, check_url, register
from reconciler.watch.watcher import Watcher, WatchOptions

__all__ = [
    "MAX_BODY",
    "Listener",
    "Registration",
    "WatchOptions",
    "Watcher",
    "check_url",
    "register",
]
