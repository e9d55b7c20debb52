"""What decides a training run: ``TrainConfig``, its recipe files (and ensembles' recipes) and
the Keras backend choice.

Keras-free on purpose: the backend must be chosen (``KERAS_BACKEND``) before ``import keras``,
and the command line reads its flags from this dataclass before any model code is imported.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from training.errors import TrainingError

BACKENDS = ("torch", "tensorflow")
TARGETS = ("fer2013", "ferplus")
# torch is the default backend; on this project's CPU TensorFlow measured 1.3-1.5x faster
# (bench/training_speed.py, docs/EXPERIMENTS.md), so "tensorflow" is one setting away.
DEFAULT_BACKEND = "torch"


@dataclass
class TrainConfig:
    """Everything that decides a training run; saved as config.json in the run directory.

    Learning rates are per step of AdamW; epochs count passes over the training set.
    """

    data: str
    run_dir: str
    backend: str = DEFAULT_BACKEND
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
    # "fer2013": one-hot FER-2013 labels; "ferplus": the FER+ vote distributions
    # (training.ferplus), optionally mixed with the FER-2013 label by ``fer2013_mix``.
    targets: str = "fer2013"
    ferplus_votes: str | None = None  # labels.csv; default <data>/../ferplus/labels.csv
    fer2013_mix: float = 0.0
    calibrate: bool = True  # temperature scaling fitted on val, inside the exported graph
    mixup: float = 0.0
    augment: float = 1.0
    random_erasing: float = 0.0
    class_weight: str = "none"
    freeze_batchnorm: bool = False
    ema_momentum: float = 0.0
    patience: int = 8
    flip_tta: bool = True
    tta_shift: int = 0  # pixels; > 0 adds two shifted views to the test-time average
    crop_margin: float = 0.02  # scripts/measure_crop_margin.py
    val_fraction: float = 0.1
    seed: int = 1337
    init_from: str | None = None
    initial_epoch: int = 0  # phase-2 epochs the init_from weights already had (a continued run)
    tensorboard: bool = False
    fast_dev_run: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.targets not in TARGETS:
            raise TrainingError(
                f"unknown targets {self.targets!r}; choose one of {', '.join(TARGETS)}"
            )
        if self.backend not in BACKENDS:
            raise TrainingError(
                f"unknown backend {self.backend!r}; choose one of {', '.join(BACKENDS)}"
            )
        # Checked here, before any data loads, so a bad number fails in one line at once.
        rules = [
            ("epochs", self.epochs >= 1, "at least 1"),
            ("initial_epoch", 0 <= self.initial_epoch < self.epochs, "in [0, epochs)"),
            ("frozen_epochs", self.frozen_epochs >= 0, "at least 0"),
            ("batch_size", self.batch_size >= 1, "at least 1"),
            ("input_size", self.input_size >= 32, "at least 32 (MobileNet's smallest input)"),
            ("alpha", self.alpha > 0, "above 0"),
            ("dropout", 0.0 <= self.dropout < 1.0, "in [0, 1)"),
            ("lr", self.lr > 0, "above 0"),
            ("head_lr", self.head_lr > 0, "above 0"),
            ("warmup_epochs", self.warmup_epochs >= 0, "at least 0"),
            ("weight_decay", self.weight_decay >= 0, "at least 0"),
            ("label_smoothing", 0.0 <= self.label_smoothing < 1.0, "in [0, 1)"),
            ("fer2013_mix", 0.0 <= self.fer2013_mix <= 1.0, "in [0, 1]"),
            ("augment", self.augment >= 0, "at least 0"),
            ("random_erasing", 0.0 <= self.random_erasing <= 1.0, "in [0, 1]"),
            ("ema_momentum", 0.0 <= self.ema_momentum < 1.0, "in [0, 1)"),
            ("patience", self.patience >= 1, "at least 1"),
            ("tta_shift", self.tta_shift >= 0, "at least 0"),
            ("crop_margin", 0.0 <= self.crop_margin < 0.5, "in [0, 0.5)"),
            ("val_fraction", 0.0 < self.val_fraction < 1.0, "in (0, 1)"),
        ]
        for name, ok, bound in rules:
            if not ok:
                raise TrainingError(f"{name} must be {bound}, got {getattr(self, name)}")

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str) -> TrainConfig:
        """A config from a mapping; unknown keys are an error that names ``source``."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise TrainingError(f"{source}: unknown setting(s) {', '.join(unknown)}")
        try:
            return cls(**values)
        except TypeError as exc:
            raise TrainingError(f"{source}: {exc}") from None

    @classmethod
    def load(cls, run_dir: Path) -> TrainConfig:
        """The config a run directory was made with."""
        path = run_dir / "config.json"
        if not path.is_file():
            raise TrainingError(f"{run_dir} holds no training run (no config.json)")
        return cls.from_dict(json.loads(path.read_text()), str(path))

    def save(self, path: Path) -> None:
        """Write the config as JSON."""
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")


