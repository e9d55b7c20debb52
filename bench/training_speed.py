"""Seconds per fine-tuning step of a Keras MobileNet on this machine; prints a table.

    python bench/training_speed.py                      # the configurations in docs/EXPERIMENTS.md
    python bench/training_speed.py --size 64 --first-trainable conv1 --batch 64

Random inputs (speed does not depend on pixel values), XLA off unless --xla, 8 timed steps after
one warm-up epoch. Quote medians of several runs: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

TRAIN_IMAGES = 28_709
DEFAULT_CONFIGS = [
    ("MobileNet", 96, "conv1", 64),
    ("MobileNet", 96, "conv_dw_12", 64),
    ("MobileNet", 64, "conv1", 64),
    ("MobileNet", 48, "conv1", 64),
    ("MobileNetV2", 96, "Conv1", 64),
]


def seconds_per_step(arch: str, size: int, first_trainable: str, batch: int, xla: bool) -> float:
    """Mean wall time of one training step, layers before ``first_trainable`` frozen."""
    net = getattr(keras.applications, arch)(
        input_shape=(size, size, 3), include_top=False, weights=None, pooling="avg"
    )
    trainable = False
    for layer in net.layers:
        trainable = trainable or layer.name == first_trainable
        layer.trainable = trainable
    model = keras.Model(net.input, keras.layers.Dense(7, activation="softmax")(net.output))
    model.compile(keras.optimizers.Adam(1e-4), "categorical_crossentropy", jit_compile=xla)
    steps = 8
    x = np.random.rand(batch * steps, size, size, 3).astype("float32")
    y = np.eye(7, dtype="float32")[np.random.randint(0, 7, batch * steps)]
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    return (time.perf_counter() - start) / steps


def main() -> None:
    """Print s/step and min/epoch (28,709 images) per configuration."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--arch", default="MobileNet")
    parser.add_argument("--size", type=int)
    parser.add_argument("--first-trainable", default="conv1")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--xla", action="store_true")
    args = parser.parse_args()
    configs = DEFAULT_CONFIGS
    if args.size:
        configs = [(args.arch, args.size, args.first_trainable, args.batch)]
    print("| backbone | input | trainable from | batch | XLA | s/step | min/epoch |")
    print("|---|---|---|---|---|---|---|")
    for arch, size, first, batch in configs:
        step = seconds_per_step(arch, size, first, batch, args.xla)
        minutes = step / batch * TRAIN_IMAGES / 60
        print(f"| {arch} | {size} | {first} | {batch} | {args.xla} | {step:.2f} | {minutes:.1f} |")


if __name__ == "__main__":
    main()
