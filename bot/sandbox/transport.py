"""Gateway transport compression (developers/events/gateway.mdx, "Transport Compression"): what a connection that
asked for ``compress=zlib-stream`` or ``compress=zstd-stream`` sends instead of text frames.

- zlib-stream: one zlib context for the connection's life, each message ``Z_SYNC_FLUSH``ed (so it ends with
  ``00 00 ff ff``);
- zstd-stream: one zstd frame for the connection's life, each message a run of blocks that "does not end a zstd
  frame". The sandbox writes raw (stored) blocks, which every zstd decoder reads (RFC 8878 sections 3.1.1-3.1.1.2):
  smaller than Discord's, the same stream.
"""

from __future__ import annotations

import struct
import zlib
from typing import Protocol

ZLIB_STREAM = "zlib-stream"
ZSTD_STREAM = "zstd-stream"

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
# Frame header descriptor 0: no content size, not single-segment, no checksum, no dictionary; then a window
# descriptor for 128 KiB (exponent 7: 2 ** (10 + 7)), the largest block a window that size allows.
_ZSTD_HEADER = _ZSTD_MAGIC + b"\x00" + bytes([7 << 3])
_ZSTD_BLOCK = 128 * 1024


class Compressor(Protocol):
    def compress(self, data: bytes) -> bytes: ...


class ZlibStream:
    def __init__(self) -> None:
        self._z = zlib.compressobj()

    def compress(self, data: bytes) -> bytes:
        return self._z.compress(data) + self._z.flush(zlib.Z_SYNC_FLUSH)


class ZstdStream:
    def __init__(self) -> None:
        self._started = False

    def compress(self, data: bytes) -> bytes:
        out = bytearray()
        if not self._started:
            out += _ZSTD_HEADER
            self._started = True
        for start in range(0, len(data), _ZSTD_BLOCK):
            chunk = data[start : start + _ZSTD_BLOCK]
            # Block header, 3 bytes little-endian: Last_Block 0, Block_Type 0 (raw), Block_Size.
            out += struct.pack("<I", len(chunk) << 3)[:3] + chunk
        return bytes(out)


def compressor_for(name: str | None) -> Compressor | None:
    """The compressor a connection asked for in its URL's ``compress``; ``None``: plain text frames."""
    if name == ZLIB_STREAM:
        return ZlibStream()
    if name == ZSTD_STREAM:
        return ZstdStream()
    return None
