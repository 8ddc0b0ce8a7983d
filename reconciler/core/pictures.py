"""Group pictures: the one normalization apply uploads, and a fingerprint to compare by.

WhatsApp re-encodes every group picture (a square JPEG of at most 640x640), so the bytes it
serves back never equal the bytes uploaded. Plan therefore compares pictures by what they look
like: both sides are normalized the same way, then reduced to a 64-bit difference hash (dHash:
a 9x8 grayscale thumbnail, one bit per pair of neighbouring pixels). Two pictures are the same
when at most `SAME_PICTURE_BITS` of the 64 bits differ. Its limit: two pictures that look
alike at 9x8 pixels (the same logo in a slightly different shade) count as the same, and a
change that small is not uploaded.

A picture comes from a config, a URL or WhatsApp, none of them trusted, and a few kilobytes of
PNG can claim a billion pixels. Its size is read from its header and refused past
`MAX_PICTURE_PIXELS` before a pixel is decoded, and at most `DECODING_AT_ONCE` pictures are
decoded at a time, so a plan's memory for pictures is bounded whatever the config says.
"""

from __future__ import annotations

import functools
import io
import os
import threading
import warnings
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from reconciler.errors import PictureError

if TYPE_CHECKING:
    from PIL import Image

MAX_SIDE = 640
JPEG_QUALITY = 85
SAME_PICTURE_BITS = 6
MAX_PICTURE_BYTES = 5 * 1024 * 1024  # a picture file the config names
# 4096x4096: any logo or screenshot; decoded, about 64 MiB (RGBA), and as much again while it
# is converted and cropped. A JPEG is decoded at a reduced scale (see `bounded`), so a camera's
# photo of 100 million pixels counts as its 1/8 scale.
MAX_PICTURE_PIXELS = 4096 * 4096
# Pillow lets go of the GIL while it decodes and resizes, so pictures are fingerprinted in
# threads, in parallel (engine/live.py); this bounds how many are in memory at once.
DECODING_AT_ONCE = min(4, os.cpu_count() or 1)
_decoding = threading.BoundedSemaphore(DECODING_AT_ONCE)


@functools.cache
def _pillow() -> ModuleType:
    """Pillow's Image module, imported at the first picture: a run without pictures (most
    `validate`s) does not pay for it."""
    from PIL import Image

    # Pillow warns of pictures over 89 million pixels as it opens them (and refuses twice
    # that): this module refuses them itself, more strictly, so the warning would only repeat
    # it on stderr.
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
    return Image


def _unreadable() -> tuple[type[Exception], ...]:
    """What Pillow raises for data that is not a picture it can read."""
    image = _pillow()
    return (image.UnidentifiedImageError, OSError, ValueError, image.DecompressionBombError)


def check_file(path: Path, *, source: str) -> None:
    """Read the header of the picture file `path`, and refuse it unless Pillow can read it
    and it claims at most MAX_PICTURE_PIXELS (see `bounded`); no pixel is decoded."""
    try:
        with _pillow().open(path) as image:
            bounded(image, source=source).verify()
    except PictureError:
        raise
    except _unreadable():
        raise PictureError(f"{source} is not an image Pillow can read") from None


def bounded(image: Image.Image, *, source: str) -> Image.Image:
    """`image`, just opened (its header read, no pixel decoded), set to decode at the
    smallest scale that still covers MAX_SIDE (JPEG only); refused if even so it has more
    than MAX_PICTURE_PIXELS."""
    image.draft("RGB", (MAX_SIDE, MAX_SIDE))
    width, height = image.size
    if width * height > MAX_PICTURE_PIXELS:
        raise PictureError(
            f"{source}: the picture is {width}x{height} pixels, more than the"
            f" {MAX_PICTURE_PIXELS:,} (4096x4096) groupctl decodes: scale it down"
            f" (WhatsApp shows it at {MAX_SIDE}x{MAX_SIDE})"
        )
    return image


def normalize(data: bytes, *, source: str) -> bytes:
    """The picture as apply uploads it: EXIF-rotated, center-cropped square, at most
    640x640, RGB JPEG."""
    from PIL import ImageOps

    try:
        with _decoding, _pillow().open(io.BytesIO(data)) as opened:
            image = ImageOps.exif_transpose(bounded(opened, source=source)).convert("RGB")
            return _normalized(image)
    except PictureError:
        raise
    except _unreadable() as exc:
        raise PictureError(f"{source}: not an image groupctl can read ({exc})") from None


def _normalized(image: Image.Image) -> bytes:
    from PIL import ImageOps

    lanczos = _pillow().Resampling.LANCZOS
    side = min(image.size)
    square = ImageOps.fit(image, (side, side), method=lanczos)
    if side > MAX_SIDE:
        square = square.resize((MAX_SIDE, MAX_SIDE), lanczos)
    out = io.BytesIO()
    square.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def fingerprint(data: bytes, *, source: str) -> str:
    """The dHash of the normalized picture, as 16 hex digits."""
    normalized = normalize(data, source=source)
    pillow = _pillow()
    with pillow.open(io.BytesIO(normalized)) as image:
        pixels = image.convert("L").resize((9, 8), pillow.Resampling.LANCZOS).tobytes()
    bits = 0
    for row in range(8):
        for column in range(8):
            left, right = pixels[row * 9 + column], pixels[row * 9 + column + 1]
            bits = (bits << 1) | (left > right)
    return f"{bits:016x}"


def same_picture(first: str, second: str) -> bool:
    """Whether two fingerprints are of the same picture, re-encoding aside."""
    return (int(first, 16) ^ int(second, 16)).bit_count() <= SAME_PICTURE_BITS
