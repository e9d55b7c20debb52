"""ECE, reliability bins and temperature scaling on constructed probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from training import calibration


def sampled(temperature: float, n: int = 20000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities softmax(z) and labels drawn from softmax(z / temperature): the model is
    over-confident by exactly ``temperature``."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 3, (n, 7))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    truth = calibration.scale(probs, temperature)
    labels = np.array([rng.choice(7, p=p) for p in truth])
    return probs, labels


def test_ece_of_a_hand_made_case() -> None:
    # Two faces at confidence 0.9 (one right), two at 0.6 (both right): |0.5-0.9|/2 + |1-0.6|/2.
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
    labels = np.array([0, 1, 0, 0])
    assert calibration.expected_calibration_error(probs, labels) == pytest.approx(0.4)
    bins = calibration.reliability_bins(probs, labels)
    assert len(bins) == 15 and sum(b["faces"] for b in bins) == 4


def test_temperature_recovers_the_over_confidence_and_removes_it() -> None:
    probs, labels = sampled(temperature=2.0)
    fitted = calibration.fit_temperature(probs, labels)
    assert fitted == pytest.approx(2.0, rel=0.05)
    before = calibration.expected_calibration_error(probs, labels)
    after = calibration.expected_calibration_error(calibration.scale(probs, fitted), labels)
    assert before > 0.1 and after < 0.02
    assert calibration.cross_fitted_ece(probs, labels) < 0.02
    # Scaling never changes the top-1 class.
    assert (calibration.scale(probs, fitted).argmax(1) == probs.argmax(1)).all()


def test_a_calibrated_model_keeps_temperature_one() -> None:
    probs, labels = sampled(temperature=1.0, seed=1)
    assert calibration.fit_temperature(probs, labels) == pytest.approx(1.0, rel=0.05)
