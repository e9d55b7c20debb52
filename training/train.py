"""Two-phase fine-tuning of a MobileNet on FER-2013, writing everything into one run directory.

Phase 1 trains the head on a frozen backbone; phase 2 unfreezes the backbone with a warm-up and
cosine-decayed learning rate. Checkpoints allow resuming; the best val model is evaluated,
plotted and exported at the end.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from training.data import Splits, class_weights, load_splits
from training.model import build_model, set_backbone_trainable
from training.pipelines import make_dataset

FAST_DEV_BATCHES = 3
FAST_DEV_EVAL_FACES = 256


@dataclass
class TrainConfig:
    """Everything that decides a training run; saved as config.json in the run directory."""

    data: str
    run_dir: str
    backbone: str = "mobilenet"
    input_size: int = 96
    alpha: float = 1.0
    weights: str = "imagenet"
    dropout: float = 0.3
    batch_size: int = 64
    frozen_epochs: int = 2
    epochs: int = 20
    head_lr: float = 1e-3
    lr: float = 5e-4
    warmup_epochs: float = 1.0
    weight_decay: float = 1e-4
    label_smoothing: float = 0.1
    mixup: float = 0.0
    augment: float = 1.0
    class_weight: str = "none"
    freeze_batchnorm: bool = False
    patience: int = 8
    flip_tta: bool = True
    crop_margin: float = 0.02  # scripts/measure_crop_margin.py
    val_fraction: float = 0.1
    seed: int = 1337
    init_from: str | None = None
    tensorboard: bool = False
    fast_dev_run: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, run_dir: Path) -> TrainConfig:
        """The config a run directory was made with."""
        return cls(**json.loads((run_dir / "config.json").read_text()))


class RunPaths:
    """Where each artefact of a run lives."""

    def __init__(self, run_dir: Path) -> None:
        self.root = run_dir
        self.config = run_dir / "config.json"
        self.history = run_dir / "history.csv"
        self.checkpoints = run_dir / "checkpoints"
        self.phase1 = self.checkpoints / "phase1.weights.h5"
        self.best = self.checkpoints / "best.keras"
        self.backup = self.checkpoints / "backup"
        self.done = self.checkpoints / "TRAINING_DONE"
        self.summary = run_dir / "train_summary.json"
        self.plots = run_dir / "plots"
        self.export = run_dir / "export"
        self.logs = run_dir / "logs"


def _best_val_accuracy(history: Path) -> float | None:
    if not history.is_file():
        return None
    with history.open() as handle:
        values = [
            float(row["val_accuracy"]) for row in csv.DictReader(handle) if row.get("val_accuracy")
        ]
    return max(values) if values else None


def _optimizer(lr: Any, weight_decay: float) -> keras.optimizers.Optimizer:
    return keras.optimizers.AdamW(learning_rate=lr, weight_decay=weight_decay)


def _compile(model: keras.Model, optimizer: keras.optimizers.Optimizer, smoothing: float) -> None:
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=smoothing),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
    )


def _datasets(config: TrainConfig, splits: Splits) -> tuple[Any, Any, int]:
    limit = FAST_DEV_BATCHES if config.fast_dev_run else None
    weights = class_weights(splits.train.labels, config.class_weight)
    train_ds = make_dataset(
        splits.train,
        config.batch_size,
        training=True,
        seed=config.seed,
        weights=weights,
        augment_strength=config.augment,
        mixup_alpha=config.mixup,
        max_batches=limit,
    )
    val_ds = make_dataset(splits.val, config.batch_size, training=False, max_batches=limit)
    steps = limit or max(1, len(splits.train) // config.batch_size)
    return train_ds, val_ds, steps


def train(config: TrainConfig, resume: bool = False) -> Path:
    """Run (or resume) training; evaluate, plot and export the best model. Returns the run dir."""
    from training.evaluate import evaluate_model, write_report
    from training.export import export_run
    from training.plots import plot_run

    paths = RunPaths(Path(config.run_dir))
    if paths.config.exists() and not resume:
        raise FileExistsError(f"run directory {paths.root} already holds a run; pass --resume")
    paths.checkpoints.mkdir(parents=True, exist_ok=True)
    if config.fast_dev_run:
        config.frozen_epochs = min(config.frozen_epochs, 1)
        config.epochs = 1
    paths.config.write_text(json.dumps(asdict(config), indent=2) + "\n")
    keras.utils.set_random_seed(config.seed)
    started = time.monotonic()

    splits = load_splits(Path(config.data), config.val_fraction, config.seed)
    print(
        f"data: train {len(splits.train)} faces, val {len(splits.val)} faces ({splits.val_source})"
    )
    train_ds, val_ds, steps = _datasets(config, splits)
    model = build_model(
        config.backbone, config.input_size, config.alpha, config.weights, config.dropout
    )
    if config.init_from:
        # Warm restart: every weight from an earlier run's model of the same architecture.
        model.set_weights(keras.models.load_model(config.init_from).get_weights())
        print(f"initialised from {config.init_from}")
    history_log = keras.callbacks.CSVLogger(str(paths.history), append=True)

    if not paths.done.exists():
        if paths.phase1.exists():
            model.load_weights(str(paths.phase1))
            print("phase 1: resumed from checkpoint")
        elif config.frozen_epochs > 0:
            print(f"phase 1: head only, {config.frozen_epochs} epoch(s), lr {config.head_lr}")
            set_backbone_trainable(model, False, config.freeze_batchnorm)
            _compile(model, _optimizer(config.head_lr, config.weight_decay), config.label_smoothing)
            model.fit(
                train_ds,
                validation_data=val_ds,
                epochs=config.frozen_epochs,
                callbacks=[history_log],
            )
            model.save_weights(str(paths.phase1))

        print(f"phase 2: whole network, {config.epochs} epoch(s), peak lr {config.lr}")
        set_backbone_trainable(model, True, config.freeze_batchnorm)
        warmup = int(steps * config.warmup_epochs)
        schedule = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=config.lr * 0.01,
            decay_steps=max(1, steps * config.epochs - warmup),
            alpha=0.0,
            warmup_target=config.lr,
            warmup_steps=warmup,
        )
        _compile(model, _optimizer(schedule, config.weight_decay), config.label_smoothing)
        callbacks: list[keras.callbacks.Callback] = [
            keras.callbacks.BackupAndRestore(str(paths.backup)),
            keras.callbacks.ModelCheckpoint(
                str(paths.best),
                monitor="val_accuracy",
                mode="max",
                save_best_only=True,
                initial_value_threshold=_best_val_accuracy(paths.history) if resume else None,
            ),
            keras.callbacks.EarlyStopping(
                monitor="val_accuracy", mode="max", patience=config.patience, verbose=1
            ),
            history_log,
        ]
        if config.tensorboard:
            callbacks.append(keras.callbacks.TensorBoard(str(paths.logs)))
        model.fit(
            train_ds,
            validation_data=val_ds,
            initial_epoch=config.frozen_epochs,
            epochs=config.frozen_epochs + config.epochs,
            callbacks=callbacks,
        )
        paths.done.write_text("training finished\n")
    train_minutes = (time.monotonic() - started) / 60

    best = keras.models.load_model(str(paths.best))
    val = splits.val
    if config.fast_dev_run:
        val = val.subset(
            np.linspace(0, len(val) - 1, min(len(val), FAST_DEV_EVAL_FACES)).astype(int)
        )
    report = evaluate_model(best, val, config.flip_tta)
    table = write_report(report, paths.root)
    plot_run(paths.root)
    summary = {
        "train_minutes": round(train_minutes, 1),
        "epochs_run": _epochs_logged(paths.history),
        "best_val_accuracy_during_training": _best_val_accuracy(paths.history),
        "val_accuracy": report["accuracy"],
        "val_source": splits.val_source,
        "train_faces": len(splits.train),
        "val_faces": len(val),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.platform()}",
    }
    paths.summary.write_text(json.dumps(summary, indent=2) + "\n")
    onnx_path = export_run(paths.root, val)
    print(table)
    print(
        f"\nrun {paths.root}: val accuracy {report['accuracy']:.2%} "
        f"(flip TTA {config.flip_tta}), trained {train_minutes:.1f} min, model {onnx_path}"
    )
    return paths.root


def _epochs_logged(history: Path) -> int:
    if not history.is_file():
        return 0
    with history.open() as handle:
        return sum(1 for _ in csv.DictReader(handle))
