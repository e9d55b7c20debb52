"""Recipe files, the flags the CLI derives from TrainConfig, and the backend choice."""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path

import pytest

from tests.helpers.paths import ROOT
from training.cli import NOT_FLAGS, _train_config, build_parser
from training.errors import TrainingError
from training.recipe import BACKENDS, EnsembleRecipe, TrainConfig, read_recipe

RECIPES = sorted((ROOT / "experiments").glob("*.json"))
ENSEMBLES = sorted((ROOT / "experiments" / "ensembles").glob("*.json"))


def test_there_are_recipes() -> None:
    assert RECIPES, "experiments/ holds no recipe files"


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_every_recipe_file_loads_into_a_config(recipe: Path) -> None:
    settings = read_recipe(recipe)
    config = TrainConfig.from_dict({"data": "d", "run_dir": "r", **settings}, str(recipe))
    assert config.backend in BACKENDS
    if config.init_from:  # a recipe that starts from weights names a file that ships
        assert (ROOT / config.init_from).is_file(), config.init_from
    assert "_about" in json.loads(recipe.read_text())  # every recipe says what it is for


@pytest.mark.parametrize("recipe", ENSEMBLES, ids=lambda p: p.stem)
def test_every_ensemble_recipe_names_member_recipes_that_exist(recipe: Path) -> None:
    ensemble = EnsembleRecipe.load(recipe)
    assert ensemble.name == recipe.stem
    for member in ensemble.members:
        assert (ROOT / member) in RECIPES, member
    assert "_about" in json.loads(recipe.read_text())


def test_an_ensemble_recipe_with_unknown_keys_is_one_error(tmp_path: Path) -> None:
    recipe = tmp_path / "e.json"
    recipe.write_text(json.dumps({"name": "e", "members": ["a", "b"], "seed": 3}))
    with pytest.raises(TrainingError, match=f"ensemble recipe {recipe} is not valid"):
        EnsembleRecipe.load(recipe)


def test_every_config_field_is_a_flag_of_train() -> None:
    args = build_parser().parse_args(["train", "--data", "x"])
    expected = {f.name for f in fields(TrainConfig)} - NOT_FLAGS
    assert set(args.config_fields) == expected


def test_flags_override_the_recipe(tmp_path: Path) -> None:
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps({"_about": "x", "epochs": 30, "lr": 0.001, "flip_tta": True}))
    args = build_parser().parse_args(
        ["train", "--config", str(recipe), "--data", "d", "--run-dir", "r", "--epochs", "3",
         "--no-flip-tta", "--ema-momentum", "0.99"]
    )  # fmt: skip
    config = _train_config(args)
    assert (config.epochs, config.lr, config.flip_tta) == (3, 0.001, False)
    assert config.ema_momentum == 0.99
    assert config.extra["recipe"] == str(recipe)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"epochs": 3, "learning_rate": 1}', "unknown setting(s) learning_rate"),
        ("[1, 2]", "must hold a JSON object"),
        ("{epochs: 3}", "is not valid JSON"),
    ],
)
def test_bad_recipes_are_refused_with_their_name(
    tmp_path: Path, content: str, message: str
) -> None:
    recipe = tmp_path / "bad.json"
    recipe.write_text(content)
    with pytest.raises(TrainingError, match=re.escape(message)):
        read_recipe(recipe)


def test_unknown_backends_and_bad_ema_are_refused() -> None:
    with pytest.raises(TrainingError, match="unknown backend 'jax'"):
        TrainConfig(data="d", run_dir="r", backend="jax")
    with pytest.raises(TrainingError, match="ema_momentum"):
        TrainConfig(data="d", run_dir="r", ema_momentum=1.0)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"epochs": 0}, "epochs must be at least 1, got 0"),
        ({"epochs": -1}, "epochs must be at least 1, got -1"),
        ({"epochs": 6, "initial_epoch": 6}, "initial_epoch must be in [0, epochs), got 6"),
        ({"batch_size": 0}, "batch_size must be at least 1, got 0"),
        ({"input_size": 16}, "input_size must be at least 32"),
        ({"dropout": 1.0}, "dropout must be in [0, 1), got 1.0"),
        ({"lr": 0.0}, "lr must be above 0, got 0.0"),
        ({"val_fraction": 0.0}, "val_fraction must be in (0, 1), got 0.0"),
    ],
)
def test_numbers_out_of_range_are_refused_before_anything_loads(
    values: dict[str, object], message: str
) -> None:
    with pytest.raises(TrainingError, match=re.escape(message)):
        TrainConfig(data="d", run_dir="r", **values)  # type: ignore[arg-type]


def test_a_recipe_extends_another_and_says_only_what_differs(tmp_path: Path) -> None:
    base = tmp_path / "base.json"
    base.write_text(json.dumps({"_about": "x", "epochs": 30, "lr": 0.001, "seed": 1}))
    child = tmp_path / "child.json"
    child.write_text(json.dumps({"extends": "base.json", "seed": 2}))
    assert read_recipe(child) == {"epochs": 30, "lr": 0.001, "seed": 2}
    loop = tmp_path / "loop.json"
    loop.write_text(json.dumps({"extends": "loop.json"}))
    with pytest.raises(TrainingError, match="extends itself"):
        read_recipe(loop)
    missing = tmp_path / "orphan.json"
    missing.write_text(json.dumps({"extends": "nowhere.json"}))
    with pytest.raises(TrainingError, match="nowhere.json does not exist"):
        read_recipe(missing)
