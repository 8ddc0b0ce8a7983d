"""Helpers with no domain, used by every layer above.

- `files`: atomic replacement of a file.
- `lock`: an exclusive lock on a file, between processes.
- `rates`: `20/min` rates and `15m` durations.
- `logs`: the CLI's logging, with every secret removed from every line.
- `serving`: a listening socket and a uvicorn server that exits cleanly.
- `untrusted`: text from WhatsApp or an API made safe to print on one line.
- `wording`: small shared English (`count`).

Its modules are imported one by one (nothing is loaded with the package).
"""

__all__ = ["files", "lock", "logs", "rates", "serving", "untrusted", "wording"]
