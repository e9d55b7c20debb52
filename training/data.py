"""Load FER-2013 (Kaggle folder layout or the original CSV) into arrays, split and weight it."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from training import ferplus
from training.errors import TrainingError
from training.labels import CROP_SIZE, EMOTIONS
from training.recipe import TrainConfig

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff"}
CSV_HEADER = ("emotion", "pixels", "Usage")
CSV_USAGE_TO_SPLIT = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}


class DataError(TrainingError, ValueError):
    """The data set on disk is not usable; the message says what and where."""


@dataclass(frozen=True)
class FaceSet:
    """Grayscale face crops (N, H, W) uint8, their FER-2013 label indices (N,), where each came
    from, and optionally their FER+ votes (N, 10) float32 (``training.ferplus``; NaN rows where
    FER+ has none)."""

    images: np.ndarray
    labels: np.ndarray
    sources: tuple[str, ...]
    votes: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: np.ndarray) -> FaceSet:
        """The faces at the given positions."""
        return FaceSet(
            self.images[index],
            self.labels[index],
            tuple(self.sources[i] for i in index),
            None if self.votes is None else self.votes[index],
        )

    def with_votes(self, votes: np.ndarray) -> FaceSet:
        """The same faces carrying FER+ votes (N, 10)."""
        if len(votes) != len(self):
            raise DataError(f"{len(votes)} vote rows for {len(self)} faces")
        return FaceSet(self.images, self.labels, self.sources, votes)

    def class_counts(self) -> np.ndarray:
        """How many faces each emotion has, in EMOTIONS order."""
        return np.bincount(self.labels, minlength=len(EMOTIONS))


@dataclass(frozen=True)
class Splits:
    """A training set, a validation set and a note on where the validation set came from."""

    train: FaceSet
    val: FaceSet
    val_source: str


def as_model_input(images: np.ndarray) -> np.ndarray:
    """(N, H, W) uint8 faces -> (N, H, W, 1) float32 in 0..255, the exported graph's input."""
    return images[..., np.newaxis].astype(np.float32)


