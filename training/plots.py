"""Training curves and the confusion matrix of a run, as PNG files in ``<run>/plots``."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from training.errors import TrainingError  # noqa: E402
from training.run_paths import RunPaths  # noqa: E402


def plot_history(history_csv: Path, out_dir: Path) -> list[Path]:
    """accuracy.png and loss.png: train and val curves per epoch."""
    with history_csv.open() as handle:
        rows = list(csv.DictReader(handle))
    epochs = [int(r["epoch"]) + 1 for r in rows]
    written = []
    for metric in ("accuracy", "loss"):
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(epochs, [float(r[metric]) for r in rows], marker="o", label=f"train {metric}")
        ax.plot(
            epochs, [float(r[f"val_{metric}"]) for r in rows], marker="o", label=f"val {metric}"
        )
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        path = out_dir / f"{metric}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written


def plot_confusion(report: dict[str, Any], path: Path, title: str) -> Path:
    """A row-normalised confusion matrix with counts in each cell, from a report part."""
    counts = np.array(report["confusion_matrix"], dtype=np.float64)
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    labels = report["labels"]
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{title}: val top-1 {report['accuracy']:.1%}")
    for i in range(len(labels)):
        for j in range(len(labels)):
            colour = "white" if share[i, j] > 0.5 else "black"
            ax.text(
                j, i, f"{int(counts[i, j])}", ha="center", va="center", color=colour, fontsize=8
            )
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_reliability(parts: dict[str, dict[str, Any]], path: Path) -> Path:
    """Reliability diagram: top-1 accuracy against mean confidence per confidence bin, one line
    per label set (``parts``: name -> report part with ``calibration``), the diagonal as ideal."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfectly calibrated")
    for name, part in parts.items():
        bins = [b for b in part["calibration"]["bins"] if b["faces"]]
        ax.plot(
            [b["confidence"] for b in bins],
            [b["accuracy"] for b in bins],
            marker="o",
            label=f"{name} (ECE {part['calibration']['ece']:.1%})",
        )
    ax.set_xlabel("top-1 confidence (bin mean)")
    ax.set_ylabel("top-1 accuracy in the bin")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_report(report_json: Path, out_dir: Path) -> list[Path]:
    """Confusion matrices (FER-2013 labels; FER+ majority when scored) and the reliability plot."""
    report = json.loads(report_json.read_text())
    written = [plot_confusion(report, out_dir / "confusion_matrix.png", "FER-2013 labels")]
    parts = {"FER-2013 labels": report} if "calibration" in report else {}
    if "ferplus" in report:
        written.append(
            plot_confusion(
                report["ferplus"], out_dir / "confusion_matrix_ferplus.png", "FER+ majority"
            )
        )
        parts["FER+ majority"] = report["ferplus"]
    if parts:
        written.append(plot_reliability(parts, out_dir / "reliability.png"))
    return written


def plot_run(run_dir: Path) -> list[Path]:
    """All plots a run directory has the data for."""
    paths = RunPaths(run_dir)
    if not paths.history.is_file() and not paths.report_json.is_file():
        raise TrainingError(f"{run_dir} holds no training history or report to plot")
    out_dir = paths.plots
    out_dir.mkdir(exist_ok=True)
    written: list[Path] = []
    if paths.history.is_file():
        written += plot_history(paths.history, out_dir)
    if paths.report_json.is_file():
        written += plot_report(paths.report_json, out_dir)
    return written
