"""Group pictures as Titan takes them: a base64 JPEG, or a URL it fetches and stores as JPEG."""

from __future__ import annotations

import base64
import binascii
import io

import httpx
from PIL import Image, UnidentifiedImageError

from reconciler.sim.world import SimError

MAX_PICTURE_BYTES = 5 * 1024 * 1024


def decode_jpeg(encoded: str) -> bytes:
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise SimError(400, "base64 is not valid base64") from None
    if len(data) > MAX_PICTURE_BYTES:
        raise SimError(400, f"the picture is larger than {MAX_PICTURE_BYTES} bytes")
    if _image_format(data) != "JPEG":
        raise SimError(400, "the picture must be a JPEG image")
    return data


async def download_image(url: str) -> bytes:
    """Fetch a picture URL as Titan would, and store it as JPEG whatever its format."""
    try:
        async with httpx.AsyncClient(timeout=10.0, follow_redirects=True) as http:
            response = await http.get(url)
    except httpx.HTTPError as exc:
        raise SimError(400, f"could not download the picture: {exc}") from None
    if not response.is_success or len(response.content) > MAX_PICTURE_BYTES:
        raise SimError(400, f"could not download the picture (HTTP {response.status_code})")
    if _image_format(response.content) == "JPEG":
        return response.content
    with Image.open(io.BytesIO(response.content)) as image:
        out = io.BytesIO()
        image.convert("RGB").save(out, format="JPEG")
        return out.getvalue()


def _image_format(data: bytes) -> str | None:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            return image.format
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise SimError(400, "the picture is not a readable image") from None
