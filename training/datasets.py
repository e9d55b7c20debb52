"""Batches of FER-2013 faces for Keras ``fit`` on any backend: shuffled, weighted, optionally mixed.

Pure numpy (a ``keras.utils.PyDataset``), so training on the torch backend needs no TensorFlow.
Image augmentation is not here: it runs inside the model (``training.augment``) on the backend's
own kernels, and is inactive at inference.
"""

from __future__ import annotations

import math

import keras
import numpy as np

from training.data import FaceSet, as_model_input
from training.labels import EMOTIONS


class FaceBatches(keras.utils.PyDataset):
    """Batches of (images (B, 48, 48, 1) float32, targets (B, 7), sample weights (B,)).

    ``targets`` (N, 7) are distributions (``training.targets``); without them, the one-hot
    FER-2013 labels. ``class_weights`` (7,) weigh each face by its most likely target class.

    ``training`` reshuffles every epoch (seeded) and drops the last short batch; ``mixup_alpha``
    > 0 blends each example with a shuffled partner (Zhang et al. 2018), targets and weights
    alike. ``max_batches`` caps the epoch (fast dev runs).
    """

    def __init__(
        self,
        faces: FaceSet,
        batch_size: int,
        training: bool,
        seed: int = 1337,
        class_weights: np.ndarray | None = None,
        mixup_alpha: float = 0.0,
        max_batches: int | None = None,
        targets: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        n_classes = len(EMOTIONS)
        per_class = class_weights if class_weights is not None else np.ones(n_classes, np.float32)
        self.images = as_model_input(faces.images)
        self.targets = (
            np.eye(n_classes, dtype=np.float32)[faces.labels]
            if targets is None
            else targets.astype(np.float32)
        )
        self.weights = per_class[self.targets.argmax(axis=1)].astype(np.float32)
        self.batch_size = batch_size
        self.training = training
        self.mixup_alpha = mixup_alpha
        self.rng = np.random.default_rng(seed)
        self.order = np.arange(len(faces))
        drop_last = training and len(faces) >= batch_size
        batches = (math.floor if drop_last else math.ceil)(len(faces) / batch_size)
        self.batches = min(batches, max_batches) if max_batches else batches
        if training:
            self.on_epoch_end()

    def __len__(self) -> int:
        return self.batches

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        picked = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        x, y, w = self.images[picked], self.targets[picked], self.weights[picked]
        if self.training and self.mixup_alpha > 0:
            x, y, w = self._mixup(x, y, w)
        return x, y, w

    def on_epoch_end(self) -> None:
        """A new shuffle for the next epoch (training only)."""
        if self.training:
            self.order = self.rng.permutation(len(self.order))

    def _mixup(
        self, x: np.ndarray, y: np.ndarray, w: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lam = self.rng.beta(self.mixup_alpha, self.mixup_alpha, len(x)).astype(np.float32)
        partner = self.rng.permutation(len(x))
        mixed_x = lam[:, None, None, None] * x + (1 - lam[:, None, None, None]) * x[partner]
        mixed_y = lam[:, None] * y + (1 - lam[:, None]) * y[partner]
        return mixed_x, mixed_y, lam * w + (1 - lam) * w[partner]
