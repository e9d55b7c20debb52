"""``Client.stream`` against the real service: one result per frame in input order, frames the
server dropped are reported (or sent again with ``all_frames``), options reach the server,
closes become exceptions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from devtools.media import decode_all
from fer_client import Client, FrameResult, FrameStatus, StreamClosed


def collect(results: AsyncIterator[FrameResult]) -> list[FrameResult]:
    async def gather() -> list[FrameResult]:
        return [r async for r in results]

    return asyncio.run(gather())


@pytest.fixture(scope="module")
def frames(clip: Path) -> list[np.ndarray]:
    return decode_all(clip)[:20]


def test_one_frame_at_a_time_answers_every_frame_in_order(
    client: Client, frames: list[np.ndarray]
) -> None:
    results = collect(client.stream(frames, in_flight=1))
    assert [r.index for r in results] == list(range(len(frames)))
    assert all(r.status is FrameStatus.OK for r in results)
    assert [r.seq for r in results] == list(range(1, len(frames) + 1))
    assert len(results[0].faces) == 2 and results[-1].dropped == 0
    expected = client.predict(frames[0])
    # The first frame of a stream is detected afresh: REST's faces, plus track ids and the
    # frame's own scores (smoothing starts from them).
    first = [f.model_copy(update={"track_id": None, "raw_scores": None}) for f in results[0].faces]
    assert first == expected.faces
    assert [f.track_id for f in results[0].faces] == [1, 2]
    assert all(f.raw_scores == f.scores for f in results[0].faces)


def test_frames_the_server_dropped_are_reported_or_sent_again(
    client: Client, frames: list[np.ndarray]
) -> None:
    pushed = collect(client.stream(frames, in_flight=6))
    assert [r.index for r in pushed] == list(range(len(frames)))
    dropped = [r.index for r in pushed if r.status is FrameStatus.DROPPED]
    assert dropped, "six frames in flight must make the server drop some"
    last = pushed[-1]
    assert last.status is FrameStatus.OK and last.dropped == len(dropped)
    assert last.processed is not None and last.dropped is not None
    assert last.received == last.processed + last.dropped == len(frames)
    for r in pushed:
        assert (r.status is FrameStatus.DROPPED) == (r.seq is None and not r.faces)

    every = collect(client.stream(frames, in_flight=6, all_frames=True))
    assert [r.index for r in every] == list(range(len(frames)))
    assert all(r.status is FrameStatus.OK and len(r.faces) >= 1 for r in every)
    # The server did drop frames; the client sent each again until it was answered.
    final = max(every, key=lambda r: r.seq or 0)
    assert final.dropped is not None and final.dropped > 0
    assert final.processed == len(frames)
    assert final.received == len(frames) + final.dropped


def test_async_sources_bad_frames_and_options(client: Client, frames: list[np.ndarray]) -> None:
    async def source() -> AsyncIterator[object]:
        yield frames[0]
        yield b"GIF89a this is no frame"
        yield frames[1]

    # One frame in flight: a second frame sent before the first is taken up would replace it
    # (latest frame wins), which is the protocol, not what this test is about.
    stream = client.stream(source(), options={"max_faces": 1}, in_flight=1)  # type: ignore[arg-type]
    results = collect(stream)
    assert [r.status for r in results] == [FrameStatus.OK, FrameStatus.FAILED, FrameStatus.OK]
    assert results[1].error is not None and results[1].error.code == "unsupported_media_type"
    assert len(results[0].faces) == 1  # the option reached the server (the frame has two)


def test_a_stream_the_server_closes_raises_with_its_reason(
    client: Client, service_url: str, frames: list[np.ndarray]
) -> None:
    with pytest.raises(StreamClosed) as caught:
        collect(client.stream(frames[:2], options={"no_such_option": 1}))
    assert caught.value.code == 1003 and "no_such_option" in caught.value.reason
    with Client(service_url, "wrong key") as stranger, pytest.raises(StreamClosed) as caught:
        collect(stranger.stream(frames[:2]))
    assert caught.value.code == 1008 and "API key" in caught.value.reason


def test_stream_sync_gives_the_same_results_as_the_async_stream(
    client: Client, frames: list[np.ndarray]
) -> None:
    expected = collect(client.stream(frames[:6], in_flight=1))
    got = list(client.stream_sync(frames[:6], in_flight=1))
    assert [r.status for r in got] == [r.status for r in expected] == [FrameStatus.OK] * 6
    assert [[f.track_id for f in r.faces] for r in got] == [
        [f.track_id for f in r.faces] for r in expected
    ]
    first = next(iter(client.stream_sync(frames[:6], in_flight=1)))  # leaving early closes it
    assert first.index == 0 and first.status is FrameStatus.OK
