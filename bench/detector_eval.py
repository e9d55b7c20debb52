"""Face detectors compared on a labelled set of real-photo scenes; prints markdown tables.

    python -m bench.detector_eval [--fer ../shared/data/fer2013/val] [--blazeface PATH ...]
    python -m bench.detector_eval --seed 7 --sweep yunet   # how the DNN defaults were chosen
    python -m bench.detector_eval --only yunet --only blazeface   # some detectors only
    python -m bench.detector_eval --hard     # small, turned, crowded faces vs 384 px and fer
    python -m bench.detector_eval --native   # the DNN detectors' smallest reliable face

Per detector: median ms per 640x480 frame on 1 and 2 threads; recall and false positives on
scenes built by bench/scenes.py (faces rotated up to +-30 degrees, 30-300 px); and end-to-end
emotion accuracy (detect, crop, classify with the bundled model) on FER-2013 val faces placed
into scenes, with and without eye alignment. A face missed by the detector counts as wrong.
Results also go to test-output/detector_eval.json. ``--hard`` and ``--native`` print only their
own tables (``bench/hard_faces.py``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from bench.hard_faces import native_sizes, report
from bench.scenes import Scene, TrueFace, fer_scenes, photo_scenes, source_photos
from service.classifier import EmotionModel
from service.config import BUNDLED_BLAZEFACE, BUNDLED_MODEL, BUNDLED_YUNET, Settings
from service.crops import crop_faces, crop_framing
from service.detectors import Detection, FaceDetector
from service.detectors.blazeface import BlazeFaceDetector
from service.detectors.factory import dnn_options
from service.detectors.haar import HaarDetector
from service.detectors.yunet import YuNetDetector

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = Settings()  # the service's detector options, where a row does not set its own
SWEEP_SIDES = (256, 320, 352, 384, 416, 448, 512, 640)
SWEEP_SCORES = (0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8)
DNN_DETECTORS: dict[str, tuple[Callable[..., FaceDetector], Path]] = {
    "blazeface": (BlazeFaceDetector, BUNDLED_BLAZEFACE),
    "yunet": (YuNetDetector, BUNDLED_YUNET),
}

DetectorFactory = Callable[[int], FaceDetector]


def detectors(extra_blazeface: list[Path]) -> dict[str, DetectorFactory]:
    """Detector name -> factory taking a thread count, as the service would build them."""
    found: dict[str, DetectorFactory] = {
        "haar (400 px, scale 1.1)": lambda t: HaarDetector(400, 1.1, 5),
        "haar (full 640x480 frame)": lambda t: HaarDetector(640, 1.1, 5),
        f"blazeface ({BUNDLED_BLAZEFACE.name})": lambda t: BlazeFaceDetector(
            BUNDLED_BLAZEFACE, **dnn_options(SETTINGS) | {"threads": t}
        ),
        f"yunet ({BUNDLED_YUNET.name})": lambda t: YuNetDetector(
            BUNDLED_YUNET, **dnn_options(SETTINGS) | {"threads": t}
        ),
    }
    for path in extra_blazeface:
        found[f"blazeface ({path.name})"] = _blazeface_factory(path)
    return found


def _blazeface_factory(path: Path) -> DetectorFactory:
    return lambda t: BlazeFaceDetector(path, **dnn_options(SETTINGS) | {"threads": t})


def match(found: list[Detection], truth: list[TrueFace]) -> tuple[dict[int, Detection], int]:
    """Greedy one-to-one matching: a detection matches a true face when its centre lies within
    half a face of the true centre and its side is 0.5-2x the true side. Returns matched
    detections by true-face index and the number of unmatched detections (false positives)."""
    pairs = []
    for i, t in enumerate(truth):
        for j, d in enumerate(found):
            dx, dy = d.x + d.w / 2 - t.cx, d.y + d.h / 2 - t.cy
            distance = float(np.hypot(dx, dy))
            if distance <= 0.5 * t.side and 0.5 <= max(d.w, d.h) / t.side <= 2.0:
                pairs.append((distance, i, j))
    matched: dict[int, Detection] = {}
    used: set[int] = set()
    for _, i, j in sorted(pairs):
        if i not in matched and j not in used:
            matched[i] = found[j]
            used.add(j)
    return matched, len(found) - len(used)


def frame_ms(factory: DetectorFactory, frames: list[np.ndarray], threads: int) -> float:
    """Median milliseconds per frame (after two warm-up frames)."""
    cv2.setNumThreads(threads)
    detector = factory(threads)
    for gray in frames[:2]:
        detector.detect(gray, 20, 20)
    times = []
    for gray in frames * 3:
        start = time.perf_counter()
        detector.detect(gray, 20, 20)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def detection_quality(detector: FaceDetector, scenes: list[Scene]) -> dict[str, float]:
    """Recall on faces >= 40 px, 30-40, 40-50 and 50-60 px; false positives per 20 frames."""
    buckets = {"ge_40px": (40, 1e9), "30_40px": (30, 40), "40_50px": (40, 50),
               "50_60px": (50, 60)}  # fmt: skip
    hits = {name: [0, 0] for name in buckets}
    false_positives = 0
    for scene in scenes:
        found = detector.detect(scene.gray, 20, 20)
        matched, fp = match(found, scene.faces)
        false_positives += fp
        for i, face in enumerate(scene.faces):
            for name, (low, high) in buckets.items():
                if low <= face.side < high:
                    hits[name][0] += i in matched
                    hits[name][1] += 1
    quality: dict[str, float] = {}
    for name, (hit, total) in hits.items():
        quality[f"recall_{name}"] = hit / max(1, total)
        quality[f"faces_{name}"] = total
    quality["false_positives"] = false_positives
    quality["fp_per_20_frames"] = 20 * false_positives / len(scenes)
    return quality


def sweep(detector_name: str, scenes: list[Scene], timing_frames: list[np.ndarray]) -> None:
    """A DNN detector's recall, false positives and ms (2 threads) per input side and score
    floor."""
    kind, path = DNN_DETECTORS[detector_name]
    print("| input side | min score | ms 2 thr | recall >= 40 px | 40-50 px | 50-60 px "
          "| false positives |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    settings = [(side, 0.5) for side in SWEEP_SIDES]
    settings += [(384, score) for score in SWEEP_SCORES if score != 0.5]
    for side, score in settings:

        def factory(threads: int, side: int = side, score: float = score) -> FaceDetector:
            return kind(path, threads=threads, min_score=score, input_side=side)

        ms = frame_ms(factory, timing_frames, 2)
        q = detection_quality(factory(1), scenes)
        print(f"| {side} | {score} | {ms:.1f} | {q['recall_ge_40px']:.1%} "
              f"| {q['recall_40_50px']:.0%} | {q['recall_50_60px']:.0%} "
              f"| {q['false_positives']:.0f} |")  # fmt: skip


def load_fer_faces(
    folder: Path, labels: tuple[str, ...], per_class: int, seed: int
) -> list[tuple[np.ndarray, int]]:
    """Up to ``per_class`` val faces per emotion (folders named as the model's labels), chosen
    at random with a fixed seed."""
    rng = np.random.default_rng(seed)
    faces = []
    for label, name in enumerate(labels):
        files = sorted((folder / name).glob("*.jpg"))
        for index in rng.permutation(len(files))[:per_class]:
            image = cv2.imread(str(files[index]), cv2.IMREAD_GRAYSCALE)
            if image is not None:
                faces.append((image, label))
    return faces


def emotion_accuracy(
    detector: FaceDetector, model: EmotionModel, scenes: list[Scene]
) -> dict[str, float]:
    """End-to-end top-1 with and without alignment, overall and for faces rotated > 10 deg."""
    right = {(align, tilted): 0 for align in (False, True) for tilted in (False, True)}
    totals = {False: 0, True: 0}
    detected = 0
    framing = crop_framing(detector.framing, model.crop)
    for scene in scenes:
        truth = scene.faces[0]
        tilted = abs(truth.angle) > 10
        totals[tilted] += 1
        matched, _ = match(detector.detect(scene.gray, 20, 20), scene.faces)
        if 0 not in matched:
            continue
        detected += 1
        for align in (False, True):
            crop = crop_faces(scene.gray, [matched[0]], model.crop.size, framing, align)
            right[(align, tilted)] += int(np.argmax(model.classify(crop)[0])) == truth.label
    n = len(scenes)
    return {
        "detected": detected / n,
        "accuracy": (right[(False, False)] + right[(False, True)]) / n,
        "accuracy_aligned": (right[(True, False)] + right[(True, True)]) / n,
        "accuracy_tilted": right[(False, True)] / max(1, totals[True]),
        "accuracy_tilted_aligned": right[(True, True)] / max(1, totals[True]),
    }


def upright_accuracy(model: EmotionModel, faces: list[tuple[np.ndarray, int]]) -> float:
    """The classifier alone on the same faces, as FER-2013 cropped them (the ceiling)."""
    crops = np.stack([f.astype(np.float32)[:, :, np.newaxis] for f, _ in faces])
    predicted = np.argmax(model.classify(crops), axis=1)
    return float(np.mean(predicted == np.array([label for _, label in faces])))


def main() -> None:
    """Build the scenes, run every detector, print the tables and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fer", type=Path, default=ROOT.parent / "shared/data/fer2013/val")
    parser.add_argument("--per-class", type=int, default=60, help="FER val faces per emotion")
    parser.add_argument("--frames", type=int, default=160, help="scenes with photo faces")
    parser.add_argument("--empty", type=int, default=40, help="scenes without faces")
    parser.add_argument("--blazeface", type=Path, action="append", default=[])
    parser.add_argument(
        "--seed", type=int, default=2026, help="photo scenes (the defaults were chosen on 7)"
    )
    parser.add_argument(
        "--sweep",
        nargs="?",
        const="blazeface",
        choices=sorted(DNN_DETECTORS),
        help="also sweep a DNN detector's input side and score floor (default blazeface)",
    )
    parser.add_argument(
        "--only", action="append", default=[], help="run detectors whose name contains TEXT"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "test-output/detector_eval.json")
    parser.add_argument("--hard", action="store_true", help="small, turned and crowded faces")
    parser.add_argument("--native", action="store_true", help="smallest face found at 1:1")
    args = parser.parse_args()
    if args.hard or args.native:
        print(f"{time.strftime('%Y-%m-%d %H:%M')}\n")
        out = report() if args.hard else native_sizes()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".hard.json" if args.hard else ".native.json").write_text(
            json.dumps(out, indent=2) + "\n"
        )
        return

    photos = source_photos(ROOT / "test-output/cache")
    scenes = photo_scenes(photos, args.frames, args.empty, seed=args.seed)
    n_faces = sum(len(s.faces) for s in scenes)
    print(f"photo scenes (seed {args.seed}): {len(scenes)} frames ({args.empty} without faces), "
          f"{n_faces} faces from {len(photos)} photos ({', '.join(sorted(photos))})\n")  # fmt: skip
    model = EmotionModel(BUNDLED_MODEL)
    fer = []
    if args.fer.is_dir():
        fer = load_fer_faces(args.fer, model.labels, args.per_class, seed=3)
    fer_set = fer_scenes(fer, seed=11)
    timing_frames = [s.gray for s in scenes[:60]]
    if args.sweep:
        sweep(args.sweep, scenes, timing_frames)
        print()

    results: dict[str, dict[str, float]] = {}
    for name, factory in detectors(args.blazeface).items():
        if args.only and not any(text in name for text in args.only):
            continue
        row: dict[str, float] = {
            "ms_1_thread": frame_ms(factory, timing_frames, 1),
            "ms_2_threads": frame_ms(factory, timing_frames, 2),
        }
        cv2.setNumThreads(1)
        detector = factory(1)
        row |= detection_quality(detector, scenes)
        if fer_set:
            row |= emotion_accuracy(detector, model, fer_set)
        results[name] = row

    print("| detector | ms/frame 1 thr | ms/frame 2 thr | recall >= 40 px | recall 30-40 px "
          "| false pos. / 20 frames |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['ms_1_thread']:.1f} | {r['ms_2_threads']:.1f} "
              f"| {r['recall_ge_40px']:.1%} ({r['faces_ge_40px']:.0f}) "
              f"| {r['recall_30_40px']:.1%} ({r['faces_30_40px']:.0f}) "
              f"| {r['fp_per_20_frames']:.2f} ({r['false_positives']:.0f}) |")  # fmt: skip
    if fer_set:
        ceiling = upright_accuracy(model, fer)
        print(f"\nFER-2013 val faces in scenes: {len(fer_set)} ({args.per_class} per emotion), "
              f"rotated up to +-30 deg, 40-300 px; classifier on the original crops: "
              f"{ceiling:.1%}\n")  # fmt: skip
        print("| detector | detected | top-1 | top-1 aligned | top-1 tilted > 10 deg "
              "| tilted, aligned |")  # fmt: skip
        print("|---|---|---|---|---|---|")
        for name, r in results.items():
            print(f"| {name} | {r['detected']:.1%} | {r['accuracy']:.1%} "
                  f"| {r['accuracy_aligned']:.1%} | {r['accuracy_tilted']:.1%} "
                  f"| {r['accuracy_tilted_aligned']:.1%} |")  # fmt: skip
        results["classifier_on_original_crops"] = {"accuracy": ceiling}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
