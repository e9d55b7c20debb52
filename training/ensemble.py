"""Several trained classifiers as one model: their probabilities averaged inside one graph.

Averaging the softmax outputs of independently trained networks (different seeds, widths or
resolutions) is the standard ensemble of image classification (Hansen & Salamon 1990;
Lakshminarayanan et al. 2017); on FER-2013 it is how most published top results are reached.
The members must share the crop geometry (``crop_margin``) and have been validated on the same
val faces, so the ensemble's report is as honest as each member's. The ensemble is evaluated and
exported through the same ``training.inference`` graph as a single run.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from training.data import Splits, run_splits
from training.errors import TrainingError
from training.inference import INPUT_NAME
from training.recipe import EnsembleRecipe, TrainConfig, member_configs
from training.run_paths import RunPaths


def ensemble_model(members: Sequence[keras.Model], name: str) -> keras.Model:
    """(N, 48, 48, 1) faces -> (N, 7): the mean of the members' probabilities.

    Each member becomes a sub-model named ``member_<i>`` so that members built by the same code
    (same layer names) sit side by side in one graph.
    """
    face = keras.Input(members[0].input_shape[1:], name=INPUT_NAME)
    outputs = [
        keras.Model(m.input, m.output, name=f"member_{i}")(face) for i, m in enumerate(members)
    ]
    probs = keras.layers.Average(name="member_average")(outputs)
    return keras.Model(face, probs, name=name.replace("-", "_"))


@dataclass
class Member:
    """One member run: its directory, config and trained model."""

    run_dir: Path
    config: TrainConfig
    model: keras.Model


def load_members(recipe: EnsembleRecipe, run_dirs: Sequence[Path]) -> list[Member]:
    """The member runs with their trained models, checked against the recipe
    (``training.recipe.member_configs``); raises TrainingError for a run without a checkpoint."""
    members = []
    for run_dir, config in zip(run_dirs, member_configs(recipe, list(run_dirs)), strict=True):
        best = RunPaths(run_dir).best
        if not best.is_file():
            raise TrainingError(f"{run_dir} has no best checkpoint ({best})")
        model = keras.models.load_model(str(best), compile=False)
        members.append(Member(run_dir, config, model))
    return members


def shared_val(members: Sequence[Member], data: Path | None) -> Splits:
    """The splits of the val faces every member was validated on (loaded per member: the split
    may depend on its seed); raises TrainingError if they differ."""
    splits = [run_splits(m.config, data) for m in members]
    first = splits[0]
    for other, member in zip(splits[1:], members[1:], strict=True):
        same = np.array_equal(first.val.images, other.val.images) and np.array_equal(
            first.val.labels, other.val.labels
        )
        if not same:
            raise TrainingError(
                f"{member.run_dir} was validated on other faces than {members[0].run_dir}; "
                "an ensemble of them would be scored on faces a member trained on"
            )
    return first


def member_card(member: Member) -> dict[str, Any]:
    """What the ensemble's card says about one member."""
    paths = RunPaths(member.run_dir)
    summary = json.loads(paths.summary.read_text()) if paths.summary.is_file() else {}
    report = json.loads(paths.report_json.read_text()) if paths.report_json.is_file() else {}
    return {
        "run": member.run_dir.name,
        "recipe": member.config.extra.get("recipe"),
        "backbone": member.config.backbone,
        "alpha": member.config.alpha,
        "input_size": member.config.input_size,
        "seed": member.config.seed,
        "backend": member.config.backend,
        "val_accuracy": report.get("accuracy"),
        "targets": member.config.targets,
        "val_ferplus_accuracy": report.get("ferplus", {}).get("accuracy"),
        "flip_tta": report.get("flip_tta"),
        "train_minutes": summary.get("train_minutes"),
        "command": member.config.extra.get("command"),
        "config": asdict(member.config),
    }


def build_ensemble(
    recipe_path: Path, run_dirs: Sequence[Path], out_dir: Path, data: Path | None = None
) -> tuple[dict[str, Any], Path]:
    """Evaluate the recipe's ensemble of ``run_dirs`` on val and export it to ONNX.

    Writes ``out_dir``'s report, plots (confusion matrix), ``ensemble.json`` and
    ``export/<name>.onnx`` + card. Returns (report, ONNX path). Needs the TensorFlow backend.
    """
    from training.evaluate import evaluate_model
    from training.export import PARITY_FACES, classifier_card, ensemble_metadata, export_model
    from training.plots import plot_run
    from training.report import write_report

    recipe = EnsembleRecipe.load(recipe_path)
    members = load_members(recipe, run_dirs)
    splits = shared_val(members, data)
    model = ensemble_model([m.model for m in members], recipe.name)
    targets = members[0].config.targets
    report = evaluate_model(
        model, splits.val, recipe.flip_tta, recipe.tta_shift, targets, recipe.calibrate
    )

    paths = RunPaths(out_dir)
    paths.root.mkdir(parents=True, exist_ok=True)
    print(write_report(report, paths))
    plot_run(paths.root)
    cards = [member_card(m) for m in members]
    description = {"recipe": str(recipe_path), **asdict(recipe), "members": cards}
    paths.ensemble.write_text(json.dumps(description, indent=2) + "\n")

    metadata = ensemble_metadata(recipe.name, cards, report, splits)
    command = " ".join(["python -m training", *sys.argv[1:]])
    out_path, _ = export_model(
        model,
        paths.export / f"{recipe.name}.onnx",
        metadata,
        splits.val.images[:PARITY_FACES],
        recipe.flip_tta,
        recipe.tta_shift,
        metadata["temperature"],
        card=classifier_card(report, {"ensemble": description}, command),
    )
    return report, out_path
