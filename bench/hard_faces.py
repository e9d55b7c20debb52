"""Small, turned and crowded faces: recall, false faces and ms per image for this service, the
detect-at-384 baseline and `fer` in-process on the same images; and the detectors' native sizes.

    python -m bench.detector_eval --hard     # crowds by face size, rolls 0-345, class photo
    python -m bench.detector_eval --native   # smallest face each DNN detector finds at 1:1

Images are real photos: scikit-image's astronaut pasted onto its face-free photos
(``devtools.crowds``), plus the class-photo field case. "This service" is the engine as shipped
(tiling, rotation search, orientation check); the baseline is the same engine with
``work_pixels=0`` and no rotation search (the detector seeing every image at 384 px, as before
tiling). Each system decodes the same PNG bytes, detects and classifies (fer: its
``detect_emotions``), one image after another in one run, so the ms columns are side by side.
fer runs in its own venv (``make peer-venv``) through ``bench/fer_peer.py --boxes``.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from devtools.crowds import crowd, matched, paste_face
from service.config import BUNDLED_DETECTORS, Settings
from service.detectors.factory import DNN_DETECTORS
from service.detectors.onnx import OnnxDetector
from service.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
PEER_PYTHON = ROOT / ".venv-fer" / "bin" / "python"
CLASS_PHOTO = ROOT / "tests" / "field_cases" / "class-photo-40-faces-1600x1000.jpg"
CLASS_FACE_SIDE = 64  # the class photo's faces are 59-68 px
CROWD_SIZE = (1920, 1280)
CROWD_SHARES = (0.015, 0.02, 0.03, 0.045, 0.06)  # face side / image long side
CROWD_FACES = 50
CROWD_SEEDS = (1, 2)
ROLL_SIDES = (60, 130)  # face sides (px) in a 640x480 scene
ROLLS = tuple(range(0, 360, 15))
ROLL_TOLERANCE = 20.0  # degrees: a roll reading within this counts as measured right
NATIVE_SIDES = tuple(range(16, 50, 2))
NATIVE_PLACEMENTS = 16
NATIVE_NEEDED = 14  # of NATIVE_PLACEMENTS: "found reliably"

Faces = list[tuple[int, int, int]]  # true face boxes (x, y, side)
Box = tuple[int, int, int, int]


@dataclass
class Case:
    """One image: its PNG bytes, true faces and, for roll cases, the face's true roll."""

    name: str
    data: bytes
    faces: Faces
    group: str
    roll: float | None = None


@dataclass
class Answer:
    """What one system said about one image."""

    boxes: list[Box]
    ms: float
    rolls: list[float | None] = field(default_factory=list)


