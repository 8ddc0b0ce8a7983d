"""Reading a group's picture URL, from a route Titan does not document (only contacts' pictures).

The route is probed on first use, once for the whole client: a 404 or 405 there, for a group the
caller has just read, means this Titan has none. From then on every read raises
`NoPictureGetterError` without asking again, and the engine plans pictures from the state file.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from reconciler.errors import ApiError, NoPictureGetterError

log = logging.getLogger("reconciler.titan")


class PictureGetter:
    """The picture route of one client: `available` is None until the first read has probed
    it, then whether this Titan has it. `read` is the client's retried GET of a path."""

    def __init__(self, read: Callable[[str], Awaitable[Any]], url: Callable[[str], str]) -> None:
        self.available: bool | None = None
        self._read = read
        self._url = url
        self._missing: NoPictureGetterError | None = None
        self._probe = asyncio.Lock()

    async def picture_url(self, path: str) -> str | None:
        """The URL the picture route at `path` gives, or None when the group has no picture."""
        if self.available is None:
            async with self._probe:  # groups read at once wait for the one answer
                if self.available is None:
                    return await self._probe_first(path)
        if self._missing is not None:
            raise NoPictureGetterError(
                method="GET",
                path=self._url(path),
                status=self._missing.status,
                message=self._missing.message,
            )
        return _picture_url(await self._read(path))

    async def _probe_first(self, path: str) -> str | None:
        try:
            data = await self._read(path)
        except ApiError as exc:
            if exc.status not in (404, 405):
                raise  # a failure like any other: the next call probes again
            self.available = False
            self._missing = NoPictureGetterError(
                method=exc.method,
                path=exc.path,
                status=exc.status,
                message="this Titan has no route that shows a group's picture",
            )
            log.info("%s: pictures are planned from the state file", self._missing)
            raise self._missing from None
        self.available = True
        return _picture_url(data)


def _picture_url(data: Any) -> str | None:
    url = data.get("url") if isinstance(data, dict) else data
    return url if isinstance(url, str) and url else None
