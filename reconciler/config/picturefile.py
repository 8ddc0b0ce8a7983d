"""A group's picture as the config gives it: an https URL, or an image file beside the config.

A file is checked before anything opens it: it must stay inside the config's directory (a
config from a pull request must not read the runner's files) and be a regular file, since
opening a named pipe or a device would wait for a writer or read without end. Then its size,
and the pixels its header claims, are bounded (`core.pictures`) before it is read whole.
"""

from __future__ import annotations

import errno
import stat
from pathlib import Path
from urllib.parse import urlsplit

from reconciler.core.pictures import MAX_PICTURE_BYTES, check_file
from reconciler.errors import PictureError


def checked_url(url: str) -> str:
    if not url.startswith("https://"):
        raise PictureError("a picture URL must start with https://")
    try:
        host = urlsplit(url).hostname
    except ValueError:  # a malformed [IPv6] address or port
        host = None
    if not host:
        raise PictureError(
            f"the picture URL {url!r} has no host: write it as https://<host>/<path>"
        )
    return url


def checked_file(picture: str, base: Path) -> Path:
    """The resolved path of `picture`, an image file inside the directory `base`."""
    path = placed(picture, base)
    try:
        status = path.stat()
    except FileNotFoundError:
        raise PictureError(
            f"the picture file {picture!r} does not exist (looked for {path})"
        ) from None
    except (OSError, ValueError) as exc:
        raise _unusable(picture, exc) from None
    if stat.S_ISDIR(status.st_mode):
        raise PictureError(f"the picture file {picture!r} is a directory: name an image file in it")
    if not stat.S_ISREG(status.st_mode):
        raise PictureError(
            f"the picture file {picture!r} is not a regular file (a pipe, a socket or a device):"
            " point picture: at an image file"
        )
    if status.st_size > MAX_PICTURE_BYTES:
        raise PictureError(
            f"the picture file {picture!r} is {status.st_size:,} bytes; groupctl reads"
            f" pictures of up to {MAX_PICTURE_BYTES:,}: scale it down (WhatsApp shows 640x640)"
        )
    check_file(path, source=f"the picture file {picture!r}")  # its header, not its pixels
    return path


def placed(picture: str, base: Path) -> Path:
    """The resolved path `picture` names inside the directory `base`, the file itself not
    looked at (`groupctl diff` compares what configs say, not whether their files exist)."""
    if not picture.strip():
        raise PictureError(
            "the picture is empty: write an image file path or an https:// URL, or remove picture:"
        )
    try:
        path = (base / picture).resolve()
    except (RuntimeError, OSError, ValueError) as exc:
        raise _unusable(picture, exc) from None
    if Path(picture).is_absolute() or not path.is_relative_to(base):
        raise PictureError(
            f"the picture {picture!r} is outside the config's directory:"
            " keep pictures beside the YAML file"
        )
    return path


def _unusable(picture: str, exc: Exception) -> PictureError:
    # Python up to 3.12 reports a symlink loop from resolve() as a RuntimeError; 3.13 from
    # stat(), as ELOOP.
    if isinstance(exc, RuntimeError) or (isinstance(exc, OSError) and exc.errno == errno.ELOOP):
        return PictureError(
            f"the picture file {picture!r} is a symbolic link that leads back to itself:"
            " point it at an image file"
        )
    # a NUL byte, a name too long for the system...
    return PictureError(f"the picture {picture!r} is not a usable file name ({exc})")
