"""Where things are: the checkout, and ../shared (or the folder ``FER_SHARED`` names)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# ../shared beside the checkout, or where FER_SHARED points (a clone elsewhere).
SHARED = Path(os.environ.get("FER_SHARED", ROOT.parent / "shared"))
FER_DATA = SHARED / "data" / "fer2013"
EMOTION_FOLDERS = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
