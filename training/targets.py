"""What a run learns from: the faces of each split and their target distributions.

``fer2013`` targets are one-hot FER-2013 labels on every face. ``ferplus`` targets are the FER+
vote distributions (``training.ferplus.soft_targets``), optionally mixed with the one-hot FER-2013
label (``fer2013_mix``); training keeps the faces ``ferplus.trainable`` accepts and validation
keeps those with a FER+ majority, so ``val_accuracy`` during training is top-1 against the FER+
majority, the number the run is selected on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training import ferplus
from training.data import FaceSet, Splits
from training.errors import TrainingError
from training.labels import EMOTIONS


@dataclass(frozen=True)
class Targeted:
    """Faces (N) and their targets (N, 7) float32, rows summing to 1."""

    faces: FaceSet
    targets: np.ndarray

    @property
    def hard_labels(self) -> np.ndarray:
        """(N,) the most likely class of each target (class weights count these)."""
        return self.targets.argmax(axis=1)


def one_hot(labels: np.ndarray) -> np.ndarray:
    """(N,) class indices -> (N, 7) float32 one-hot rows."""
    return np.eye(len(EMOTIONS), dtype=np.float32)[labels]


def training_targets(
    splits: Splits, targets: str, fer2013_mix: float = 0.0
) -> tuple[Targeted, Targeted]:
    """(train, val) faces with the targets of ``targets`` ("fer2013" or "ferplus").

    Raises TrainingError when FER+ targets are asked for and the data carries no votes.
    """
    if targets == "fer2013":
        return (
            Targeted(splits.train, one_hot(splits.train.labels)),
            Targeted(splits.val, one_hot(splits.val.labels)),
        )
    if splits.train.votes is None or splits.val.votes is None:
        raise TrainingError(
            "targets ferplus needs FER+ votes: pass --ferplus-votes labels.csv "
            "(or keep it at <data>/../ferplus/labels.csv) with a FER-2013 JPEG folder"
        )
    train = splits.train.subset(np.flatnonzero(ferplus.trainable(splits.train.votes)))
    assert train.votes is not None
    soft = ferplus.soft_targets(train.votes)
    mixed = (1.0 - fer2013_mix) * soft + fer2013_mix * one_hot(train.labels)
    val = splits.val.subset(np.flatnonzero(ferplus.majority(splits.val.votes) >= 0))
    assert val.votes is not None
    return Targeted(train, mixed.astype(np.float32)), Targeted(val, ferplus.soft_targets(val.votes))