def _png(frame: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", frame)
    assert ok
    return buf.tobytes()


def cases() -> list[Case]:
    """Crowds at every face share and seed, one face at every roll and size, the class photo."""
    found = []
    width, height = CROWD_SIZE
    for share in CROWD_SHARES:
        side = round(share * max(width, height))
        for seed in CROWD_SEEDS:
            frame, faces = crowd(width, height, side, CROWD_FACES, seed)
            found.append(Case(f"crowd-{side:03d}px-{seed}", _png(frame), faces, f"{side}"))
    for side in ROLL_SIDES:
        for degrees in ROLLS:
            frame, _ = crowd(640, 480, side, 0, seed=degrees)  # the photo, no faces
            x, y = 320 - side // 2, 240 - side // 2
            paste_face(frame, x, y, side, degrees=float(degrees))  # counter-clockwise
            roll = float((-degrees + 180) % 360 - 180)
            found.append(Case(f"roll-{side:03d}px-{degrees:03d}", _png(frame), [(x, y, side)],
                              f"roll {degrees}", roll))  # fmt: skip
    truth = json.loads(CLASS_PHOTO.with_name("class-photo-40-faces.json").read_text())
    side = CLASS_FACE_SIDE
    faces = [(round(cx - side / 2), round(cy - side / 2), side) for cx, cy in truth["face_centers"]]
    found.append(Case("class-photo", CLASS_PHOTO.read_bytes(), faces, "class photo"))
    return found


def ours(engine: Engine, items: list[Case]) -> dict[str, Answer]:
    """The engine on every case (one warm-up call first)."""
    limits = engine.limits(max_faces=100)
    engine.analyze(items[0].data, limits)
    answers = {}
    for case in items:
        start = time.perf_counter()
        faces = engine.analyze(case.data, limits).faces
        ms = 1000 * (time.perf_counter() - start)
        boxes = [(f.detection.x, f.detection.y, f.detection.w, f.detection.h) for f in faces]
        answers[case.name] = Answer(boxes, ms, [f.detection.roll_degrees for f in faces])
    return answers


def fer(items: list[Case]) -> tuple[str, dict[str, Answer]] | None:
    """`fer` on every case in its own venv, or None (with a printed note) without it."""
    if not PEER_PYTHON.exists():
        print(f"(no fer: {PEER_PYTHON} is missing; `make peer-venv` builds it)\n")
        return None
    with tempfile.TemporaryDirectory() as folder:
        for case in items:
            suffix = ".jpg" if case.data[:2] == b"\xff\xd8" else ".png"
            (Path(folder) / f"{case.name}{suffix}").write_bytes(case.data)
        done = subprocess.run([str(PEER_PYTHON), str(ROOT / "bench" / "fer_peer.py"), "--boxes",
                               folder], capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        print(f"(fer failed: {done.stderr.strip().splitlines()[-1:]})\n")
        return None
    result = json.loads(done.stdout.strip().splitlines()[-1])
    answers = {Path(name).stem: Answer([tuple(b) for b in a["boxes"]], a["ms"])
               for name, a in result["images"].items()}  # fmt: skip
    return result["peer"], answers


def _roll_right(answer: Answer, case: Case) -> bool:
    if case.roll is None or len(answer.rolls) != 1 or answer.rolls[0] is None:
        return False
    return abs((answer.rolls[0] - case.roll + 180) % 360 - 180) < ROLL_TOLERANCE


def _tally(items: list[Case], answers: dict[str, Answer]) -> tuple[int, int, int, float]:
    found = false = total = 0
    for case in items:
        hit, miss = matched(answers[case.name].boxes, case.faces)
        found, false, total = found + hit, false + miss, total + len(case.faces)
    return found, false, total, statistics.median(answers[c.name].ms for c in items)


def report() -> dict[str, object]:
    """Build the cases, run every system on them, print the tables; the numbers as a dict."""
    items = cases()
    systems: dict[str, dict[str, Answer]] = {
        "this service": ours(Engine.from_settings(Settings()), items),
        "detect-at-384": ours(
            Engine.from_settings(Settings(detector_work_pixels=0, rotation_search=False)), items
        ),
    }
    peer = fer(items)
    if peer is not None:
        systems[peer[0]] = peer[1]
    names = list(systems)
    crowds = [c for c in items if c.name.startswith("crowd")]
    width, height = CROWD_SIZE
    print(f"Crowds: {len(CROWD_SEEDS)} scenes of {width}x{height} per face size, up to "
          f"{CROWD_FACES} faces each (side +-10%, turned +-10 deg), found / faces, boxes on "
          f"no face, median ms per image (decode + detect + classify)\n")  # fmt: skip
    heads = " | ".join(f"{n}: found | false | ms" for n in names)
    print(f"| face side (share of long side) | faces | {heads} |")
    print("|---|---|" + "---|---|---|" * len(names))
    out: dict[str, object] = {"systems": names}
    for group in dict.fromkeys(c.group for c in crowds):
        subset = [c for c in crowds if c.group == group]
        cells, total = [], 0
        for n in names:
            found, false, total, ms = _tally(subset, systems[n])
            cells.append(f"{found / total:.0%} | {false} | {ms:.0f}")
            out[f"crowd {group} px {n}"] = {"found": found, "false": false, "ms": ms}
        share = int(group) / max(width, height)
        print(f"| {group} px ({share:.1%}) | {total} | " + " | ".join(cells) + " |")

    photo = [c for c in items if c.name == "class-photo"]
    print("\nClass photo (1600x1000, 40 faces of 59-68 px), same run:\n")
    print("| system | found | boxes on no face | ms |")
    print("|---|---|---|---|")
    for n in names:
        found, false, total, ms = _tally(photo, systems[n])
        print(f"| {n} | {found} / {total} | {false} | {ms:.0f} |")
        out[f"class photo {n}"] = {"found": found, "false": false, "ms": ms}

    rolls = [c for c in items if c.roll is not None]
    print(f"\nOne face turned in a 640x480 photo scene, {' and '.join(map(str, ROLL_SIDES))} px: "
          f"found (of {len(ROLL_SIDES)}), roll measured within {ROLL_TOLERANCE:.0f} deg "
          f"(this service), boxes on no face\n")  # fmt: skip
    print(f"| turned (deg, ccw) | {' | '.join(f'{n}: found | false' for n in names)} "
          "| this service: roll right |")  # fmt: skip
    print("|---|" + "---|---|" * len(names) + "---|")
    recall: dict[str, list[float]] = {n: [] for n in names}
    for degrees in ROLLS:
        subset = [c for c in rolls if c.group == f"roll {degrees}"]
        cells = []
        for n in names:
            found, false, total, _ = _tally(subset, systems[n])
            recall[n].append(found / total)
            cells.append(f"{found} | {false}")
        right = sum(_roll_right(systems["this service"][c.name], c) for c in subset)
        print(f"| {degrees} | " + " | ".join(cells) + f" | {right} |")
    ratios = []
    for n in names:
        upright = recall[n][0]
        ratio = statistics.mean(recall[n]) / upright if upright else 0.0
        ms = statistics.median(systems[n][c.name].ms for c in rolls)
        ratios.append(f"{n}: {statistics.mean(recall[n]):.0%} ({ratio:.0%} of upright), "
                      f"median {ms:.1f} ms")  # fmt: skip
        out[f"rolls {n}"] = {"recall": statistics.mean(recall[n]), "of_upright": ratio, "ms": ms}
    right = sum(_roll_right(systems["this service"][c.name], c) for c in rolls)
    print(f"\nrecall over 0-345 deg: {'; '.join(ratios)}; this service's roll right on "
          f"{right} of {len(rolls)}")  # fmt: skip
    return out


def native_sizes() -> dict[str, int | None]:
    """Per DNN detector, the smallest face side (input pixels, the image seen at 1:1) found in
    at least NATIVE_NEEDED of NATIVE_PLACEMENTS placements on a real photo; prints a table."""
    frames = []
    rng = np.random.default_rng(5)
    for i in range(NATIVE_PLACEMENTS):
        background, _ = crowd(384, 288, 40, 0, seed=100 + i)
        frames.append((background, int(rng.integers(60, 300)), int(rng.integers(50, 220))))
    results: dict[str, int | None] = {}
    rows: dict[str, list[int]] = {}
    cited: dict[str, int] = {}
    for name, kind in DNN_DETECTORS.items():
        detector: OnnxDetector = kind(BUNDLED_DETECTORS[name], min_score=0.6, input_side=384,
                                      work_pixels=0)  # fmt: skip
        cited[name] = detector.native_face
        counts = []
        for side in NATIVE_SIDES:
            hits = 0
            for background, x, y in frames:
                frame = background.copy()
                paste_face(frame, x, y, side)
                found = detector.detect(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), 8, 5)
                hits += matched([(d.x, d.y, d.w, d.h) for d in found], [(x, y, side)])[0]
            counts.append(hits)
        rows[name] = counts
        results[name] = next((s for s, c in zip(NATIVE_SIDES, counts, strict=True)
                              if c >= NATIVE_NEEDED), None)  # fmt: skip
    print(f"Faces found of {NATIVE_PLACEMENTS} placements on a 384x288 photo seen at 1:1, by face "
          "side (eyebrows to chin, px)\n")  # fmt: skip
    print("| detector | " + " | ".join(str(s) for s in NATIVE_SIDES) + " | smallest reliable |")
    print("|---|" + "---|" * (len(NATIVE_SIDES) + 1))
    for name, counts in rows.items():
        print(f"| {name} | " + " | ".join(map(str, counts)) + f" | {results[name]} |")
    print(f"\n(native_face cited in service/detectors: {cited})")
    return results
