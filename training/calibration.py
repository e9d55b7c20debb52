"""Confidence calibration: expected calibration error, reliability bins, temperature scaling.

ECE (Naeini et al. 2015; the form of Guo et al., "On Calibration of Modern Neural Networks",
ICML 2017): the top-1 confidences are put in ``bins`` equal-width bins over [0, 1]; ECE is the
face-weighted mean of |accuracy - mean confidence| over the bins. Temperature scaling (Guo et
al. 2017) divides the log-probabilities by one scalar T > 0 fitted to minimise the negative
log-likelihood on held-out faces; it never changes the top-1 class.
"""

from __future__ import annotations

from typing import Any

import numpy as np

ECE_BINS = 15
# T is searched on log T in this range (T from 0.05 to 20) by golden-section search.
LOG_T_RANGE = (-3.0, 3.0)
EPS = 1e-12


def reliability_bins(
    probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS
) -> list[dict[str, Any]]:
    """Per bin of top-1 confidence: (low, high], faces, mean confidence and top-1 accuracy.

    ``probs`` (N, K), ``labels`` (N,) class indices. Empty bins have null confidence/accuracy.
    """
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    # Bin i holds (edges[i], edges[i+1]]; a confidence of exactly 0 goes to the first bin.
    index = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    rows = []
    for i in range(bins):
        inside = index == i
        n = int(inside.sum())
        rows.append(
            {
                "low": float(edges[i]),
                "high": float(edges[i + 1]),
                "faces": n,
                "confidence": float(confidence[inside].mean()) if n else None,
                "accuracy": float(correct[inside].mean()) if n else None,
            }
        )
    return rows


def expected_calibration_error(
    probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS
) -> float:
    """ECE of the top-1 confidence, a fraction in [0, 1] (module docstring)."""
    total = len(labels)
    if total == 0:
        return float("nan")
    return float(
        sum(
            row["faces"] / total * abs(row["accuracy"] - row["confidence"])
            for row in reliability_bins(probs, labels, bins)
            if row["faces"]
        )
    )


def scale(probs: np.ndarray, temperature: float) -> np.ndarray:
    """(N, K) probabilities -> softmax(log(p) / T), the same top-1, sharper or softer."""
    logits = np.log(np.clip(probs, EPS, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def negative_log_likelihood(probs: np.ndarray, labels: np.ndarray) -> float:
    """Mean -log p(label) in nats."""
    return float(-np.log(np.clip(probs[np.arange(len(labels)), labels], EPS, 1.0)).mean())


def fit_temperature(probs: np.ndarray, labels: np.ndarray) -> float:
    """The T minimising the NLL of ``scale(probs, T)`` on ``labels`` (golden-section on log T;
    the NLL is convex in 1/T, so the search finds the global minimum within LOG_T_RANGE)."""
    low, high = LOG_T_RANGE
    ratio = (np.sqrt(5.0) - 1.0) / 2.0

    def loss(log_t: float) -> float:
        return negative_log_likelihood(scale(probs, float(np.exp(log_t))), labels)

    a, b = low + (1 - ratio) * (high - low), low + ratio * (high - low)
    fa, fb = loss(a), loss(b)
    for _ in range(60):
        if fa < fb:
            high, b, fb = b, a, fa
            a = low + (1 - ratio) * (high - low)
            fa = loss(a)
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = loss(b)
    return float(np.exp((low + high) / 2))


def cross_fitted_ece(probs: np.ndarray, labels: np.ndarray, folds: int = 2, seed: int = 0) -> float:
    """ECE after temperature scaling where each fold's T is fitted on the other folds only: an
    estimate of the calibrated ECE on faces T never saw (the plain figure fits T on the faces it
    is scored on)."""
    order = np.random.default_rng(seed).permutation(len(labels))
    calibrated = np.empty_like(probs)
    for part in np.array_split(order, folds):
        rest = np.setdiff1d(order, part)
        calibrated[part] = scale(probs[part], fit_temperature(probs[rest], labels[rest]))
    return expected_calibration_error(calibrated, labels)
