"""FER+ crowd votes (Barsoum et al., ICMI 2016; MIT licence): ten annotators per FER-2013 face.

``labels.csv`` (see ``../shared/data/ferplus/README.md``) gives, for every FER-2013 JPEG, the
vote counts over FER+'s ten columns. This module reads them, matches them to a ``FaceSet`` by
file path, and derives the two label sets the project uses:

- **soft targets** (N, 7) in ``EMOTIONS`` order: the votes for our seven classes with single
  votes dropped first (FER+'s own ``src/ferplus.py`` does the same, to remove annotator noise),
  normalised to sum to 1. Contempt, unknown and NF votes are not emotions we output, so they
  are not part of the distribution.
- **majority** (N,): the evaluation protocol. The class with the most of the ten votes, when it
  is unique and one of our seven; -1 (left out) when the top count is tied, or is contempt,
  unknown or NF, or the face has no votes.

Which faces train: those with votes whose most-voted column is not unknown or NF and whose
soft target has any mass (``trainable``). Contempt-majority faces keep their other votes.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from training.errors import TrainingError
from training.labels import EMOTIONS

VOTE_COLUMNS: tuple[str, ...] = (
    "neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt",
    "unknown", "NF",
)  # fmt: skip
FERPLUS_TO_EMOTION = {
    "anger": "angry", "disgust": "disgust", "fear": "fear", "happiness": "happy",
    "sadness": "sad", "surprise": "surprise", "neutral": "neutral",
}  # fmt: skip
# Column index in VOTE_COLUMNS of each of our EMOTIONS, in EMOTIONS order.
EMOTION_COLUMNS = np.array(
    [VOTE_COLUMNS.index(next(k for k, v in FERPLUS_TO_EMOTION.items() if v == e)) for e in EMOTIONS]
)
NOT_A_FACE_COLUMNS = np.array([VOTE_COLUMNS.index("unknown"), VOTE_COLUMNS.index("NF")])
LABELS_FILE = "labels.csv"


def default_labels_path(data: Path) -> Path:
    """Where the shared layout keeps the votes for a FER-2013 folder: ``<data>/../ferplus``."""
    return data.parent / "ferplus" / LABELS_FILE


def read_votes(path: Path) -> dict[str, np.ndarray]:
    """``labels.csv`` -> {file relative to the FER-2013 root: (10,) float32 vote counts}.

    Unmatched rows (empty votes) are left out. Raises TrainingError for a missing file or a
    header without the vote columns.
    """
    if not path.is_file():
        raise TrainingError(f"FER+ votes file {path} does not exist")
    votes: dict[str, np.ndarray] = {}
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ("file", *VOTE_COLUMNS) if c not in (reader.fieldnames or [])]
        if missing:
            raise TrainingError(f"{path} has no column(s) {', '.join(missing)}")
        for row in reader:
            if row[VOTE_COLUMNS[0]] == "":
                continue
            votes[row["file"]] = np.array([float(row[c]) for c in VOTE_COLUMNS], np.float32)
    return votes


def votes_for(sources: tuple[str, ...], root: Path, votes: dict[str, np.ndarray]) -> np.ndarray:
    """(N, 10) vote counts for faces loaded from ``root`` (NaN rows where FER+ has none)."""
    out = np.full((len(sources), len(VOTE_COLUMNS)), np.nan, np.float32)
    for i, source in enumerate(sources):
        try:
            key = Path(source).resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            continue
        if key in votes:
            out[i] = votes[key]
    return out


def soft_targets(votes: np.ndarray) -> np.ndarray:
    """(N, 10) votes -> (N, 7) distributions over EMOTIONS, single votes dropped; zero rows where
    nothing is left (no votes, or only single votes or non-emotion votes)."""
    counts = np.nan_to_num(votes[:, EMOTION_COLUMNS], nan=0.0)
    counts = np.where(counts > 1, counts, 0.0)
    total = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, total, out=np.zeros_like(counts), where=total > 0).astype(np.float32)


def majority(votes: np.ndarray) -> np.ndarray:
    """(N, 10) votes -> (N,) int64 EMOTIONS index of the unique most-voted class, or -1."""
    filled = np.nan_to_num(votes, nan=-1.0)
    top = filled.max(axis=1)
    unique = (filled == top[:, None]).sum(axis=1) == 1
    column = filled.argmax(axis=1)
    to_emotion = np.full(len(VOTE_COLUMNS), -1, np.int64)
    to_emotion[EMOTION_COLUMNS] = np.arange(len(EMOTIONS))
    label = to_emotion[column]
    return np.where(unique & (top > 0), label, -1)


def trainable(votes: np.ndarray) -> np.ndarray:
    """(N,) bool: the face has votes, its most-voted column is not unknown/NF, and its soft
    target has mass."""
    has_votes = ~np.isnan(votes).any(axis=1)
    filled = np.nan_to_num(votes, nan=0.0)
    not_face = np.isin(filled.argmax(axis=1), NOT_A_FACE_COLUMNS)
    return has_votes & ~not_face & (soft_targets(votes).sum(axis=1) > 0)
