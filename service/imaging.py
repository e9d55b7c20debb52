"""Encoded image bytes -> grayscale pixels, within limits, with EXIF orientation applied.

TIFF files (8- or 16-bit, gray or colour) are taken one page at a time: a file with several
pages is refused (``multi_page_image``) rather than answered for a page the client did not pick.
"""

from __future__ import annotations

import io
import warnings

import cv2
import numpy as np
from PIL import Image

from service.errors import (
    EmptyImage,
    ImageTooLarge,
    MultiPageImage,
    UndecodableImage,
    UnsupportedImage,
)

SUPPORTED_FORMATS = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
}
FORMAT_NAMES = "JPEG, PNG, WebP, BMP or TIFF"

# Pillow's own bomb guard would warn or raise on a header alone; our pixel limit decides.
Image.MAX_IMAGE_PIXELS = None
# OpenCV's decoders refuse a side longer than this (CV_IO_MAX_IMAGE_WIDTH and _HEIGHT, 1 << 20,
# whatever the pixel count), so a 10,000,000 x 2 image under the pixel limit is refused here,
# from its header, rather than by the decoder.
MAX_SIDE = 1 << 20


def _signature(data: bytes) -> str | None:
    """The supported format whose magic bytes ``data`` starts with, if any."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data.startswith(b"BM"):
        return "BMP"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    return None


def _header(data: bytes) -> tuple[str, int, int, int]:
    """Format, width, height and page count read from the headers only (nothing is decoded)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                pages = int(getattr(image, "n_frames", 1)) if image.format == "TIFF" else 1
                return str(image.format), image.width, image.height, pages
    except Exception:  # Pillow raises many types for garbage; all mean the same to a client.
        fmt = _signature(data)
        if fmt is not None:  # a supported format cut short or damaged, not a foreign one
            raise UndecodableImage(f"the {fmt} data is truncated or corrupt") from None
        raise UnsupportedImage(f"the upload is not a {FORMAT_NAMES} image") from None


def decode_gray(data: bytes, max_bytes: int, max_pixels: int) -> np.ndarray:
    """Decode to an (H, W) uint8 grayscale array in display orientation.

    Raises ImageTooLarge for too many bytes or pixels (checked on the header, before decoding),
    UnsupportedImage for formats other than JPEG/PNG/WebP/BMP/TIFF, MultiPageImage for a TIFF
    of several pages, EmptyImage and UndecodableImage.
    """
    if not data:
        raise EmptyImage("the upload is empty")
    if len(data) > max_bytes:
        raise ImageTooLarge(f"the upload has {len(data)} bytes; the limit is {max_bytes}")
    fmt, width, height, pages = _header(data)
    if fmt not in SUPPORTED_FORMATS:
        raise UnsupportedImage(f"{fmt} images are not supported; send {FORMAT_NAMES}")
    if pages > 1:
        raise MultiPageImage(
            f"the {fmt} file has {pages} pages; send one page per image (e.g. split it with "
            "`tiffsplit` or Pillow's ImageSequence)"
        )
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"the image is {width}x{height} = {width * height} pixels; the limit is {max_pixels}",
            code="too_many_pixels",
        )
    if max(width, height) > MAX_SIDE:
        raise ImageTooLarge(
            f"the image is {width}x{height}; no side may exceed {MAX_SIDE} pixels",
            code="too_many_pixels",
        )
    # OpenCV applies the EXIF orientation, converts colour, alpha, palette and 16-bit to 8-bit gray.
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    except cv2.error:  # a header Pillow reads but OpenCV's decoder refuses: the client's data
        image = None
    if image is None or image.size == 0:
        raise UndecodableImage(f"the {fmt} data could not be decoded")
    return image
