"""Loading FER-2013 from folders and CSV, splitting, weighting, batching and augmentation."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from devtools.fer_folders import write_fer_folder
from tests.helpers.paths import EMOTION_FOLDERS
from training.data import (
    DataError,
    class_weights,
    load_csv,
    load_folder_split,
    load_splits,
    stratified_split,
)
from training.labels import EMOTIONS


def test_folder_layout_loads_every_image_with_its_label(small_fer_folder: Path) -> None:
    faces = load_folder_split(small_fer_folder / "train", progress=False)
    assert faces.images.shape == (24 * 7, 48, 48)
    assert faces.images.dtype == np.uint8
    assert faces.class_counts().tolist() == [24] * 7
    first_happy = faces.sources.index(
        str(sorted((small_fer_folder / "train" / "happy").iterdir())[0])
    )
    assert EMOTIONS[faces.labels[first_happy]] == "happy"
    on_disk = cv2.imread(faces.sources[first_happy], cv2.IMREAD_GRAYSCALE)
    np.testing.assert_array_equal(faces.images[first_happy], on_disk)


def test_folder_images_of_another_size_are_resized(tmp_path: Path) -> None:
    (tmp_path / "happy").mkdir()
    cv2.imwrite(str(tmp_path / "happy" / "big.png"), np.full((96, 120), 200, np.uint8))
    faces = load_folder_split(tmp_path, progress=False)
    assert faces.images.shape == (1, 48, 48)
    assert int(faces.images[0, 10, 10]) == 200


def _csv_row(label: int, image: np.ndarray, usage: str) -> str:
    return f"{label},{' '.join(str(v) for v in image.ravel())},{usage}\n"


def test_csv_rows_go_to_the_split_their_usage_names(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (48, 48), dtype=np.uint8) for _ in range(5)]
    rows = [
        (0, "Training"),
        (3, "Training"),
        (6, "PublicTest"),
        (1, "PrivateTest"),
        (5, "Training"),
    ]
    path = tmp_path / "fer2013.csv"
    path.write_text(
        "emotion,pixels,Usage\n"
        + "".join(_csv_row(lab, img, use) for (lab, use), img in zip(rows, images, strict=True))
    )
    splits = load_csv(path)
    assert sorted(splits) == ["test", "train", "val"]
    assert splits["train"].labels.tolist() == [0, 3, 5]
    np.testing.assert_array_equal(splits["train"].images[1], images[1])
    assert splits["val"].labels.tolist() == [6]
    assert EMOTIONS[6] == "neutral"
    both = load_splits(path)
    assert both.val_source == "PublicTest rows of the CSV"
    assert len(both.train) == 3


def test_training_only_data_gets_a_deterministic_stratified_split(tmp_path: Path) -> None:
    root = write_fer_folder(tmp_path, per_class=20, splits=("train",))
    first = load_splits(root, val_fraction=0.25, seed=7)
    second = load_splits(root, val_fraction=0.25, seed=7)
    assert first.val.sources == second.val.sources
    assert first.val.class_counts().tolist() == [5] * 7
    assert first.train.class_counts().tolist() == [15] * 7
    assert not set(first.val.sources) & set(first.train.sources)
    other_seed = load_splits(root, val_fraction=0.25, seed=8)
    assert other_seed.val.sources != first.val.sources


def test_stratified_split_rejects_a_fraction_outside_0_1(small_fer_folder: Path) -> None:
    faces = load_folder_split(small_fer_folder / "val", progress=False)
    with pytest.raises(DataError, match="between 0 and 1"):
        stratified_split(faces, 1.5, seed=0)


def test_balanced_class_weights_equalise_each_class_total() -> None:
    labels = np.repeat(np.arange(7), [10, 1, 10, 40, 10, 10, 20])
    weights = class_weights(labels, "balanced")
    totals = weights * np.bincount(labels)
    np.testing.assert_allclose(totals, totals[0], rtol=1e-6)
    assert weights[1] > weights[3]
    np.testing.assert_allclose(class_weights(labels, "sqrt") ** 2, weights, rtol=1e-5)
    assert class_weights(labels, "none").tolist() == [1.0] * 7


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ("missing", "does not exist"),
        ("unknown_class", "unknown class folder"),
        ("empty", "no images found"),
        ("undecodable", "cannot decode image file .*broken.jpg"),
        ("no_train", "has no train/ folder"),
    ],
)
def test_bad_folders_give_a_clear_error(tmp_path: Path, layout: str, message: str) -> None:
    root = tmp_path / "fer"
    if layout != "missing":
        (root / "train" / "happy").mkdir(parents=True)
    if layout == "unknown_class":
        (root / "train" / "bored").mkdir()
    if layout == "undecodable":
        good = np.full((48, 48), 128, np.uint8)
        cv2.imwrite(str(root / "train" / "happy" / "fine.jpg"), good)
        (root / "train" / "happy" / "broken.jpg").write_bytes(b"this is not a jpeg")
    if layout == "no_train":
        (root / "train" / "happy").rmdir()
        (root / "train").rmdir()
        (root / "val").mkdir()
    with pytest.raises(DataError, match=message):
        load_splits(root)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("label,pixels,Usage\n0,1 2 3 4,Training\n", "expected emotion,pixels,Usage"),
        ("emotion,pixels,Usage\n9,1 2 3 4,Training\n", "bad emotion code 9"),
        ("emotion,pixels,Usage\n0,1 2 3,Training\n", "not a square image"),
        ("emotion,pixels,Usage\n0,1 2 3 4,Holdout\n", "unknown Usage 'Holdout'"),
    ],
)
def test_bad_csv_gives_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "fer2013.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        load_csv(path)


def test_evaluation_batches_are_the_faces_untouched_in_order(small_fer_folder: Path) -> None:
    from training.datasets import FaceBatches

    faces = load_folder_split(small_fer_folder / "val", progress=False)
    batches = FaceBatches(faces, 16, training=False)
    assert len(batches) == -(-len(faces) // 16)  # the last short batch is kept
    x, y, w = batches[0]
    np.testing.assert_array_equal(x[..., 0], faces.images[:16].astype(np.float32))
    assert y.argmax(1).tolist() == faces.labels[:16].tolist()
    assert w.tolist() == [1.0] * 16


def test_training_batches_are_reshuffled_every_epoch_and_weighted(small_fer_folder: Path) -> None:
    from training.datasets import FaceBatches

    faces = load_folder_split(small_fer_folder / "val", progress=False)
    weights = class_weights(faces.labels, "balanced") * np.arange(1, 8, dtype=np.float32)
    batches = FaceBatches(faces, 16, training=True, seed=3, class_weights=weights)
    assert len(batches) == len(faces) // 16  # the last short batch is dropped
    first = batches[0]
    batches.on_epoch_end()
    second = batches[0]
    assert not np.array_equal(first[0], second[0])
    x, y, w = second
    np.testing.assert_allclose(w, weights[y.argmax(1)])


def test_augmentation_acts_only_in_training(small_fer_folder: Path) -> None:
    from training.augment import build_augmenter

    faces = load_folder_split(small_fer_folder / "val", progress=False)
    x = faces.images[:16, :, :, None].astype(np.float32)
    augmenter = build_augmenter(seed=3, strength=1.0, erasing=0.5)
    np.testing.assert_array_equal(np.asarray(augmenter(x, training=False)), x)
    changed = np.asarray(augmenter(x, training=True))
    assert changed.shape == x.shape
    assert sum(not np.array_equal(a, b) for a, b in zip(changed, x, strict=True)) >= 12
    assert float(changed.min()) >= 0.0 and float(changed.max()) <= 255.0 + 1e-3


def test_emotion_folders_cover_every_label() -> None:
    assert sorted(EMOTION_FOLDERS) == sorted(EMOTIONS)
