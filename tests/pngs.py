"""Checks that a file is a PNG a viewer will open: signature, IHDR (size, CRC), and IEND."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: str | Path) -> tuple[int, int]:
    """(width, height) of the PNG at `path`; AssertionError if it is not a well-formed PNG.

    Checks the 8-byte signature, that the first chunk is a 13-byte IHDR with a valid CRC, a
    non-zero size, a legal bit depth and colour type, and that the file ends with an IEND chunk.
    """
    data = Path(path).read_bytes()
    assert data[:8] == SIGNATURE, f"{path}: not a PNG (signature {data[:8]!r})"
    assert len(data) >= 8 + 25 + 12, f"{path}: truncated PNG ({len(data)} bytes)"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13, f"{path}: first chunk is {kind!r} of {length} bytes"
    body = data[16:29]
    (crc,) = struct.unpack(">I", data[29:33])
    assert zlib.crc32(b"IHDR" + body) == crc, f"{path}: IHDR CRC mismatch"
    width, height, depth, colour = struct.unpack(">IIBB", body[:10])
    assert width > 0 and height > 0, f"{path}: empty image {width}x{height}"
    assert depth in (1, 2, 4, 8, 16) and colour in (0, 2, 3, 4, 6), f"{path}: bad IHDR {body!r}"
    assert data[-12:] == b"\x00\x00\x00\x00IEND\xaeB`\x82", f"{path}: no IEND at the end"
    return width, height


def assert_png(path: str | Path, *, min_size: tuple[int, int] = (200, 150),
               max_size: tuple[int, int] = (4000, 4000), max_bytes: int = 400_000) -> None:
    """`path` is a valid PNG whose pixel size and file size are sensible for a figure."""
    width, height = png_size(path)
    assert min_size[0] <= width <= max_size[0] and min_size[1] <= height <= max_size[1], (
        f"{path}: {width}x{height} pixels is outside {min_size}..{max_size}"
    )
    size = Path(path).stat().st_size
    assert 1_000 <= size <= max_bytes, f"{path}: {size} bytes is outside 1 kB..{max_bytes} B"