def decode_face(data: bytes, source: str, size: int = CROP_SIZE) -> np.ndarray:
    """Decode encoded image bytes to a size x size grayscale uint8 array."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise DataError(f"cannot decode image file {source}")
    if image.shape != (size, size):
        image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
    return image


def load_folder_split(root: Path, size: int = CROP_SIZE, progress: bool = True) -> FaceSet:
    """Load ``root/<emotion>/*`` image files; every sub-folder must name a known emotion."""
    if not root.is_dir():
        raise DataError(f"data folder {root} does not exist")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir())
    unknown = [p.name for p in class_dirs if p.name.lower() not in EMOTIONS]
    if unknown:
        raise DataError(
            f"unknown class folder(s) {', '.join(unknown)} in {root}; "
            f"expected {', '.join(EMOTIONS)}"
        )
    files: list[tuple[Path, int]] = []
    for class_dir in class_dirs:
        label = EMOTIONS.index(class_dir.name.lower())
        files += [
            (f, label)
            for f in sorted(class_dir.iterdir())
            if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES
        ]
    if not files:
        raise DataError(f"no images found in {root} (expected {root}/<emotion>/<image>)")
    images = np.empty((len(files), size, size), np.uint8)
    for i, (path, _) in enumerate(
        tqdm(files, desc=f"loading {root.name}", unit="img", disable=not progress, leave=False)
    ):
        images[i] = decode_face(path.read_bytes(), str(path), size)
    labels = np.array([label for _, label in files], np.int64)
    return FaceSet(images, labels, tuple(str(p) for p, _ in files))


def load_csv(path: Path, size: int = CROP_SIZE) -> dict[str, FaceSet]:
    """Load the original ``fer2013.csv`` (emotion,pixels,Usage) into splits by Usage."""
    if not path.is_file():
        raise DataError(f"CSV file {path} does not exist")
    rows: dict[str, list[tuple[np.ndarray, int, str]]] = {}
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = tuple(next(reader, ()))
        if header[:2] != CSV_HEADER[:2]:
            raise DataError(
                f"{path} has header {','.join(header) or '(empty)'}; "
                f"expected {','.join(CSV_HEADER)}"
            )
        for line_no, row in enumerate(reader, start=2):
            where = f"{path}:{line_no}"
            try:
                label = int(row[0])
                pixels = np.array(row[1].split(), np.uint8)
            except (ValueError, IndexError) as exc:
                raise DataError(f"bad row at {where}: {exc}") from None
            if not 0 <= label < len(EMOTIONS):
                raise DataError(f"bad emotion code {label} at {where}; expected 0..6")
            side = int(round(len(pixels) ** 0.5))
            if side * side != len(pixels) or side == 0:
                raise DataError(f"row at {where} has {len(pixels)} pixels, not a square image")
            image: np.ndarray = pixels.reshape(side, side)
            if side != size:
                image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
            usage = row[2] if len(row) > 2 else "Training"
            split = CSV_USAGE_TO_SPLIT.get(usage)
            if split is None:
                raise DataError(f"unknown Usage {usage!r} at {where}")
            rows.setdefault(split, []).append((image, label, where))
    if not rows:
        raise DataError(f"no images found in {path}")
    return {
        split: FaceSet(
            np.stack([r[0] for r in items]),
            np.array([r[1] for r in items], np.int64),
            tuple(r[2] for r in items),
        )
        for split, items in rows.items()
    }


def stratified_split(faces: FaceSet, val_fraction: float, seed: int) -> tuple[FaceSet, FaceSet]:
    """Split deterministically so each class keeps the same share in both parts."""
    if not 0.0 < val_fraction < 1.0:
        raise DataError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    rng = np.random.default_rng(seed)
    train_idx: list[np.ndarray] = []
    val_idx: list[np.ndarray] = []
    for label in np.unique(faces.labels):
        members = rng.permutation(np.flatnonzero(faces.labels == label))
        n_val = max(1, int(round(len(members) * val_fraction))) if len(members) > 1 else 0
        val_idx.append(members[:n_val])
        train_idx.append(members[n_val:])
    return faces.subset(np.sort(np.concatenate(train_idx))), faces.subset(
        np.sort(np.concatenate(val_idx))
    )


def check_source(source: Path) -> None:
    """Raise DataError unless ``source`` is a file (a CSV) or a folder with ``train/``."""
    if source.is_file():
        return
    if not source.exists():
        raise DataError(f"data path {source} does not exist")
    if not (source / "train").is_dir():
        raise DataError(f"{source} has no train/ folder (expected {source}/train/<emotion>/*)")


def load_splits(
    source: Path, val_fraction: float = 0.1, seed: int = 1337, votes: Path | None = None
) -> Splits:
    """Train and validation sets from a FER-2013 folder or CSV, with FER+ votes where known.

    A folder needs ``train/``; its ``val/`` (or else ``test/``) is the validation set. Without
    either, or for a CSV without PublicTest rows, a stratified share of train is held out.
    ``votes`` is a FER+ ``labels.csv``; without it, ``<source>/../ferplus/labels.csv`` is used
    when it exists (the shared data layout). Votes attach to folder data only (the CSV's rows
    have no file names to match).
    """
    splits = _load_splits(source, val_fraction, seed)
    if source.is_file():
        if votes is not None:
            raise DataError("FER+ votes match FER-2013 JPEG folders, not fer2013.csv rows")
        return splits
    path = votes if votes is not None else ferplus.default_labels_path(source)
    if votes is None and not path.is_file():
        return splits
    by_file = ferplus.read_votes(path)
    return Splits(
        splits.train.with_votes(ferplus.votes_for(splits.train.sources, source, by_file)),
        splits.val.with_votes(ferplus.votes_for(splits.val.sources, source, by_file)),
        splits.val_source,
    )


def run_splits(config: TrainConfig, data: Path | None = None) -> Splits:
    """The splits a training run was made with (its data, or ``data`` instead; its validation
    share and seed; its FER+ votes file, or the default place)."""
    votes = Path(config.ferplus_votes) if config.ferplus_votes else None
    return load_splits(data or Path(config.data), config.val_fraction, config.seed, votes)


def _load_splits(source: Path, val_fraction: float, seed: int) -> Splits:
    if source.is_file():
        splits = load_csv(source)
        if "train" not in splits:
            raise DataError(f"{source} has no Training rows")
        if "val" in splits:
            return Splits(splits["train"], splits["val"], "PublicTest rows of the CSV")
        train, val = stratified_split(splits["train"], val_fraction, seed)
        return Splits(train, val, f"stratified {val_fraction:.0%} of Training rows, seed {seed}")
    check_source(source)
    train = load_folder_split(source / "train")
    for name in ("val", "test"):
        if (source / name).is_dir():
            return Splits(train, load_folder_split(source / name), f"{name}/ folder")
    train, val = stratified_split(train, val_fraction, seed)
    return Splits(train, val, f"stratified {val_fraction:.0%} of train/, seed {seed}")


def class_weights(labels: np.ndarray, mode: str = "balanced") -> np.ndarray:
    """Per-class loss weights: 'none' (all 1), 'balanced' (n / (k * count)) or 'sqrt' of it."""
    counts = np.bincount(labels, minlength=len(EMOTIONS)).astype(np.float64)
    if mode == "none":
        return np.ones(len(EMOTIONS), np.float32)
    balanced = len(labels) / (len(EMOTIONS) * np.maximum(counts, 1.0))
    if mode == "balanced":
        return balanced.astype(np.float32)
    if mode == "sqrt":
        return np.sqrt(balanced).astype(np.float32)
    raise DataError(f"unknown class weight mode {mode!r}; use none, balanced or sqrt")
