"""Request and stream-option bounds, defined once for the settings, the REST query parameters
(``service.api.params``), the stream's query parameters and control messages, and therefore the
OpenAPI spec."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import Field


@dataclass(frozen=True)
class Bound:
    """An integer option's inclusive range and what it means."""

    low: int
    high: int
    description: str

    def field(self) -> Any:
        """A pydantic ``Field`` with these bounds (for settings)."""
        return Field(ge=self.low, le=self.high, description=self.description)

    def check(self, name: str, value: int) -> str | None:
        """What is wrong with ``value`` for option ``name``, or None when it is in range."""
        if self.low <= value <= self.high:
            return None
        return f"{name} must be in {self.low}..{self.high}"


MAX_FACES = Bound(1, 100, "most faces to return, largest first")
MIN_FACE_SIZE = Bound(8, 4096, "smallest face side in pixels")
HALF_LIFE_MS = Bound(0, 60_000, "emotion smoothing half-life in ms of frame time; 0 = off")
DETECT_EVERY_MS = Bound(
    0, 10_000, "run the full-frame detector at least this often (ms); 0 = on every frame"
)
DETECT_EVERY_FRAMES = Bound(
    0, 1000, "run the full-frame detector at least every N frames; 0 = no frame count"
)
KEEP_MS = Bound(0, 60_000, "keep an unseen track (and its id) this long (ms)")

# Options a stream takes as query parameters and in JSON control messages.
STREAM_OPTIONS: dict[str, Bound] = {
    "max_faces": MAX_FACES,
    "min_face_size": MIN_FACE_SIZE,
    "half_life_ms": HALF_LIFE_MS,
    "detect_every_ms": DETECT_EVERY_MS,
    "detect_every_frames": DETECT_EVERY_FRAMES,
    "keep_ms": KEEP_MS,
}
