"""Frames with their person boxes, found in a thread ahead of the frame's other steps."""

from __future__ import annotations

import collections
import queue
import threading
import time
from collections.abc import Generator, Iterator

import numpy as np

from .io.video import Frame
from .threads import thread_budget
from .vision.detection import PersonDetector
from .vision.detections import Detections

__all__ = ["BoxesAhead"]


class BoxesAhead:
    """``(frame, boxes)`` of ``frames``, found by ``detector``; seconds spent decoding and
    detecting are added to ``spent["decode"]`` and ``spent["detect"]``.

    Frames with their person boxes, decoded and detected in a thread of their own while
    the caller describes and tracks the frames before (OpenVINO and the decoder release the
    GIL, so the two share the cores). Two frames are in the box network at once, each on
    one thread (:meth:`PersonDetector.find_boxes_many`: on pedestrian_survaillance.mp4
    without landmarks and faces 11.9-12.0 s against 12.8-14.8 s with one frame on both
    threads, and the boxes a Dask segment task's one-thread network finds). At most
    :attr:`AHEAD` frames wait, so memory stays flat. Errors of the thread are raised in the
    caller; leaving early stops the thread. Under a thread budget of one (a Dask segment
    task: :mod:`persontrack.threads`) there is no thread: each frame is detected when the
    caller asks for it."""

    AHEAD = 2
    STREAMS = 2
    """Frames in the box network at once (:meth:`PersonDetector.find_boxes_many`)."""

    def __init__(
        self, frames: Iterator[Frame], detector: PersonDetector, spent: dict[str, float]
    ) -> None:
        self._frames, self._detector, self._spent = frames, detector, spent
        self._threaded = (thread_budget() or 2) > 1
        self._queue: queue.Queue[tuple[Frame, Detections] | BaseException | None] = queue.Queue(
            self.AHEAD
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="persontrack-boxes", daemon=True)

    def _found(self) -> Generator[tuple[Frame, Detections], None, None]:
        """Each frame with its boxes, in order (the frame's decoding and detection timed;
        what the consumer does between frames is not)."""
        spent = self._spent
        read: collections.deque[Frame] = collections.deque()
        decoding = [0.0]  # seconds spent decoding since the last frame's boxes

        def images() -> Iterator[np.ndarray]:
            frames = iter(self._frames)
            while True:
                clock = time.perf_counter()
                frame = next(frames, None)
                took = time.perf_counter() - clock
                spent["decode"] += took
                decoding[0] += took
                if frame is None:
                    return
                read.append(frame)
                yield frame.image

        streams = self.STREAMS if self._threaded else 1
        found = self._detector.find_boxes_many(images(), streams=streams)
        try:
            clock = time.perf_counter()
            for boxes in found:
                spent["detect"] += time.perf_counter() - clock - decoding[0]
                decoding[0] = 0.0
                yield read.popleft(), boxes
                clock = time.perf_counter()
        finally:
            found.close()

    def _run(self) -> None:
        found = self._found()
        try:
            for item in found:
                while not self._stop.is_set():
                    try:
                        self._queue.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if self._stop.is_set():
                    return
            self._put_final(None)
        except BaseException as e:  # handed to the caller
            self._put_final(e)
        finally:
            found.close()

    def _put_final(self, item: BaseException | None) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __enter__(self) -> BoxesAhead:
        if self._threaded:
            self._thread.start()
        return self

    def __iter__(self) -> Iterator[tuple[Frame, Detections]]:
        if not self._threaded:
            yield from self._found()
            return
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._threaded:
            self._thread.join()
