"""Seconds per fine-tuning step of a Keras MobileNet on each Keras backend; prints a table.

    python bench/training_speed.py                          # torch vs tensorflow, 64 px
    python bench/training_speed.py --backends torch --sizes 64 80 96 --augment
    python bench/training_speed.py --first-trainable conv_dw_12

Each (backend, configuration) runs in its own child process, because Keras fixes its backend at
import. Random inputs (speed does not depend on pixel values), XLA off, batch 64, all layers
trainable unless told; 3 warm-up steps, then the median of the timed steps. The machine is
shared: pause other work (training: ``kill -STOP PID``) and compare rows of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

TRAIN_IMAGES = 28_709


def child(backend: str, size: int, first_trainable: str, batch: int, augment: bool) -> None:
    """Time training steps in this process on ``backend``; print one JSON line."""
    os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np

    from training.augment import build_augmenter

    net = keras.applications.MobileNet(
        input_shape=(size, size, 3), include_top=False, weights=None, pooling="avg"
    )
    trainable = False
    for layer in net.layers:
        trainable = trainable or layer.name == first_trainable
        layer.trainable = trainable
    face = keras.Input((48, 48, 1))
    x = build_augmenter(1, 1.0, erasing=0.5)(face) if augment else face
    x = keras.layers.Resizing(size, size)(x)
    x = keras.layers.Concatenate()([x, x, x])
    probs = keras.layers.Dense(7, activation="softmax")(net(keras.layers.Rescaling(1 / 127.5)(x)))
    model = keras.Model(face, probs)
    model.compile(keras.optimizers.AdamW(1e-4), "categorical_crossentropy")
    x_batch = np.random.rand(batch, 48, 48, 1).astype("float32") * 255
    y_batch = np.eye(7, dtype="float32")[np.random.randint(0, 7, batch)]
    for _ in range(3):
        model.train_on_batch(x_batch, y_batch)
    times = []
    for _ in range(10):
        start = time.perf_counter()
        model.train_on_batch(x_batch, y_batch)
        times.append(time.perf_counter() - start)
    print(json.dumps({"s_per_step": statistics.median(times)}))


def main() -> None:
    """Print s/step and min/epoch (28,709 images) per backend and configuration."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", nargs="+", default=["torch", "tensorflow"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[64])
    parser.add_argument("--first-trainable", default="conv1")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--augment", action="store_true", help="augmentation layers in the graph")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.sizes[0], args.first_trainable, args.batch, args.augment)
        return
    print("| backend | input | trainable from | batch | augment in graph | s/step | min/epoch |")
    print("|---|---|---|---|---|---|---|")
    for size in args.sizes:
        for backend in args.backends:
            command = [sys.executable, __file__, "--child", backend, "--sizes", str(size)]
            command += ["--first-trainable", args.first_trainable, "--batch", str(args.batch)]
            if args.augment:
                command.append("--augment")
            done = subprocess.run(command, capture_output=True, text=True, env=os.environ)
            if done.returncode != 0:
                print(f"| {backend} | {size} | failed: {done.stderr.strip().splitlines()[-1]} |")
                continue
            step = json.loads(done.stdout.strip().splitlines()[-1])["s_per_step"]
            minutes = step / args.batch * TRAIN_IMAGES / 60
            print(
                f"| {backend} | {size} | {args.first_trainable} | {args.batch} | {args.augment} "
                f"| {step:.2f} | {minutes:.1f} |"
            )


if __name__ == "__main__":
    main()
