"""Lessons 00-05: the PNG a dashboard sends on every slider move, the figure's canvas encoded by hand
(vaelib.widgets)."""

import struct

import numpy as np
from matplotlib.figure import Figure

try:  # zlib-ng deflates the same stream as zlib, and faster
    from zlib_ng import zlib_ng as zlib
except ImportError:  # pragma: no cover - vaelib lists zlib-ng; plain zlib is the fallback
    import zlib


def png(fig: Figure, text: dict[str, str] | None = None) -> bytes:
    """The figure's current canvas as PNG bytes, with `text` as tEXt chunks (keyword: value). By hand:
    RGBA rows, no filter, deflate level 1, fastest per move (benchmarks/browser_latency.py --images)."""
    w, h = fig.canvas.get_width_height(physical=True)
    rows = np.empty((h, 4 * w + 1), dtype=np.uint8)
    rows[:, 0] = 0  # filter type "None" before each row
    rows[:, 1:] = np.asarray(fig.canvas.buffer_rgba()).reshape(h, 4 * w)
    header = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)  # 8-bit RGBA
    notes = b"".join(_chunk(b"tEXt", k.encode("latin-1") + b"\0" + v.encode("latin-1"))
                     for k, v in (text or {}).items())
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + notes
            + _chunk(b"IDAT", zlib.compress(memoryview(rows), 1)) + _chunk(b"IEND", b""))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
