"""Where a DNN detector looks in an image: the one rule that picks scales and tiles.

A DNN detector finds faces down to ``native_face`` pixels of its input. Seen whole at
``input_side`` (the first pass, the only one before this rule), a large image's small faces are
below that size. So the rule adds finer levels, each at most 2x the last, up to the scale where
a ``min_face_size`` face is ``native_face`` pixels (never above 1:1), cut into tiles of
``input_side`` pixels that overlap by ``2 * native_face`` (every face a level is meant for
lies wholly in some tile); one NMS runs over every candidate of every level and tile.

- Nothing extra is run unless a finer level would see faces at least 2x smaller than the first
  pass: a 640x480 frame (first pass at 0.6 scale) pays nothing extra.
- The work per image is bounded: the detector input pixels of all levels and tiles together
  stay within ``work_pixels``. Past the bound, the finest scale is lowered (in 10% steps) until
  the plan fits, so the smallest face found grows instead of the time; the first pass always
  runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

STRIDE_MULTIPLE = 32  # the DNN detectors' coarsest stride: input sides must divide by it
LEVEL_STEP = 2.0  # finer levels are at most this factor apart (the tile overlap relies on it)
SHRINK = 0.9  # the finest scale's step down while a plan exceeds its work bound

Tile = tuple[int, int, int, int]  # x0, y0, x1, y1 in level pixels


@dataclass(frozen=True)
class Level:
    """One scale of the image and the tiles the detector sees it in (the first pass: one
    whole-image tile, scaled so the long side is the input side)."""

    scale: float
    width: int
    height: int
    tiles: tuple[Tile, ...]
    overlap: int

    def core(self, tile: Tile) -> Tile:
        """The part of ``tile`` that owns the candidates centred in it: the tile less half the
        overlap on each side that borders another tile."""
        x0, y0, x1, y1 = tile
        half = self.overlap / 2
        return (
            round(x0 + half) if x0 > 0 else x0,
            round(y0 + half) if y0 > 0 else y0,
            round(x1 - half) if x1 < self.width else x1,
            round(y1 - half) if y1 < self.height else y1,
        )


def padded(side: int) -> int:
    """``side`` rounded up to a multiple of STRIDE_MULTIPLE."""
    return -(-side // STRIDE_MULTIPLE) * STRIDE_MULTIPLE


def first_scale(width: int, height: int, input_side: int) -> float:
    """The first pass's scale: the long side becomes the input side."""
    return input_side / max(width, height)


def _starts(length: int, tile: int, overlap: int) -> list[int]:
    if length <= tile:
        return [0]
    count = math.ceil((length - overlap) / (tile - overlap))
    return [round(i * (length - tile) / (count - 1)) for i in range(count)]


def _level(width: int, height: int, scale: float, tile: int, overlap: int) -> Level:
    lw, lh = max(1, round(width * scale)), max(1, round(height * scale))
    tiles = tuple(
        (x, y, min(lw, x + tile), min(lh, y + tile))
        for y in _starts(lh, tile, overlap)
        for x in _starts(lw, tile, overlap)
    )
    return Level(scale, lw, lh, tiles, overlap)


def cost(levels: list[Level]) -> int:
    """Detector input pixels of a plan (tiles padded to the stride)."""
    return sum(padded(x1 - x0) * padded(y1 - y0) for lv in levels for x0, y0, x1, y1 in lv.tiles)


def plan(
    width: int,
    height: int,
    input_side: int,
    native_face: int,
    min_face_size: int,
    work_pixels: int,
) -> list[Level]:
    """The levels a detector runs on a ``width`` x ``height`` image (see the module docstring)."""
    scale0 = first_scale(width, height, input_side)
    fw, fh = max(1, round(width * scale0)), max(1, round(height * scale0))
    first = Level(scale0, fw, fh, ((0, 0, fw, fh),), 0)
    finest = min(1.0, native_face / min_face_size)
    overlap = min(2 * native_face, input_side // 2)
    while finest >= LEVEL_STEP * scale0:
        steps = math.ceil(math.log(finest / scale0) / math.log(LEVEL_STEP) - 1e-9)
        ratio = (finest / scale0) ** (1 / steps)
        levels = [first] + [
            _level(width, height, scale0 * ratio**k, input_side, overlap)
            for k in range(1, steps + 1)
        ]
        if cost(levels) <= work_pixels:
            return levels
        finest *= SHRINK
    return [first]


def smallest_face(levels: list[Level], native_face: int) -> float:
    """The smallest face side (image pixels) a plan is meant to find."""
    return native_face / max(lv.scale for lv in levels)
