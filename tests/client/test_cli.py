"""``fer-client`` as a user runs it (the installed console script, a real service): the CSV
rows are the service's answers, the annotated video has every frame, the plot is a PNG, and
errors are one line with a non-zero status."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from devtools.media import FPS, HEIGHT, WIDTH, decode_all
from fer_client import Client
from fer_client.images import encode_array
from tests.helpers.client_service import API_KEY, CLIP_FRAMES, needs_service_package
from training.labels import EMOTIONS

FER_CLIENT = Path(sys.executable).with_name("fer-client")
LABELS = EMOTIONS


def fer_client(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    done = subprocess.run(
        [str(FER_CLIENT), *args], capture_output=True, text=True, timeout=120, env=env
    )
    if check:
        assert done.returncode == 0, done.stderr
    return done


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as stream:
        return list(csv.DictReader(stream))


def assert_row_is_the_answer(row: dict[str, str], face: object) -> None:
    from fer_client.results import Face

    assert isinstance(face, Face)
    b = face.box
    assert [int(row[k]) for k in "xywh"] == [b.x, b.y, b.w, b.h]
    assert row["truncated"] == str(int(b.truncated)) and row["emotion"] == face.emotion
    scores = {k: float(row[f"raw_{k}"] or row[k]) for k in LABELS}  # raw: a smoothing stream
    assert scores == pytest.approx(face.raw_scores or face.scores, abs=1e-6)


def test_video_csv_annotated_video_and_plot(
    service_url: str, client: Client, clip: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.csv"
    annotated, plot = tmp_path / "annotated.mp4", tmp_path / "plot.png"
    # Detector on every frame, so each stream box is exactly what REST answers for the frame.
    done = fer_client(
        "video", str(clip), "--csv", str(out), "--annotate", str(annotated),
        "--plot", str(plot), "--url", service_url, "--api-key", API_KEY,
        "--stream-option", "detect_every_ms=0",
    )  # fmt: skip
    assert f"{CLIP_FRAMES} frames analysed" in done.stderr and "frame/s" in done.stderr

    rows = read_csv(out)
    source = decode_all(clip)
    assert sorted({int(r["frame"]) for r in rows}) == list(range(len(source)))
    by_frame: dict[int, list[dict[str, str]]] = {}
    for row in rows:
        by_frame.setdefault(int(row["frame"]), []).append(row)
    for index, frame_rows in by_frame.items():
        assert float(frame_rows[0]["time_s"]) == pytest.approx(index / FPS, abs=1e-3)
        answer = client.predict(encode_array(source[index]))  # the bytes the stream carried
        if not answer.faces:
            assert [r["status"] for r in frame_rows] == ["no_face"]
            continue
        assert [r["status"] for r in frame_rows] == ["ok"] * len(answer.faces)
        for row, face in zip(frame_rows, answer.faces, strict=True):
            assert_row_is_the_answer(row, face)
            assert int(row["track_id"]) >= 1  # streams track faces; REST does not
        assert len({r["track_id"] for r in frame_rows}) == len(frame_rows)
    faces = [len(by_frame[i]) for i in range(len(source))]
    assert faces[0] == 2 and faces[-1] == 1, "one face leaves the frame"

    written = decode_all(annotated)
    assert len(written) == len(source) and written[0].shape == (HEIGHT, WIDTH, 3)
    row = by_frame[0][0]
    x, y = int(row["x"]), int(row["y"])
    edge = (slice(y + 2, y + 20), slice(x - 1, x + 2))  # the box's left side
    assert np.abs(written[0][edge].astype(int) - source[0][edge].astype(int)).mean() > 40
    far = (slice(400, 470), slice(500, 630))  # no box there
    assert np.abs(written[0][far].astype(int) - source[0][far].astype(int)).mean() < 8

    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = cv2.imread(str(plot))
    assert image is not None and image.shape[0] > 300 and image.shape[1] > 600


@needs_service_package
def test_video_every_nth_frame_locally_matches_the_service(
    service_url: str, clip: Path, tmp_path: Path
) -> None:
    remote, local, annotated = tmp_path / "remote.csv", tmp_path / "local.csv", tmp_path / "a.mp4"
    common = ["--every", "4", "-q"]
    fer_client("video", str(clip), "--csv", str(remote), "--url", service_url,
               "--api-key", API_KEY, "--annotate", str(annotated),
               "--stream-option", "detect_every_ms=0", *common)  # fmt: skip
    fer_client("video", str(clip), "--csv", str(local), "--local",
               "--stream-option", "detect_every_ms=0", *common)  # fmt: skip
    remote_rows, local_rows = read_csv(remote), read_csv(local)
    assert sorted({int(r["frame"]) for r in remote_rows}) == list(range(0, CLIP_FRAMES, 4))
    assert len(decode_all(annotated)) == CLIP_FRAMES  # every frame, analysed or not
    assert len(remote_rows) == len(local_rows)
    for a, b in zip(remote_rows, local_rows, strict=True):
        assert {k: a[k] for k in ("frame", "status", "x", "y", "w", "h")} == {
            k: b[k] for k in ("frame", "status", "x", "y", "w", "h")
        }
        if a["status"] == "ok":  # both track faces; frame times (so smoothing) differ
            assert a["track_id"] == b["track_id"]
            assert float(a["raw_happy"]) == pytest.approx(float(b["raw_happy"]), abs=1e-5)


def test_dropped_frames_are_marked_or_sent_again(
    service_url: str, clip: Path, tmp_path: Path
) -> None:
    pushed, every = tmp_path / "pushed.csv", tmp_path / "every.csv"
    key = ["--url", service_url, "--api-key", API_KEY, "-q", "--in-flight", "6"]
    fer_client("video", str(clip), "--csv", str(pushed), *key)
    fer_client("video", str(clip), "--csv", str(every), "--all-frames", *key)
    pushed_rows, every_rows = read_csv(pushed), read_csv(every)
    for rows in (pushed_rows, every_rows):
        assert sorted({int(r["frame"]) for r in rows}) == list(range(CLIP_FRAMES))
    dropped = [r for r in pushed_rows if r["status"] == "dropped"]
    assert dropped and all(r["emotion"] == "" for r in dropped)
    assert {r["status"] for r in every_rows} == {"ok"}


def test_image_folders_recurse_to_csv_and_json(
    service_url: str, photo_folder: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    root, expected = photo_folder
    table, lines = tmp_path / "faces.csv", tmp_path / "faces.jsonl"
    done = fer_client(
        "image", str(root), "--csv", str(table), "--json", str(lines),
        "--url", service_url, "--api-key", API_KEY, check=False,
    )  # fmt: skip
    assert done.returncode == 1, "one image is broken"
    assert "broken.jpg" in done.stderr and "undecodable_image" in done.stderr
    rows = read_csv(table)
    seen: dict[str, int] = {}
    for row in rows:
        name = Path(row["path"]).relative_to(root).as_posix()
        seen[name] = seen.get(name, 0) + (row["status"] == "ok")
        if row["status"] == "failed":
            seen[name] = -1
    assert seen == expected  # notes.txt is not an image and is skipped
    records = [json.loads(line) for line in lines.read_text().splitlines()]
    assert [Path(r["path"]).relative_to(root).as_posix() for r in records] == sorted(expected)
    for record in records:
        name = Path(record["path"]).relative_to(root).as_posix()
        count = len(record["faces"]) if "faces" in record else -1
        assert count == expected[name]
    (one,) = [r for r in records if r["path"].endswith("astronaut.jpg")]
    assert one["faces"][0]["emotion"] == "happy" and one["image"]["width"] == 512


def test_webcam_without_a_display_writes_csv(service_url: str, clip: Path) -> None:
    done = fer_client(
        "webcam", "--device", str(clip), "--frames", "6", "--csv", "-",
        "--url", service_url, "--api-key", API_KEY, "-q",
    )  # fmt: skip
    rows = list(csv.DictReader(done.stdout.splitlines()))
    assert len({r["frame"] for r in rows}) == 6
    assert {r["status"] for r in rows} <= {"ok", "no_face"} and rows[0]["emotion"] == "happy"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["image", "{photo}", "--url", "http://127.0.0.1:9"], "cannot reach the service"),
        (["image", "{photo}", "--url", "{url}"], "API key"),
        (["image", "/no/such/folder", "--url", "{url}"], "no such file or folder"),
        (["video", "/no/such.mp4", "--csv", "{tmp}/x.csv", "--url", "{url}"], "cannot open"),
        (["video", "{clip}", "--csv", "/no/such/dir/x.csv", "--url", "{url}",
          "--api-key", API_KEY], "/no/such/dir/x.csv"),
    ],
)  # fmt: skip
def test_errors_are_one_line_with_a_non_zero_status(
    service_url: str,
    clip: Path,
    photo_folder: tuple[Path, dict[str, int]],
    tmp_path: Path,
    args: list[str],
    message: str,
) -> None:
    values = {"photo": str(photo_folder[0] / "astronaut.jpg"), "url": service_url,
              "tmp": str(tmp_path), "clip": str(clip)}  # fmt: skip
    done = fer_client(*(a.format(**values) for a in args), "-q", check=False)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fer-client: error: "), done.stderr
    assert message in lines[0]
