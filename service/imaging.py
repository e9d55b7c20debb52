"""Encoded image bytes -> grayscale pixels, within limits, with EXIF orientation applied."""

from __future__ import annotations

import io
import warnings

import cv2
import numpy as np
from PIL import Image

from service.errors import ApiError

SUPPORTED_FORMATS = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "BMP": "image/bmp",
}

# Pillow's own bomb guard would warn or raise on a header alone; our pixel limit decides.
Image.MAX_IMAGE_PIXELS = None


def _header(data: bytes) -> tuple[str, int, int]:
    """Format, width and height read from the header only (nothing is decoded yet)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                return str(image.format), image.width, image.height
    except Exception:  # Pillow raises many types for garbage; all mean the same to a client.
        raise ApiError(
            415,
            "unsupported_media_type",
            "the upload is not a JPEG, PNG, WebP or BMP image",
        ) from None


def decode_gray(data: bytes, max_bytes: int, max_pixels: int) -> np.ndarray:
    """Decode to an (H, W) uint8 grayscale array in display orientation.

    Raises ApiError 413 for too many bytes or pixels (checked on the header, before decoding),
    415 for formats other than JPEG/PNG/WebP/BMP and 422 for data that does not decode.
    """
    if not data:
        raise ApiError(422, "empty_image", "the upload is empty")
    if len(data) > max_bytes:
        raise ApiError(
            413, "payload_too_large", f"the upload has {len(data)} bytes; the limit is {max_bytes}"
        )
    fmt, width, height = _header(data)
    if fmt not in SUPPORTED_FORMATS:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"{fmt} images are not supported; send JPEG, PNG, WebP or BMP",
        )
    if width * height > max_pixels:
        raise ApiError(
            413,
            "too_many_pixels",
            f"the image is {width}x{height} = {width * height} pixels; the limit is {max_pixels}",
        )
    # OpenCV applies the EXIF orientation, converts colour, alpha, palette and 16-bit to 8-bit gray.
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None or image.size == 0:
        raise ApiError(422, "undecodable_image", f"the {fmt} data could not be decoded")
    return image