@dataclass
class EnsembleRecipe:
    """An ensemble recipe file (``experiments/ensembles/<name>.json``).

    ``members``: the recipe files (``experiments/<name>.json``) of the member runs, in order.
    """

    name: str
    members: list[str]
    flip_tta: bool = True
    tta_shift: int = 0
    calibrate: bool = True  # temperature scaling fitted on val, inside the exported graph

    @classmethod
    def load(cls, path: Path) -> EnsembleRecipe:
        """Read and check a recipe; raises TrainingError naming the file on any problem."""
        if not path.is_file():
            raise TrainingError(f"ensemble recipe {path} does not exist")
        try:
            values = json.loads(path.read_text())
            recipe = cls(**{k: v for k, v in values.items() if not k.startswith("_")})
        except (json.JSONDecodeError, TypeError, AttributeError) as exc:
            raise TrainingError(f"ensemble recipe {path} is not valid: {exc}") from None
        if len(recipe.members) < 2:
            raise TrainingError(f"ensemble recipe {path} needs at least two members")
        return recipe


def member_configs(recipe: EnsembleRecipe, run_dirs: list[Path]) -> list[TrainConfig]:
    """The configs of an ensemble's member runs, checked against its recipe (one run per member
    recipe, in order, each trained from that recipe file, all cropping faces alike).

    Keras-free, so a wrong run directory fails in one line before any model code loads.
    """
    if len(run_dirs) != len(recipe.members):
        raise TrainingError(
            f"the recipe has {len(recipe.members)} members, got {len(run_dirs)} run directories"
        )
    configs = []
    for run_dir, member_recipe in zip(run_dirs, recipe.members, strict=True):
        config = TrainConfig.load(run_dir)
        trained_from = config.extra.get("recipe")
        if trained_from is None or Path(trained_from).resolve() != Path(member_recipe).resolve():
            raise TrainingError(
                f"{run_dir} was trained from {trained_from or 'no recipe'}, "
                f"the ensemble recipe expects {member_recipe} there"
            )
        configs.append(config)
    margins = {c.crop_margin for c in configs}
    if len(margins) > 1:
        raise TrainingError(f"the members crop faces differently (crop_margin {sorted(margins)})")
    targets = {c.targets for c in configs}
    if len(targets) > 1:
        raise TrainingError(f"the members learned different targets ({', '.join(sorted(targets))})")
    return configs


EXTENDS = "extends"


def read_recipe(path: Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The settings of a recipe file (``experiments/<name>.json``): a JSON object of fields.

    Keys starting with ``_`` are comments. ``"extends": "other.json"`` (a path relative to this
    file) starts from that recipe's settings, so a recipe says only what differs. Raises
    TrainingError if a file is missing, is not JSON, extends itself in a cycle, or names a
    setting TrainConfig does not have.
    """
    if not path.is_file():
        raise TrainingError(f"recipe file {path} does not exist")
    if path.resolve() in _seen:
        raise TrainingError(f"recipe file {path} extends itself (through {_seen[-1].name})")
    try:
        values = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise TrainingError(f"recipe file {path} is not valid JSON: {exc}") from None
    if not isinstance(values, dict):
        raise TrainingError(f"recipe file {path} must hold a JSON object of settings")
    settings = {k: v for k, v in values.items() if not k.startswith("_")}
    base = settings.pop(EXTENDS, None)
    if base is not None:
        if not isinstance(base, str):
            raise TrainingError(f"recipe file {path}: {EXTENDS} must be a file name")
        settings = read_recipe(path.parent / base, (*_seen, path.resolve())) | settings
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise TrainingError(f"recipe file {path}: unknown setting(s) {', '.join(unknown)}")
    return settings


def select_backend(name: str) -> None:
    """Make Keras use backend ``name``; must run before the first ``import keras``.

    Raises TrainingError if Keras was already imported with another backend.
    """
    if name not in BACKENDS:
        raise TrainingError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    if "keras" in sys.modules:
        current = sys.modules["keras"].backend.backend()
        if current != name:
            raise TrainingError(
                f"Keras is already running on {current}; start a new process for {name}"
            )
        return
    os.environ["KERAS_BACKEND"] = name
