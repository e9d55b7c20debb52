"""Probe a running service for real: POST a face photo, stream frames, check model info.

    python scripts/smoke_client.py http://127.0.0.1:8000 [--model-name NAME]

Exits non-zero, saying what was wrong, on the first failed check.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
import uuid
from typing import Any

import cv2
import numpy as np
from skimage import data
from websockets.sync.client import connect


def astronaut_jpeg() -> bytes:
    """A real face photo (scikit-image's astronaut) as JPEG."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    assert ok
    return buf.tobytes()


def post_image(base: str, image: bytes) -> dict[str, Any]:
    """POST multipart field ``file`` to /v1/predict; return the JSON body."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="face.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + image
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"{base}/v1/predict",
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def check(condition: bool, what: str) -> None:
    """Stop with a message when a check fails."""
    if not condition:
        sys.exit(f"SMOKE FAILED: {what}")
    print(f"ok: {what}")


def main() -> None:
    """Run every check against the given base URL."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("base")
    parser.add_argument("--model-name", help="expect /v1/model to report this name")
    args = parser.parse_args()
    base = args.base.rstrip("/")

    info = json.loads(urllib.request.urlopen(f"{base}/v1/model", timeout=10).read())
    check(len(info["labels"]) == 7, f"model {info['name']} {info['version']} has 7 labels")
    if args.model_name:
        check(info["name"] == args.model_name, f"the api serves model {args.model_name}")

    image = astronaut_jpeg()
    result = post_image(base, image)
    check(len(result["faces"]) == 1, "POST /v1/predict finds the one face in the astronaut photo")
    scores = result["faces"][0]["scores"]
    check(
        abs(sum(scores.values()) - 1) < 1e-3,
        f"its seven scores sum to 1 ({result['faces'][0]['emotion']})",
    )

    ws_base = base.replace("http://", "ws://").replace("https://", "wss://")
    with connect(f"{ws_base}/v1/stream", max_size=2**22) as ws:
        answers = []
        for seq in range(1, 6):
            ws.send(json.dumps({"seq": seq}))
            ws.send(image)
            answers.append(json.loads(ws.recv(timeout=30)))
    check([a["seq"] for a in answers] == [1, 2, 3, 4, 5], "the stream answers 5 frames in order")
    check(all(len(a["faces"]) == 1 for a in answers), "every streamed frame has its face")

    metrics = urllib.request.urlopen(f"{base}/metrics", timeout=10).read().decode()
    check(
        'fer_stream_frames_total{outcome="processed"}' in metrics, "/metrics counts stream frames"
    )
    blank = cv2.imencode(".png", np.zeros((64, 64), np.uint8))[1].tobytes()
    check(post_image(base, blank)["faces"] == [], "a blank image has no faces")


if __name__ == "__main__":
    main()
