"""The webcam page in real headless Chromium: a fake camera plays real face photos."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from devtools.photos import sample_photo
from tests.helpers.paths import ROOT

CHROMIUM = Path("/usr/bin/chromium")
OUTPUT = ROOT / "test-output" / "browser"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (make test installs it)"
)


def write_y4m(path: Path, frames: list[np.ndarray], fps: int = 10) -> None:
    """A YUV 4:2:0 y4m video (what Chromium's fake camera plays) from BGR frames."""
    height, width = frames[0].shape[:2]
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())


def face_frames(count: int = 20) -> list[np.ndarray]:
    """640x480 frames of the astronaut on a plain background, jittering a few pixels."""
    photo = cv2.resize(sample_photo("astronaut"), (360, 360))
    frames = []
    for i in range(count):
        frame = np.full((480, 640, 3), 60, np.uint8)
        x = 140 + (i % 3) * 2
        frame[60:420, x : x + 360] = photo
        frames.append(frame)
    return frames


BASE_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    video = tmp_path_factory.mktemp("camera") / "faces.y4m"
    write_y4m(video, face_frames())
    args = [
        *BASE_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]  # fmt: skip
    instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
    yield instance
    instance.close()


def test_live_camera_frames_get_boxes_and_emotions(live_server: str, browser: Browser) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1000, "height": 1400})
    results: list[str | bytes] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: results.append(payload)))
    page.goto(live_server + "/")
    page.wait_for_selector("text=against FER+ majority")  # the default is a FER+ model
    page.get_by_role("button", name="Start camera").click()
    page.wait_for_function(
        "document.getElementById('stat-faces').textContent === '1'", timeout=30_000
    )
    count_then = len(results)
    page.wait_for_timeout(1500)
    assert len(results) > count_then, "results stopped arriving"
    drawn = page.evaluate(
        """() => { const c = document.getElementById('overlay');
                   const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                   let n = 0;
                   for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
                   return n; }"""
    )
    assert drawn > 500, "no box or label drawn over the video"
    bars = page.locator("#bars .value").all_inner_texts()
    assert len(bars) == 7 and all(b.endswith("%") for b in bars)
    messages = [json.loads(r) for r in results if isinstance(r, str)]
    tracked = [f for m in messages if m["type"] == "result" for f in m["faces"]]
    assert tracked and {f["track_id"] for f in tracked} == {1}  # one face, one track
    assert all(set(f["raw_scores"]) == set(f["scores"]) for f in tracked)
    page.get_by_label("raw per-frame scores (unsmoothed)").check()
    page.wait_for_timeout(500)
    assert all(b.endswith("%") for b in page.locator("#bars .value").all_inner_texts())
    assert page.locator("#live-status").inner_text() == "Streaming."
    assert float(page.locator("#stat-fps").inner_text()) > 0
    page.screenshot(path=str(OUTPUT / "live.png"), full_page=True)
    page.close()


def test_dropped_and_picked_images_get_their_faces_drawn(
    live_server: str, browser: Browser
) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1000, "height": 1400})
    page.goto(live_server + "/")
    ok, jpeg = cv2.imencode(".jpg", sample_photo("astronaut"))
    assert ok
    data = base64.b64encode(jpeg.tobytes()).decode()
    transfer = page.evaluate_handle(
        """(b64) => { const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
                      const dt = new DataTransfer();
                      dt.items.add(new File([bytes], 'astronaut.jpg', {type: 'image/jpeg'}));
                      return dt; }""",
        data,
    )
    page.dispatch_event("#drop-zone", "drop", {"dataTransfer": transfer})
    page.wait_for_function("document.getElementById('photo').dataset.faces === '1'", timeout=20_000)
    assert page.locator("#photo-status").inner_text().startswith("1 face(s):")
    page.screenshot(path=str(OUTPUT / "dropped.png"), full_page=True)

    text_file = OUTPUT / "not-an-image.jpg"
    text_file.write_text("plain text")
    page.set_input_files("#file-input", str(text_file))
    page.wait_for_selector("#photo-status.error")
    assert "refused" in page.locator("#photo-status").inner_text()
    page.close()


def test_a_denied_camera_is_explained(live_server: str, playwright: Playwright) -> None:
    # No fake-UI flag: the permission prompt is dismissed, so getUserMedia is refused.
    instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=BASE_ARGS)
    page = instance.new_page()
    page.goto(live_server + "/")
    page.get_by_role("button", name="Start camera").click()
    page.wait_for_selector("#live-status.error", timeout=15_000)
    message = page.locator("#live-status").inner_text()
    assert "denied" in message or "No camera" in message
    page.screenshot(path=str(OUTPUT / "denied.png"))
    instance.close()
