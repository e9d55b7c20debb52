"""Crops and folders as a researcher brings them: ``Client.classify`` and its in-process twin
give the same answers, ``fer-client image --crops`` classifies a folder of crops (TIFF too), and
folders say what they skipped."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from devtools.photos import sample_photo
from fer_client import Client, LocalAnalyzer, ServiceError
from tests.client.test_cli import fer_client
from tests.helpers.client_service import API_KEY, needs_service_package
from tests.helpers.paths import EMOTION_FOLDERS, FER_DATA


def real_crops(folder: Path) -> list[Path]:
    """Faces from FER-2013 val (one per class) when ../shared is there, else the astronaut's
    face at a few sizes; and one TIFF of the first."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    if (FER_DATA / "val").is_dir():
        for emotion in EMOTION_FOLDERS:
            source = sorted((FER_DATA / "val" / emotion).iterdir())[0]
            paths.append(folder / f"{emotion}-{source.name}")
            paths[-1].write_bytes(source.read_bytes())
    else:
        face = cv2.cvtColor(sample_photo("astronaut")[60:200, 170:290], cv2.COLOR_BGR2GRAY)
        for side in (48, 64, 96):
            paths.append(folder / f"astronaut-{side}.png")
            cv2.imwrite(str(paths[-1]), cv2.resize(face, (side, side)))
    tiff = folder / "first-again.tif"
    first = cv2.imread(str(paths[0]), cv2.IMREAD_GRAYSCALE)
    assert first is not None
    cv2.imwrite(str(tiff), first)
    return [*paths, tiff]


def test_classify_answers_in_input_order_and_names_a_refused_crop(
    client: Client, tmp_path: Path
) -> None:
    crops = real_crops(tmp_path / "crops")
    remote = client.classify(crops)
    assert [c.filename for c in remote.crops] == [p.name for p in crops]
    assert [c.index for c in remote.crops] == list(range(len(crops)))
    assert remote.crops[-1].scores == pytest.approx(remote.crops[0].scores, abs=1e-5)  # TIFF
    with pytest.raises(ServiceError) as refused:
        client.classify([crops[0], b"GIF89a not a face", crops[1]])
    assert (refused.value.status, refused.value.index) == (415, 1)


@needs_service_package
def test_classify_over_http_and_in_process_agree(client: Client, tmp_path: Path) -> None:
    crops = real_crops(tmp_path / "crops")
    remote = client.classify(crops)
    local = LocalAnalyzer().classify([p.read_bytes() for p in crops])
    assert [c.filename for c in remote.crops] == [p.name for p in crops]
    assert [c.index for c in local.crops] == list(range(len(crops)))
    for r, here in zip(remote.crops, local.crops, strict=True):
        assert r.emotion == here.emotion and r.image == here.image
        assert r.scores == pytest.approx(here.scores, abs=1e-5)
    with pytest.raises(ServiceError) as here_refused:
        LocalAnalyzer().classify([crops[0], b"GIF89a not a face"])
    assert (here_refused.value.code, here_refused.value.index) == ("unsupported_media_type", 1)


def test_cli_crops_classifies_a_folder_and_resends_around_a_bad_file(
    service_url: str, client: Client, tmp_path: Path
) -> None:
    folder = tmp_path / "crops"
    crops = real_crops(folder)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    (folder / "labels.csv").write_text("file,label\n")
    out = tmp_path / "out.jsonl"
    done = fer_client(
        "image", "--crops", "--batch", "3", "-v", str(folder), "--json", str(out),
        "--url", service_url, "--api-key", API_KEY, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr  # the broken file failed
    assert f"{len(crops) + 1} images, 1 failed, 1 skipped" in done.stderr
    assert "skipped " + str(folder / "labels.csv") in done.stderr
    records = {Path(r["path"]).name: r for r in map(json.loads, out.read_text().splitlines())}
    assert records["broken.png"]["error"]["code"] == "undecodable_image"
    expected = client.classify(crops)
    for path, crop in zip(crops, expected.crops, strict=True):
        assert records[path.name]["emotion"] == crop.emotion
        assert records[path.name]["scores"] == pytest.approx(crop.scores, abs=1e-6)


def test_folder_of_tiff_photos_is_analysed(service_url: str, tmp_path: Path) -> None:
    photo = sample_photo("astronaut")
    cv2.imwrite(str(tmp_path / "subject01.tiff"), photo)
    cv2.imwrite(str(tmp_path / "subject02.TIF"), (photo.astype(np.uint16) * 257))
    done = fer_client("image", str(tmp_path), "--url", service_url, "--api-key", API_KEY)
    assert done.stdout.count(": 1 face: ") == 2, done.stdout
    assert "2 images, 0 failed" in done.stderr


def test_a_folder_with_nothing_to_analyse_exits_non_zero_naming_what_it_skipped(
    service_url: str, tmp_path: Path
) -> None:
    (tmp_path / "README").write_text("faces elsewhere\n")
    (tmp_path / "scan.pdf").write_bytes(b"%PDF-1.4\n")
    quiet = fer_client("image", str(tmp_path), "--url", service_url, check=False)
    assert quiet.returncode == 1
    assert "no image to analyse: 2 files skipped (-v names them)" in quiet.stderr
    verbose = fer_client("image", "-v", str(tmp_path), "--url", service_url, check=False)
    assert verbose.returncode == 1
    assert f"skipped {tmp_path / 'README'}: no suffix" in verbose.stderr
    assert f"skipped {tmp_path / 'scan.pdf'}: .pdf is not an image suffix" in verbose.stderr
