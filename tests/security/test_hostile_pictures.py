"""A picture is untrusted wherever it comes from (a config's file, a URL, what WhatsApp serves):
the pixels its header claims are bounded before any is decoded, a picture file's size too, and
pictures are fingerprinted in worker threads, in parallel, while the event loop carries on."""

from __future__ import annotations

import io
import struct
import subprocess
import threading
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from reconciler.core.pictures import fingerprint, same_picture
from reconciler.engine import live
from reconciler.errors import PictureError
from tests.support.builders import desired, want
from tests.support.harness import Harness
from tests.support.pictures import LEFT, RIGHT, picture_file


def claimed(width: int, height: int) -> bytes:
    """A valid PNG of `width` x `height` black pixels, one bit each: a few kilobytes that
    decode to width x height bytes and more."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit grayscale
    rows = (b"\0" * (1 + (width + 7) // 8)) * height  # filter byte, then the row's bits
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def test_a_picture_claiming_too_many_pixels_is_refused_before_decoding() -> None:
    bomb = claimed(8000, 8000)  # 64 million pixels; decoded as RGB, 192 MB
    assert len(bomb) < 64 * 1024
    with pytest.raises(PictureError) as refused:
        fingerprint(bomb, source="https://example.com/p.png")
    assert str(refused.value) == (
        "https://example.com/p.png: the picture is 8000x8000 pixels, more than the"
        " 16,777,216 (4096x4096) groupctl decodes: scale it down (WhatsApp shows it at 640x640)"
    )


def test_validate_refuses_picture_files_too_big_or_claiming_too_many_pixels(
    groupctl: str, tmp_path: Path
) -> None:
    (tmp_path / "bomb.png").write_bytes(claimed(8000, 8000))
    small = claimed(64, 64)
    (tmp_path / "huge.png").write_bytes(small + b"\0" * (6 * 1024 * 1024 - len(small)))
    (tmp_path / "groups.yaml").write_text(
        "version: 1\ngroups:\n"
        "  a: {subject: A, picture: bomb.png}\n"
        "  b: {subject: B, picture: huge.png}\n"
    )
    done = subprocess.run(
        [groupctl, "validate"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "groups.yaml:3:28: the picture file 'bomb.png': the picture is 8000x8000 pixels, more"
        " than the 16,777,216 (4096x4096) groupctl decodes: scale it down (WhatsApp shows it"
        " at 640x640)",
        "groups.yaml:4:28: the picture file 'huge.png' is 6,291,456 bytes; groupctl reads"
        " pictures of up to 5,242,880: scale it down (WhatsApp shows 640x640)",
        "error: the config has 2 problems",
    ]


def test_a_camera_sized_jpeg_is_decoded_at_a_reduced_scale_not_refused() -> None:
    """20 million pixels, over the bound: a JPEG decodes at 1/4 scale, and looks the same."""
    photo = Image.new("RGB", (5000, 4000), (20, 30, 90))
    ImageDraw.Draw(photo).rectangle((500, 0, 2500, 4000), fill=(255, 255, 255))
    big, small = io.BytesIO(), io.BytesIO()
    photo.save(big, format="JPEG")
    photo.resize((500, 400)).save(small, format="JPEG")
    assert same_picture(
        fingerprint(big.getvalue(), source="big.jpg"),
        fingerprint(small.getvalue(), source="small.jpg"),
    )


async def test_pictures_are_fingerprinted_in_parallel_off_the_event_loop(
    sim: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each fingerprint waits for the other to start: only two in flight at once, in threads,
    get past the barrier (run one after the other, or on the event loop, the first waits in
    vain and the barrier breaks)."""
    both_started = threading.Barrier(2, timeout=10)

    def meeting(data: bytes, *, source: str) -> str:
        both_started.wait()
        return fingerprint(data, source=source)

    monkeypatch.setattr("reconciler.engine.live.fingerprint", meeting)
    config = desired(
        want("a", "A", picture=picture_file(tmp_path, LEFT, "a.png")),
        want("b", "B", picture=picture_file(tmp_path, RIGHT, "b.png")),
    )
    state = await live.fetch(sim.client(), config)
    assert len(set(state.pictures.values())) == 2
    assert state.picture_problems == {}
