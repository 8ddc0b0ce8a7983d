"""Picture files for tests: different enough that fingerprints tell them apart."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from reconciler.core.groups import LocalPicture

# Pictures that look different: a fingerprint sees shapes, not colours.
LEFT, RIGHT, STRIPES = ((0, 60), (60, 120), (0, 15, 30, 45, 60, 75, 90, 105))


def picture_file(directory: Path, white: tuple[int, ...], name: str = "logo.png") -> LocalPicture:
    """A 120x120 picture, dark but for white vertical bands from each pair of `white`'s x."""
    image = Image.new("RGB", (120, 120), (20, 30, 90))
    for start, end in zip(white[::2], white[1::2], strict=True):
        image.paste((255, 255, 255), (start, 0, end, 120))
    path = directory / name
    image.save(path)
    return LocalPicture(path, shown=name)
