"""``fer-client video`` throughput and memory, side by side: plain, ``--annotate``, and both
again with ``--local`` (no server).

Writes a 640x480, 30 fps clip from real photos (the test clip: faces that move, one that
leaves), starts the service on the bundled models, runs the installed ``fer-client`` on it
once per mode, and prints processed frames/s (the command's own count, decoding to CSV row),
dropped frames and the client's resident memory, sampled every 0.1 s: after the first fifth of
the clip and at its peak (a client that held frames would grow with the clip's length).

    python -m bench.client_video [--seconds 30] [--url http://...]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.service_bench import rss_mb
from devtools.media import FPS, write_clip
from devtools.server import start_service

FER_CLIENT = Path(sys.executable).with_name("fer-client")
MODES = {
    "plain": [],
    "annotate": ["--annotate", "{out}/annotated.mp4"],
    "local": ["--local"],
    "local+annotate": ["--local", "--annotate", "{out}/annotated.mp4"],
}
SUMMARY = re.compile(r"(\d+) frames analysed in ([\d.]+) s \(([\d.]+)/s\).* (\d+) dropped")


def run_mode(url: str, clip: Path, out: Path, extra: list[str], frames: int) -> dict[str, float]:
    """One ``fer-client video`` run: its fps and drops, and its RSS over time."""
    args = [a.format(out=out) for a in extra]
    command = [str(FER_CLIENT), "video", str(clip), "--csv", str(out / "rows.csv"), "--url", url]
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*command, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    samples: list[tuple[float, float]] = []
    while proc.poll() is None:
        try:
            samples.append((time.perf_counter() - started, rss_mb(proc.pid)))
        except (OSError, AssertionError):
            pass
        time.sleep(0.1)
    wall = time.perf_counter() - started
    stderr = proc.stderr.read() if proc.stderr else ""
    match = SUMMARY.search(stderr)
    if proc.returncode != 0 or match is None:
        raise RuntimeError(f"fer-client failed ({proc.returncode}): {stderr[-500:]}")
    seconds, fps = float(match.group(2)), float(match.group(3))
    # The analysis runs for the last `seconds` of the wall time (start-up and model load first).
    first_fifth = wall - seconds + seconds / 5
    early = [rss for t, rss in samples if t <= first_fifth]
    return {
        "frames": float(match.group(1)),
        "fps": fps,
        "dropped": float(match.group(4)),
        "wall_s": wall,
        "rss_early_mb": early[-1] if early else float("nan"),
        "rss_peak_mb": max(rss for _, rss in samples),
    }


def main() -> None:
    """Run every mode and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="clip length")
    parser.add_argument("--url", help="a running service (default: start one)")
    parser.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES))
    args = parser.parse_args()
    frames = int(args.seconds * FPS)
    server = None
    url = args.url
    if url is None:
        log = Path("test-output/bench-server.log")
        log.parent.mkdir(parents=True, exist_ok=True)
        server, url = start_service("--log-level", "warning", log=log)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            clip = write_clip(out / "clip.mp4", frames)
            print(f"fer-client video on a 640x480 {FPS:g} fps clip of {frames} frames\n")
            print("| mode | frames | processed frames/s | dropped | wall s | client RSS MB, "
                  "first fifth -> peak |")  # fmt: skip
            print("|---|---|---|---|---|---|")
            for mode in args.modes:
                r = run_mode(url, clip, out, MODES[mode], frames)
                flags = " ".join(a for a in MODES[mode] if a.startswith("--")) or "plain"
                print(
                    f"| {flags} | {r['frames']:.0f} | {r['fps']:.1f} | {r['dropped']:.0f} | "
                    f"{r['wall_s']:.1f} | {r['rss_early_mb']:.0f} -> {r['rss_peak_mb']:.0f} |",
                    flush=True,
                )
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
