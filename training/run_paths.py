"""The one place that names the files of a training run directory."""

from __future__ import annotations

from pathlib import Path


class RunPaths:
    """Where each artefact of a run lives, under ``root``."""

    def __init__(self, run_dir: Path) -> None:
        self.root = Path(run_dir)
        self.config = self.root / "config.json"
        self.history = self.root / "history.csv"
        self.checkpoints = self.root / "checkpoints"
        self.phase1 = self.checkpoints / "phase1.weights.h5"
        self.best = self.checkpoints / "best.keras"
        self.backup = self.checkpoints / "backup"
        self.done = self.checkpoints / "TRAINING_DONE"
        self.summary = self.root / "train_summary.json"
        self.report_json = self.root / "report.json"
        self.report_txt = self.root / "report.txt"
        self.plots = self.root / "plots"
        self.export = self.root / "export"
        self.logs = self.root / "logs"
        self.ensemble = self.root / "ensemble.json"  # an ensemble's members (training.ensemble)
