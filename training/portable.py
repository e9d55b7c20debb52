"""A run's latest weights as one small file, so a long run can continue on another machine.

``python -m training checkpoint --run-dir RUN --out models/checkpoints/NAME.npz`` writes the
raw (not averaged) weights of the last finished epoch as float16 arrays in one ``.npz`` (about
6.5 MB for MobileNet v1), and ``NAME.json`` beside it says which epoch that is, the run's
settings and the command that continues the run: the same recipe with ``--init-from`` this file
and ``--initial-epoch`` the epochs done, so the learning-rate schedule picks up where it was.
The optimizer's moments and the weight average restart from these weights.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import keras
import numpy as np

from training.errors import TrainingError


def write_portable(model: keras.Model, out: Path, info: dict[str, Any]) -> None:
    """Save ``model``'s weights (floats as float16) to ``out`` (.npz) and ``info`` beside it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    arrays = [
        w.astype(np.float16) if np.issubdtype(w.dtype, np.floating) else w
        for w in model.get_weights()
    ]
    staging = out.with_name(out.name + ".partial")
    with staging.open("wb") as handle:
        np.savez_compressed(handle, *arrays)
    staging.replace(out)
    out.with_suffix(".json").write_text(json.dumps(info, indent=2) + "\n")


def load_portable(model: keras.Model, path: Path) -> None:
    """Set ``model``'s weights from a portable checkpoint; TrainingError if it does not fit."""
    with np.load(path) as stored:
        arrays = [stored[f"arr_{i}"] for i in range(len(stored.files))]
    expected = model.get_weights()
    if [a.shape for a in arrays] != [w.shape for w in expected]:
        raise TrainingError(f"{path} holds weights of another architecture than this run's model")
    model.set_weights([a.astype(w.dtype) for a, w in zip(arrays, expected, strict=True)])
