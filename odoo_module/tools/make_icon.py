#!/usr/bin/env python3
"""Write channel_sync/static/description/icon.png: a hub with six spokes
(Odoo in the middle, one marketplace on each spoke), drawn pixel by pixel
and encoded with zlib/struct only, so the icon is reproducible without any
image library or download."""

import math
import struct
import sys
import zlib
from pathlib import Path

SIZE = 128
BACKGROUND = (0x71, 0x4B, 0x67)  # Odoo purple
SPOKE = (0xFF, 0xFF, 0xFF)
HUB = (0x01, 0x7E, 0x84)  # teal
NODE = (0xF3, 0xC1, 0x4C)  # amber


def _inside_rounded_square(x, y, radius=22):
    cx = min(max(x, radius), SIZE - 1 - radius)
    cy = min(max(y, radius), SIZE - 1 - radius)
    return (x - cx) ** 2 + (y - cy) ** 2 <= radius**2


def _dist_to_segment(px, py, ax, ay, bx, by):
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def render():
    centre = SIZE / 2
    nodes = [
        (
            centre + 40 * math.cos(math.radians(90 + 60 * i)),
            centre - 40 * math.sin(math.radians(90 + 60 * i)),
        )
        for i in range(6)
    ]
    rows = []
    for y in range(SIZE):
        row = bytearray([0])  # filter type 0 (None)
        for x in range(SIZE):
            px, py = x + 0.5, y + 0.5
            if not _inside_rounded_square(x, y):
                pixel = (0, 0, 0, 0)
            elif math.hypot(px - centre, py - centre) <= 17:
                pixel = (*HUB, 255)
            elif any(math.hypot(px - nx, py - ny) <= 10 for nx, ny in nodes):
                pixel = (*NODE, 255)
            elif any(
                _dist_to_segment(px, py, centre, centre, nx, ny) <= 3.2
                for nx, ny in nodes
            ):
                pixel = (*SPOKE, 255)
            else:
                pixel = (*BACKGROUND, 255)
            row.extend(pixel)
        rows.append(bytes(row))
    return b"".join(rows)


def png(raw):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def main():
    target = Path(__file__).resolve().parent.parent / "channel_sync/static/description/icon.png"
    if len(sys.argv) > 1:
        target = Path(sys.argv[1])
    target.write_bytes(png(render()))
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
