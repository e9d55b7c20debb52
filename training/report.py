"""Classification metrics from labels and probabilities (numpy only), a readable table, and
the run's report files."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from training import calibration, ferplus
from training.labels import EMOTIONS
from training.run_paths import RunPaths


def classification_report(labels: np.ndarray, probs: np.ndarray) -> dict[str, Any]:
    """Accuracy, mean cross-entropy, per-class precision/recall/F1 and the confusion matrix."""
    n_classes = len(EMOTIONS)
    predicted = probs.argmax(axis=1)
    confusion = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    true_pos = np.diag(confusion).astype(np.float64)
    support = confusion.sum(axis=1)
    predicted_count = confusion.sum(axis=0)
    precision = np.divide(
        true_pos, predicted_count, out=np.zeros(n_classes), where=predicted_count > 0
    )
    recall = np.divide(true_pos, support, out=np.zeros(n_classes), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(n_classes), where=denom > 0)
    picked = np.clip(probs[np.arange(len(labels)), labels], 1e-7, 1.0)
    return {
        "samples": int(len(labels)),
        "accuracy": float((predicted == labels).mean()),
        "loss": float(-np.log(picked).mean()),
        "macro_f1": float(f1.mean()),
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(EMOTIONS)
        },
        "labels": list(EMOTIONS),
        "confusion_matrix": confusion.tolist(),
    }


def calibration_summary(probs: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """ECE of the top-1 confidence (15 equal-width bins) and the reliability bins."""
    return {
        "ece": calibration.expected_calibration_error(probs, labels),
        "bins": calibration.reliability_bins(probs, labels),
    }


def ferplus_report(votes: np.ndarray, probs: np.ndarray) -> dict[str, Any]:
    """The report against the FER+ votes (N, 10) (``training.ferplus``).

    ``accuracy``, per-class metrics, confusion matrix and calibration are against the FER+
    majority, on the faces that have one (``samples``; ``left_out`` counts the rest: ties,
    contempt/unknown/NF majorities, no votes). ``annotator_agreement`` is the mean share of a
    face's annotators (of all its votes) who chose the model's top-1, over every face with
    votes; ``soft_cross_entropy`` the mean -sum(q log p) against the vote distribution
    (``ferplus.soft_targets``), over faces whose distribution has mass.
    """
    majority = ferplus.majority(votes)
    has_majority = majority >= 0
    report = classification_report(majority[has_majority], probs[has_majority])
    has_votes = ~np.isnan(votes).any(axis=1)
    counts = votes[has_votes][:, ferplus.EMOTION_COLUMNS]
    top1 = probs[has_votes].argmax(axis=1)
    agreement = counts[np.arange(len(top1)), top1] / votes[has_votes].sum(axis=1)
    soft = ferplus.soft_targets(votes)
    has_soft = soft.sum(axis=1) > 0
    log_p = np.log(np.clip(probs[has_soft], 1e-7, 1.0))
    report.update(
        left_out=int((~has_majority).sum()),
        annotator_agreement=float(agreement.mean()),
        annotator_faces=int(has_votes.sum()),
        soft_cross_entropy=float(-(soft[has_soft] * log_p).sum(axis=1).mean()),
        soft_faces=int(has_soft.sum()),
        calibration=calibration_summary(probs[has_majority], majority[has_majority]),
    )
    return report


def val_report(labels: np.ndarray, votes: np.ndarray | None, probs: np.ndarray) -> dict[str, Any]:
    """Everything measured on val: against the FER-2013 labels (the top-level keys, with their
    calibration) and, where the faces carry FER+ votes, against those (``ferplus``)."""
    report = classification_report(labels, probs)
    report["calibration"] = calibration_summary(probs, labels)
    if votes is not None:
        report["ferplus"] = ferplus_report(votes, probs)
    return report


def primary(report: dict[str, Any], targets: str) -> dict[str, Any]:
    """The part of a report that scores the label set a model was trained for."""
    return report["ferplus"] if targets == "ferplus" else report


def val_metrics(report: dict[str, Any]) -> dict[str, Any]:
    """The headline of a report, as a model's metadata and card carry it."""

    def headline(part: dict[str, Any]) -> dict[str, Any]:
        out = {
            "accuracy": part["accuracy"],
            "loss": part["loss"],
            "macro_f1": part["macro_f1"],
            "recall": {k: v["recall"] for k, v in part["per_class"].items()},
            "samples": part["samples"],
        }
        if "calibration" in part:
            out["ece"] = part["calibration"]["ece"]
        return out

    metrics = headline(report)
    if "ferplus" in report:
        fp = report["ferplus"]
        metrics["ferplus"] = headline(fp) | {
            k: fp[k] for k in ("left_out", "annotator_agreement", "soft_cross_entropy")
        }
    if "temperature" in report:
        metrics["temperature"] = report["temperature"]
    return metrics


def _format_part(part: dict[str, Any], title: str) -> list[str]:
    lines = [
        f"{title}: samples {part['samples']}   top-1 accuracy {part['accuracy']:.2%}   "
        f"loss {part['loss']:.4f}   macro F1 {part['macro_f1']:.4f}"
        + (f"   ECE {part['calibration']['ece']:.2%}" if "calibration" in part else ""),
        "",
        f"{'class':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}",
    ]
    for name, row in part["per_class"].items():
        lines.append(
            f"{name:<10}{row['precision']:>10.3f}{row['recall']:>10.3f}"
            f"{row['f1']:>10.3f}{row['support']:>10d}"
        )
    lines += ["", "confusion matrix (rows = true, columns = predicted)"]
    names = part["labels"]
    lines.append(" " * 10 + "".join(f"{n[:8]:>9}" for n in names))
    for name, row in zip(names, part["confusion_matrix"], strict=True):
        lines.append(f"{name:<10}" + "".join(f"{v:>9d}" for v in row))
    return lines


def format_report(report: dict[str, Any]) -> str:
    """The report as plain-text tables: against the FER-2013 labels and, if present, FER+."""
    lines = _format_part(report, "FER-2013 labels")
    if "ferplus" in report:
        fp = report["ferplus"]
        lines += ["", *_format_part(fp, "FER+ majority")]
        lines.append(
            f"({fp['left_out']} faces without a FER+ majority left out; annotators agreeing with "
            f"the top-1 {fp['annotator_agreement']:.2%} over {fp['annotator_faces']} faces; "
            f"soft cross-entropy {fp['soft_cross_entropy']:.4f} over {fp['soft_faces']} faces)"
        )
    if "temperature" in report:
        t = report["temperature"]
        lines.append(
            f"temperature {t['value']:.3f} fitted on {t['faces']} val faces ({t['labels']}): "
            f"ECE {t['ece_before']:.2%} -> {t['ece_after']:.2%} "
            f"({t['ece_after_cross_fitted']:.2%} with T fitted on the other half)"
        )
    return "\n".join(lines)


def write_report(report: dict[str, Any], paths: RunPaths) -> str:
    """Write the run's report.json and report.txt; return the table."""
    table = format_report(report)
    paths.report_json.write_text(json.dumps(report, indent=2) + "\n")
    paths.report_txt.write_text(table + "\n")
    return table
