"""Fine-tune a MobileNet on FER-2013, writing everything into one run directory.

Reads as its phases: phase 1 trains the head on a frozen backbone; phase 2 trains the whole
network with a warm-up and cosine-decayed learning rate (optionally with an exponential moving
average of the weights); finish evaluates the best checkpoint on val, draws the plots and exports
ONNX. Training runs on the Keras backend the config names (torch by default); the export always
runs under TensorFlow, in a child process when training ran on another backend.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import keras
import numpy as np

from training.data import Splits, class_weights, run_splits
from training.datasets import FaceBatches
from training.errors import TrainingError
from training.model import build_model, set_backbone_trainable
from training.portable import load_portable, write_portable
from training.recipe import TrainConfig
from training.run_paths import RunPaths
from training.targets import training_targets

FAST_DEV_BATCHES = 3
FAST_DEV_EVAL_FACES = 256


def _logged_column(history: Path, column: str) -> list[float]:
    if not history.is_file():
        return []
    with history.open() as handle:
        return [float(row[column]) for row in csv.DictReader(handle) if row.get(column)]


def _best_val_accuracy(history: Path) -> float | None:
    values = _logged_column(history, "val_accuracy")
    return max(values) if values else None


@keras.saving.register_keras_serializable(package="training")
class Rewarmed(keras.optimizers.schedules.LearningRateSchedule):
    """``schedule`` with a linear warm-up from 1% over ``warmup_steps`` after ``start_step``.

    A run continued from a portable checkpoint has fresh AdamW moments; its first steps at the
    full scheduled rate threw the weights off (measured: 57.5% val at epoch 4, 49.3% one
    epoch after such a restart at epoch 6; docs/EXPERIMENTS.md, leg 2a).
    """

    def __init__(
        self, schedule: keras.optimizers.schedules.LearningRateSchedule, start_step: int,
        warmup_steps: int,
    ) -> None:  # fmt: skip
        self.schedule, self.start_step, self.warmup_steps = schedule, start_step, warmup_steps

    def __call__(self, step: Any) -> Any:
        ramp = (keras.ops.cast(step, "float32") - self.start_step) / max(1, self.warmup_steps)
        return self.schedule(step) * keras.ops.clip(ramp, 0.01, 1.0)

    def get_config(self) -> dict[str, Any]:
        return {
            "schedule": keras.saving.serialize_keras_object(self.schedule),
            "start_step": self.start_step,
            "warmup_steps": self.warmup_steps,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Rewarmed:
        schedule = keras.saving.deserialize_keras_object(config.pop("schedule"))
        return cls(schedule, **config)


def _compile(model: keras.Model, lr: Any, config: TrainConfig, ema: bool) -> None:
    optimizer = keras.optimizers.AdamW(
        learning_rate=lr,
        weight_decay=config.weight_decay,
        use_ema=ema,
        ema_momentum=config.ema_momentum if ema else 0.99,
    )
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
    )


def _datasets(config: TrainConfig, splits: Splits) -> tuple[FaceBatches, FaceBatches]:
    limit = FAST_DEV_BATCHES if config.fast_dev_run else None
    train, val = training_targets(splits, config.targets, config.fer2013_mix)
    print(f"targets {config.targets}: train {len(train.faces)} faces, val {len(val.faces)} faces")
    train_batches = FaceBatches(
        train.faces,
        config.batch_size,
        training=True,
        seed=config.seed,
        class_weights=class_weights(train.hard_labels, config.class_weight),
        mixup_alpha=config.mixup,
        max_batches=limit,
        targets=train.targets,
    )
    val_batches = FaceBatches(
        val.faces, config.batch_size, training=False, max_batches=limit, targets=val.targets
    )
    return train_batches, val_batches


def _check_backend(config: TrainConfig) -> None:
    running = keras.backend.backend()
    if running != config.backend:
        raise TrainingError(
            f"the run asks for the {config.backend} backend but Keras runs on {running}; "
            f"use `python -m training train` or set KERAS_BACKEND={config.backend}"
        )


def _load_init(model: keras.Model, source: str) -> None:
    """Warm restart: every weight from an earlier model (.keras), a weights file (.weights.h5)
    or a portable checkpoint (.npz, ``training.portable``)."""
    path = Path(source)
    if not path.is_file():
        raise TrainingError(f"--init-from file {path} does not exist")
    if path.suffix == ".npz":
        load_portable(model, path)
    elif path.name.endswith(".weights.h5"):
        model.load_weights(str(path))
    else:
        model.set_weights(keras.models.load_model(str(path), compile=False).get_weights())
    print(f"initialised from {path}")


def phase1_head(model: keras.Model, config: TrainConfig, paths: RunPaths, data: Any) -> None:
    """Train the new head on the frozen ImageNet backbone (skipped when already done)."""
    if paths.phase1.exists():
        model.load_weights(str(paths.phase1))
        print("phase 1: resumed from checkpoint")
        return
    if config.frozen_epochs <= 0 or config.initial_epoch > 0:
        return
    train_batches, val_batches = data
    print(f"phase 1: head only, {config.frozen_epochs} epoch(s), lr {config.head_lr}")
    set_backbone_trainable(model, False, config.freeze_batchnorm)
    _compile(model, config.head_lr, config, ema=False)
    model.fit(
        train_batches,
        validation_data=val_batches,
        epochs=config.frozen_epochs,
        callbacks=[keras.callbacks.CSVLogger(str(paths.history), append=True)],
    )
    model.save_weights(str(paths.phase1))


def phase2_full(
    model: keras.Model, config: TrainConfig, paths: RunPaths, data: Any, resume: bool
) -> None:
    """Fine-tune every layer: warm-up + cosine to zero, best-val checkpoint, early stopping.

    With ``ema_momentum`` > 0, validation and the best checkpoint use the moving average of the
    weights (Polyak averaging; keras ``SwapEMAWeights``). The backup is written before the swap,
    so ``--resume`` continues from the raw weights and their average exactly.
    """
    train_batches, val_batches = data
    steps = len(train_batches)
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
    ema = config.ema_momentum > 0
    if config.initial_epoch:
        start = config.initial_epoch * steps
        schedule = Rewarmed(schedule, start, max(1, int(steps * min(config.warmup_epochs, 0.5))))
    _compile(model, schedule, config, ema=ema)
    if config.initial_epoch:  # a continued run: the schedule picks up where the weights were
        optimizer = model.optimizer
        optimizer.build(model.trainable_variables)
        optimizer.iterations.assign(config.initial_epoch * steps)
        if ema:
            # Keras starts the average from the weights only on step 0; start it here instead.
            for var, average in zip(
                optimizer._trainable_variables,
                optimizer._model_variables_moving_average,
                strict=True,
            ):
                average.assign(var)
    # The backup comes first, so it holds the raw weights, not the EMA swapped in for checkpoints.
    callbacks: list[keras.callbacks.Callback] = [
        # Kept after training too: `python -m training checkpoint` reads the raw weights there.
        keras.callbacks.BackupAndRestore(str(paths.backup), delete_checkpoint=False)
    ]
    if ema:
        callbacks.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
    callbacks += [
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
        keras.callbacks.CSVLogger(str(paths.history), append=True),
    ]
    if config.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(str(paths.logs)))
    model.fit(
        train_batches,
        validation_data=val_batches,
        initial_epoch=config.frozen_epochs + config.initial_epoch,
        epochs=config.frozen_epochs + config.epochs,
        callbacks=callbacks,
    )


def finish(config: TrainConfig, paths: RunPaths, splits: Splits, train_minutes: float) -> Path:
    """Evaluate the best checkpoint on val, write report, summary and plots, export ONNX."""
    from training.evaluate import evaluate_model
    from training.plots import plot_run
    from training.report import primary, write_report

    best = keras.models.load_model(str(paths.best), compile=False)
    val = splits.val
    if config.fast_dev_run:
        val = val.subset(
            np.linspace(0, len(val) - 1, min(len(val), FAST_DEV_EVAL_FACES)).astype(int)
        )
    report = evaluate_model(
        best, val, config.flip_tta, config.tta_shift, config.targets, config.calibrate
    )
    table = write_report(report, paths)
    plot_run(paths.root)
    summary = {
        "train_minutes": round(train_minutes, 1),
        "epochs_run": len(_logged_column(paths.history, "accuracy")),
        "best_val_accuracy_during_training": _best_val_accuracy(paths.history),
        "val_accuracy": report["accuracy"],
        "targets": config.targets,
        "val_primary_accuracy": primary(report, config.targets)["accuracy"],
        "val_source": splits.val_source,
        "train_faces": len(training_targets(splits, config.targets)[0].faces),
        "val_faces": len(val),
        "backend": config.backend,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.platform()}",
    }
    paths.summary.write_text(json.dumps(summary, indent=2) + "\n")
    onnx_path = export_under_tensorflow(paths.root)
    print(table)
    print(
        f"\nrun {paths.root}: val top-1 {primary(report, config.targets)['accuracy']:.2%} "
        f"against {'the FER+ majority' if config.targets == 'ferplus' else 'FER-2013 labels'} "
        f"(flip TTA {config.flip_tta}), trained {train_minutes:.1f} min, model {onnx_path}"
    )
    return onnx_path


def export_under_tensorflow(run_dir: Path) -> Path:
    """Export the run's best model with tf2onnx, in a TensorFlow child process if need be."""
    if keras.backend.backend() == "tensorflow":
        from training.export import export_run

        return export_run(run_dir)
    env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    done = subprocess.run(
        [sys.executable, "-m", "training", "export", "--run-dir", str(run_dir)],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise TrainingError(f"export under TensorFlow failed: {last}")
    (path,) = RunPaths(run_dir).export.glob("*.onnx")
    return path


def snapshot(config: TrainConfig, out: Path) -> dict[str, Any]:
    """Write the run's latest weights as a portable checkpoint (``training.portable``).

    Reads phase 2's backup (raw weights, before any weight averaging is swapped in). Raises
    TrainingError when the run has no backup yet.
    """
    paths = RunPaths(Path(config.run_dir))
    latest, progress = paths.backup / "latest.weights.h5", paths.backup / "training_metadata.json"
    if not latest.is_file() or not progress.is_file():
        raise TrainingError(f"{paths.root} has no finished phase-2 epoch to save yet")
    model = build_model(
        config.backbone, config.input_size, config.alpha, "none", config.dropout,
        augment=config.augment, erasing=config.random_erasing, seed=config.seed,
    )  # fmt: skip
    set_backbone_trainable(model, True, config.freeze_batchnorm)
    # The same optimizer layout as phase 2 (a schedule, not a learning-rate variable).
    _compile(
        model, keras.optimizers.schedules.CosineDecay(config.lr, 1), config, config.ema_momentum > 0
    )
    model.optimizer.build(model.trainable_variables)
    model.load_weights(str(latest))
    done = int(json.loads(progress.read_text())["epoch"]) - config.frozen_epochs
    recipe = config.extra.get("recipe", "experiments/<recipe>.json")
    info = {
        "what": "raw weights after phase-2 epoch "
        f"{done} of {config.epochs}, float16; continue with the command below",
        "epochs_done": done,
        "epochs": config.epochs,
        "val_accuracy_by_epoch": _logged_column(paths.history, "val_accuracy"),
        "config": {k: v for k, v in asdict(config).items() if k not in ("data", "run_dir")},
        "continue": f"python -m training train --config {recipe} --data DATA "
        f"--run-dir RUN --init-from {out} --initial-epoch {done}",
    }
    write_portable(model, out, info)
    return info


def train(config: TrainConfig, resume: bool = False) -> Path:
    """Run (or resume) training, then evaluate, plot and export. Returns the run directory.

    Raises TrainingError for a run directory that already holds a run (without ``resume``), a
    backend other than the one Keras runs on, and every data or weights problem.
    """
    _check_backend(config)
    paths = RunPaths(Path(config.run_dir))
    if paths.config.exists() and not resume:
        raise TrainingError(f"run directory {paths.root} already holds a run; pass --resume")
    if config.fast_dev_run:
        config.frozen_epochs = min(config.frozen_epochs, 1)
        config.epochs = config.initial_epoch + 1
    keras.utils.set_random_seed(config.seed)
    started = time.monotonic()

    splits = run_splits(config)
    print(
        f"data: train {len(splits.train)} faces, val {len(splits.val)} faces ({splits.val_source})"
    )
    if not paths.done.exists():
        data = _datasets(config, splits)
        model = build_model(
            config.backbone,
            config.input_size,
            config.alpha,
            config.weights,
            config.dropout,
            augment=config.augment,
            erasing=config.random_erasing,
            seed=config.seed,
        )
        if config.init_from:
            _load_init(model, config.init_from)
        # The run directory exists only once data, weights and model are known good, so a run
        # that fails on them can simply be started again.
        paths.checkpoints.mkdir(parents=True, exist_ok=True)
        config.save(paths.config)
        phase1_head(model, config, paths, data)
        phase2_full(model, config, paths, data, resume)
        paths.done.write_text("training finished\n")
    finish(config, paths, splits, (time.monotonic() - started) / 60)
    return paths.root
