"""FER+ votes: parsing and matching on the real files, the label rules, and the soft targets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers.paths import FER_DATA, FERPLUS_VOTES, needs_ferplus
from training import ferplus
from training.data import load_splits
from training.errors import TrainingError
from training.targets import training_targets


def votes(**counts: int) -> np.ndarray:
    """One (10,) vote row from FER+ column names (anger=7, NF=1, ...)."""
    row = np.zeros(len(ferplus.VOTE_COLUMNS), np.float32)
    for name, n in counts.items():
        row[ferplus.VOTE_COLUMNS.index(name)] = n
    return row


def test_soft_targets_drop_single_votes_and_non_emotions() -> None:
    soft = ferplus.soft_targets(np.stack([votes(anger=6, sadness=3, fear=1),
                                          votes(contempt=5, neutral=4, unknown=1)]))  # fmt: skip
    # angry 6/9, sad 3/9, the single fear vote dropped; in EMOTIONS order.
    assert soft[0] == pytest.approx([6 / 9, 0, 0, 0, 3 / 9, 0, 0])
    assert soft[1] == pytest.approx([0, 0, 0, 0, 0, 0, 1.0])  # only neutral is ours


def test_majority_leaves_out_ties_contempt_unknown_and_missing_votes() -> None:
    rows = np.stack([
        votes(happiness=8, surprise=2),  # happy
        votes(anger=4, disgust=4, neutral=2),  # tie
        votes(contempt=6, neutral=4),  # contempt
        votes(unknown=5, fear=3, sadness=2),  # unknown
        np.full(10, np.nan, np.float32),  # no FER+ image
    ])  # fmt: skip
    assert ferplus.majority(rows).tolist() == [3, -1, -1, -1, -1]
    assert ferplus.trainable(rows).tolist() == [True, True, True, False, False]


@needs_ferplus
def test_real_votes_match_every_val_face_and_reproduce_the_published_agreement() -> None:
    """Counts from ../shared/data/ferplus/README.md: 10 unmatched val JPEGs; 3372 val faces with
    a unique majority among our 7 classes, of which 2204 (65.4%) agree with the FER-2013 label."""
    splits = load_splits(FER_DATA)
    assert splits.val.votes is not None and splits.train.votes is not None
    assert int(np.isnan(splits.val.votes[:, 0]).sum()) == 10
    assert int(np.isnan(splits.train.votes[:, 0]).sum()) == 149
    majority = ferplus.majority(splits.val.votes)
    has = majority >= 0
    assert int(has.sum()) == 3372
    assert int((majority[has] == splits.val.labels[has]).sum()) == 2204
    train, val = training_targets(splits, "ferplus")
    assert len(val.faces) == 3372 and np.allclose(val.targets.sum(axis=1), 1.0)
    assert (val.hard_labels == majority[has]).all()
    assert len(train.faces) < len(splits.train) and np.allclose(train.targets.sum(axis=1), 1.0)


def test_missing_votes_file_and_csv_data_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="does not exist"):
        ferplus.read_votes(tmp_path / "labels.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("file,neutral\nx.jpg,3\n")
    with pytest.raises(TrainingError, match="no column"):
        ferplus.read_votes(bad)


@needs_ferplus
def test_fer2013_mix_blends_the_single_label_in() -> None:
    splits = load_splits(FER_DATA)
    pure, _ = training_targets(splits, "ferplus")
    mixed, _ = training_targets(splits, "ferplus", fer2013_mix=0.5)
    one_hot = np.eye(7, dtype=np.float32)[mixed.faces.labels]
    assert np.allclose(mixed.targets, 0.5 * pure.targets + 0.5 * one_hot)
    assert FERPLUS_VOTES.is_file()
