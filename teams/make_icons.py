"""Draw the Teams app icons (color.png 192x192, outline.png 32x32) with nothing but the standard
library. The PNGs are committed; run this again only to change the design:

    python teams/make_icons.py
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ACCENT = (0x1F, 0x6F, 0x8B)
WHITE = (0xFF, 0xFF, 0xFF)


def png(width: int, height: int, pixels: list[list[tuple[int, int, int, int]]]) -> bytes:
    """An 8-bit RGBA PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes(v for px in row for v in px) for row in pixels)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def plus(x: float, y: float, size: int, arm: float, thickness: float) -> bool:
    """A medical cross centred in a size x size square."""
    c = size / 2
    dx, dy = abs(x - c), abs(y - c)
    return (dx <= thickness / 2 and dy <= arm) or (dy <= thickness / 2 and dx <= arm)


def ring(x: float, y: float, size: int, radius: float, width: float) -> bool:
    c = size / 2
    d = ((x - c) ** 2 + (y - c) ** 2) ** 0.5
    return radius - width <= d <= radius


def color_icon(size: int = 192) -> bytes:
    rows = []
    for j in range(size):
        row = []
        for i in range(size):
            x, y = i + 0.5, j + 0.5
            shape = plus(x, y, size, size * 0.30, size * 0.20) or ring(x, y, size, size * 0.44, size * 0.05)
            row.append((*WHITE, 255) if shape else (*ACCENT, 255))
        rows.append(row)
    return png(size, size, rows)


def outline_icon(size: int = 32) -> bytes:
    """White on transparent, as Teams requires for the outline icon."""
    rows = []
    for j in range(size):
        row = []
        for i in range(size):
            x, y = i + 0.5, j + 0.5
            shape = plus(x, y, size, size * 0.28, size * 0.18) or ring(x, y, size, size * 0.47, size * 0.07)
            row.append((*WHITE, 255) if shape else (0, 0, 0, 0))
        rows.append(row)
    return png(size, size, rows)


if __name__ == "__main__":
    (HERE / "color.png").write_bytes(color_icon())
    (HERE / "outline.png").write_bytes(outline_icon())
    print(f"wrote {HERE / 'color.png'} and {HERE / 'outline.png'}")
