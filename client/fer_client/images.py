"""Image inputs (a path, encoded bytes or a numpy array) -> the encoded bytes the service takes,
and folder walking."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import cv2
import numpy as np

from fer_client.errors import InputError

ImageInput: TypeAlias = str | os.PathLike[str] | bytes | np.ndarray
"""A file path, the bytes of an encoded image (JPEG, PNG, WebP, BMP, TIFF), or a uint8 array of
shape (H, W) gray, (H, W, 3) BGR or (H, W, 4) BGRA, as OpenCV reads images."""

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})
JPEG_QUALITY = 90

_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG", "image/png"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)


def encode_array(image: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    """A uint8 (H, W), (H, W, 3) BGR or (H, W, 4) BGRA array as JPEG bytes.

    Raises InputError for other dtypes or shapes.
    """
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or image.size == 0:
        raise InputError(
            f"an image array must be uint8 (H, W), (H, W, 3) or (H, W, 4); got {image.dtype} "
            f"{image.shape}"
        )
    if image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    elif image.ndim == 3 and image.shape[2] != 3:
        raise InputError(f"an image array needs 1, 3 or 4 channels; got {image.shape[2]}")
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise InputError(f"OpenCV could not encode a {image.shape} array as JPEG")
    return buffer.tobytes()


def image_bytes(image: ImageInput) -> bytes:
    """The encoded bytes to send for ``image`` (arrays become JPEG, quality 90).

    Raises InputError for a file that cannot be read or an unsupported array.
    """
    if isinstance(image, bytes):
        return image
    if isinstance(image, np.ndarray):
        return encode_array(image)
    try:
        return Path(image).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {image}: {exc.strerror or exc}") from None


def media_type(data: bytes) -> str:
    """The MIME type the leading bytes announce (the service checks the content itself)."""
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


def image_name(image: ImageInput, index: int) -> str:
    """The filename sent with ``image``: a path's name, else ``image-<index>``."""
    if isinstance(image, str | os.PathLike):
        return Path(image).name
    return f"image-{index}"


@dataclass(frozen=True)
class Skipped:
    """A file found in a folder and not sent, and why."""

    path: Path
    reason: str


def scan_images(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[Path], list[Skipped]]:
    """Every file named in ``paths``, and the image files (by suffix) in every folder named,
    recursively, sorted within each folder; and the folders' other files, with why each was
    skipped.

    Raises InputError for a path that does not exist.
    """
    found: list[Path] = []
    skipped: list[Skipped] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    suffix = Path(name).suffix.lower()
                    if suffix in IMAGE_SUFFIXES:
                        found.append(Path(root) / name)
                    else:
                        why = f"{suffix} is not an image suffix" if suffix else "no suffix"
                        skipped.append(Skipped(Path(root) / name, why))
        elif path.exists():
            found.append(path)
        else:
            raise InputError(f"{path}: no such file or folder")
    return found, skipped


def find_images(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """The images ``scan_images`` finds (files named, image files in folders named)."""
    yield from scan_images(paths)[0]
