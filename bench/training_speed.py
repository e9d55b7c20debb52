"""Seconds per fine-tuning step of a Keras MobileNet on each Keras backend; prints a table.

    python bench/training_speed.py                          # torch vs tensorflow, 64 px
    python bench/training_speed.py --backends torch --sizes 64 80 96 --augment
    python bench/training_speed.py --first-trainable conv_dw_12

Each (backend, configuration) runs in its own child process, because Keras fixes its backend at
import. Random inputs (speed does not depend on pixel values), XLA off, batch 64, all layers
trainable unless told; ``fit`` on in-memory arrays: one warm-up epoch of 3 steps, then two
timed epochs of 12 steps; the median of the two. The machine is
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


def pipeline_child(backend: str, size: int, batch: int) -> None:
    """Time the project's own training path: ``build_model`` with augmentation and random
    erasing in the graph, ``FaceBatches`` (numpy), AdamW with weight EMA; print one JSON line."""
    os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np

    from training.data import FaceSet
    from training.datasets import FaceBatches
    from training.model import build_model
    from training.recipe import TrainConfig
    from training.train import _compile

    steps = 12
    rng = np.random.default_rng(0)
    n = batch * steps
    faces = FaceSet(
        rng.integers(0, 256, (n, 48, 48), np.uint8), rng.integers(0, 7, n), ("random",) * n
    )
    config = TrainConfig(data="-", run_dir="-", backend=backend, ema_momentum=0.999)
    model = build_model("mobilenet", size, 1.0, "none", 0.3, augment=1.0, erasing=0.5)
    _compile(model, 1e-3, config, ema=True)
    warm = FaceBatches(faces, batch, training=True, max_batches=3)
    model.fit(warm, epochs=1, verbose=0)
    times = []
    for _ in range(2):
        start = time.perf_counter()
        model.fit(FaceBatches(faces, batch, training=True), epochs=1, verbose=0)
        times.append((time.perf_counter() - start) / steps)
    keras.backend.clear_session()
    print(json.dumps({"s_per_step": statistics.median(times)}))


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
    steps = 12
    x = np.random.rand(batch * steps, 48, 48, 1).astype("float32") * 255
    y = np.eye(7, dtype="float32")[np.random.randint(0, 7, batch * steps)]
    # ``fit`` as training uses it; the first epoch builds, traces and warms up.
    model.fit(x[: batch * 3], y[: batch * 3], batch_size=batch, epochs=1, verbose=0)
    times = []
    for _ in range(2):
        start = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
        times.append((time.perf_counter() - start) / steps)
    print(json.dumps({"s_per_step": statistics.median(times)}))


def main() -> None:
    """Print s/step and min/epoch (28,709 images) per backend and configuration."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", nargs="+", default=["torch", "tensorflow"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[64])
    parser.add_argument("--first-trainable", default="conv1")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--augment", action="store_true", help="augmentation layers in the graph")
    parser.add_argument(
        "--pipeline", action="store_true", help="the project's training path (batches, EMA, aug)"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child and args.pipeline:
        pipeline_child(args.child, args.sizes[0], args.batch)
        return
    if args.child:
        child(args.child, args.sizes[0], args.first_trainable, args.batch, args.augment)
        return
    print("| backend | input | trainable from | batch | augment in graph | s/step | min/epoch |")
    print("|---|---|---|---|---|---|---|")
    for size in args.sizes:
        for backend in args.backends:
            command = [sys.executable, __file__, "--child", backend, "--sizes", str(size)]
            command += ["--first-trainable", args.first_trainable, "--batch", str(args.batch)]
            command += ["--augment"] * args.augment + ["--pipeline"] * args.pipeline
            done = subprocess.run(command, capture_output=True, text=True, env=os.environ)
            if done.returncode != 0:
                print(f"| {backend} | {size} | failed: {done.stderr.strip().splitlines()[-1]} |")
                continue
            step = json.loads(done.stdout.strip().splitlines()[-1])["s_per_step"]
            minutes = step / args.batch * TRAIN_IMAGES / 60
            print(
                f"| {backend} | {size} | {args.first_trainable} | {args.batch} "
                f"| {'training path' if args.pipeline else args.augment} "
                f"| {step:.2f} | {minutes:.1f} |"
            )


if __name__ == "__main__":
    main()
