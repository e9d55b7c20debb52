"""Each face track's emotions over time, from a video CSV, as a PNG (matplotlib, imported
lazily: it is the ``plot`` extra)."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fer_client.errors import InputError

MAX_TRACKS = 6


def _tracks(csv_path: Path, labels: Sequence[str]) -> dict[str, list[tuple[float, list[float]]]]:
    """Face rows grouped by track id (or by face rank, ``face 1`` = largest, when the stream
    has no tracks): (time in seconds, scores in ``labels`` order) per row."""
    tracks: dict[str, list[tuple[float, list[float]]]] = defaultdict(list)
    with csv_path.open(newline="") as stream:
        for row in csv.DictReader(stream):
            if row["status"] != "ok":
                continue
            key = f"track {row['track_id']}" if row["track_id"] else f"face {int(row['face']) + 1}"
            tracks[key].append((float(row["time_s"]), [float(row[label]) for label in labels]))
    return tracks


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the file-only Agg backend; InputError when it is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise InputError(
            "--plot needs matplotlib: pip install 'fer-client[plot]' (or matplotlib)"
        ) from None
    return plt


def plot_emotions(csv_path: str | Path, png_path: str | Path, labels: Sequence[str]) -> int:
    """Write a PNG with one panel per track (the ``MAX_TRACKS`` longest), each emotion's
    probability against time; returns the number of panels.

    Raises InputError when matplotlib is missing.
    """
    plt = pyplot()
    tracks = _tracks(Path(csv_path), labels)
    longest = sorted(tracks, key=lambda k: -len(tracks[k]))[:MAX_TRACKS]
    panels = max(len(longest), 1)
    fig, axes = plt.subplots(panels, 1, figsize=(10, 2.6 * panels), sharex=True, squeeze=False)
    for ax, key in zip(axes[:, 0], longest, strict=False):
        times = [t for t, _ in tracks[key]]
        for i, label in enumerate(labels):
            ax.plot(times, [s[i] for _, s in tracks[key]], label=label, linewidth=1.2)
        ax.set_ylim(0, 1)
        ax.set_ylabel("probability")
        ax.set_title(f"{key} ({len(times)} frames)", loc="left", fontsize=10)
        ax.grid(alpha=0.3)
    if not longest:
        axes[0, 0].text(0.5, 0.5, "no face in any frame", ha="center", va="center")
    else:
        axes[0, 0].legend(ncol=len(labels), fontsize=8, loc="upper center",
                          bbox_to_anchor=(0.5, 1.45))  # fmt: skip
    axes[-1, 0].set_xlabel("time (s)")
    fig.tight_layout()
    fig.savefig(str(png_path), dpi=100)
    plt.close(fig)
    return len(longest)
