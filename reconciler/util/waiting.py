"""Waiting for work, but no longer than until something else happens."""

from __future__ import annotations

import asyncio
from typing import Any


async def unless(work: asyncio.Future[Any], event: asyncio.Event) -> bool:
    """Wait for `work` until `event` is set, whichever comes first; if the event does, `work`
    is cancelled (and its clean-up awaited). Whether `work` finished; its result or error is
    then the caller's to take. Cancelling the waiter cancels `work` too."""
    stopped = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({work, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        if not work.done():
            work.cancel()
            await asyncio.wait({work})
    return not work.cancelled()
