"""Uploads built byte by byte: multipart bodies as some HTTP clients write them, and TIFF files
(pages, bit depths, headers that claim more than they carry)."""

from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image

BOUNDARY = "fer-test-boundary"


def multipart_body(disposition: str, data: bytes, mime: str = "image/jpeg") -> bytes:
    """One part with the given Content-Disposition line (e.g. without a filename)."""
    return (
        (
            f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\nContent-Type: {mime}\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


MULTIPART_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def tiff_pages(pages: list[np.ndarray]) -> bytes:
    """A TIFF with one page per array (gray or RGB, uint8 or uint16 gray), written by Pillow."""
    images = [Image.fromarray(p) for p in pages]
    buffer = io.BytesIO()
    images[0].save(buffer, "TIFF", save_all=len(images) > 1, append_images=images[1:])
    return buffer.getvalue()


def tiff_header_only(width: int, height: int) -> bytes:
    """An uncompressed 8-bit gray TIFF whose header claims ``width`` x ``height`` and that
    carries 64 bytes of pixels."""
    entries = [
        (256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1),
        (262, 3, 1, 1), (273, 4, 1, 0), (277, 3, 1, 1), (278, 4, 1, height),
        (279, 4, 1, width * height),
    ]  # fmt: skip
    ifd_size = 2 + 12 * len(entries) + 4
    pixels_at = 8 + ifd_size
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        value = pixels_at if tag == 273 else value
        packed = struct.pack("<HxxI", value, 0)[:4] if kind == 3 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, kind, count) + packed
    ifd += struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + b"\x00" * 64
