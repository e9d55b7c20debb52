"""Classification metrics from labels and probabilities (numpy only), a readable table, and
the run's report files."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

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


def val_metrics(report: dict[str, Any]) -> dict[str, Any]:
    """The headline of a report, as a model's metadata and card carry it."""
    return {
        "accuracy": report["accuracy"],
        "loss": report["loss"],
        "macro_f1": report["macro_f1"],
        "recall": {k: v["recall"] for k, v in report["per_class"].items()},
        "samples": report["samples"],
    }


def format_report(report: dict[str, Any]) -> str:
    """The report as a plain-text table: overall numbers, per class, confusion matrix."""
    lines = [
        f"samples {report['samples']}   accuracy {report['accuracy']:.2%}   "
        f"loss {report['loss']:.4f}   macro F1 {report['macro_f1']:.4f}",
        "",
        f"{'class':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}",
    ]
    for name, row in report["per_class"].items():
        lines.append(
            f"{name:<10}{row['precision']:>10.3f}{row['recall']:>10.3f}"
            f"{row['f1']:>10.3f}{row['support']:>10d}"
        )
    lines += ["", "confusion matrix (rows = true, columns = predicted)"]
    names = report["labels"]
    lines.append(" " * 10 + "".join(f"{n[:8]:>9}" for n in names))
    for name, row in zip(names, report["confusion_matrix"], strict=True):
        lines.append(f"{name:<10}" + "".join(f"{v:>9d}" for v in row))
    return "\n".join(lines)


def write_report(report: dict[str, Any], paths: RunPaths) -> str:
    """Write the run's report.json and report.txt; return the table."""
    table = format_report(report)
    paths.report_json.write_text(json.dumps(report, indent=2) + "\n")
    paths.report_txt.write_text(table + "\n")
    return table
