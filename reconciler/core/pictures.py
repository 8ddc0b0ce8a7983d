"""Group pictures: the one normalization apply uploads, and a fingerprint to compare by.

WhatsApp re-encodes every group picture (a square JPEG of at most 640x640), so the bytes it
serves back never equal the bytes uploaded. Plan therefore compares pictures by what they look
like: both sides are normalized the same way, then reduced to a 64-bit difference hash (dHash:
a 9x8 grayscale thumbnail, one bit per pair of neighbouring pixels). Two pictures are the same
when at most `SAME_PICTURE_BITS` of the 64 bits differ. Its limit: two pictures that look
alike at 9x8 pixels (the same logo in a slightly different shade) count as the same, and a
change that small is not uploaded.
"""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError

from reconciler.errors import PictureError

MAX_SIDE = 640
JPEG_QUALITY = 85
SAME_PICTURE_BITS = 6
MAX_PICTURE_BYTES = 5 * 1024 * 1024


def normalize(data: bytes, *, source: str) -> bytes:
    """The picture as apply uploads it: EXIF-rotated, center-cropped square, at most
    640x640, RGB JPEG."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            image = ImageOps.exif_transpose(opened).convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise PictureError(f"{source}: not an image groupctl can read ({exc})") from None
    side = min(image.size)
    square = ImageOps.fit(image, (side, side), method=Image.Resampling.LANCZOS)
    if side > MAX_SIDE:
        square = square.resize((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    square.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def fingerprint(data: bytes, *, source: str) -> str:
    """The dHash of the normalized picture, as 16 hex digits."""
    normalized = normalize(data, source=source)
    with Image.open(io.BytesIO(normalized)) as image:
        pixels = image.convert("L").resize((9, 8), Image.Resampling.LANCZOS).tobytes()
    bits = 0
    for row in range(8):
        for column in range(8):
            left, right = pixels[row * 9 + column], pixels[row * 9 + column + 1]
            bits = (bits << 1) | (left > right)
    return f"{bits:016x}"


def same_picture(first: str, second: str) -> bool:
    """Whether two fingerprints are of the same picture, re-encoding aside."""
    return (int(first, 16) ^ int(second, 16)).bit_count() <= SAME_PICTURE_BITS
