"""The emotion classifier: one onnxruntime session and the metadata the model carries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from service.crops import CropSpec
from service.model_files import CROP, LABELS, NAME, VERSION
from service.sessions import ModelLoadError, cpu_session, metadata_of


class EmotionModel:
    """Classifies batches of face crops; labels and crop geometry come from the file itself."""

    def __init__(self, path: Path, threads: int = 1) -> None:
        self._session = cpu_session(path, threads)
        meta = metadata_of(self._session)
        try:
            self.labels: tuple[str, ...] = tuple(meta[LABELS])
            crop = meta[CROP]
            self.crop = CropSpec(int(crop["size"]), int(crop["channels"]), float(crop["margin"]))
            self.name = str(meta.get(NAME, path.stem))
            self.version = str(meta.get(VERSION, "unknown"))
            self.metadata: dict[str, Any] = {
                k: v for k, v in meta.items() if k not in (LABELS, CROP)
            }
        except (KeyError, ValueError, TypeError) as exc:
            raise ModelLoadError(
                f"model {path} lacks the labels/crop metadata the service needs ({exc})"
            ) from exc
        if self.crop.channels != 1:
            raise ModelLoadError(f"model {path} wants {self.crop.channels} channels; only 1 works")
        self._input = self._session.get_inputs()[0].name

    def classify(self, crops: np.ndarray) -> np.ndarray:
        """(N, size, size, 1) float32 crops -> (N, labels) probabilities, in one batch."""
        if len(crops) == 0:
            return np.empty((0, len(self.labels)), np.float32)
        return np.asarray(self._session.run(None, {self._input: crops})[0])

    def warm_up(self, runs: int) -> None:
        """Run a few batches so the first real request does not pay for graph initialisation."""
        size = self.crop.size
        for run in range(runs):
            batch = 1 + run % 4  # a few batch shapes, as real frames bring
            self.classify(np.full((batch, size, size, 1), 128.0, np.float32))
