"""Full-resolution layers and segment counts for big photos, computed off the GUI thread.

On a 24 MP photo, thresholding, colouring and counting connected components at full size
takes a few hundred ms. Done here in a one-thread pool with numpy and cv2 only (both release
the GIL), the GUI thread just wraps the finished BGRA buffers as pixmaps without copying.
Each request carries a generation number; a result for an outdated threshold or image is
dropped, so a fast slider never shows stale layers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from . import layers
from .worker import register_pool


@dataclass
class FullResJob:
    generation: int
    probability: np.ndarray  # uint16 full size
    threshold: float
    luts: dict[str, np.ndarray]  # layer name -> bgra_lut
    count_segments: bool = True


@dataclass
class FullResOutput:
    generation: int
    threshold: float
    mask: np.ndarray
    bgra: dict[str, np.ndarray] = field(default_factory=dict)
    segments: int | None = None


def render(job: FullResJob) -> FullResOutput:
    """The work itself (plain function: easy to test and to time)."""
    mask = layers.crack_mask(job.probability, job.threshold)
    out = FullResOutput(job.generation, job.threshold, mask)
    for name, lut in job.luts.items():
        indices = layers.layer_indices(name, job.probability, mask)
        out.bgra[name] = layers.indexed_to_bgra(indices, lut)
    if job.count_segments:
        out.segments = layers.count_segments(mask)
    return out


class _Signals(QObject):
    done = Signal(object)  # FullResOutput
    failed = Signal(int, str)


class _Task(QRunnable):
    def __init__(self, job: FullResJob, signals: _Signals) -> None:
        super().__init__()
        self.job, self.signals = job, signals

    def run(self) -> None:
        try:
            self.signals.done.emit(render(self.job))
        except Exception as exc:  # e.g. out of memory on a huge photo: keep the preview
            self.signals.failed.emit(self.job.generation, f"{type(exc).__name__}: {exc}")


class FullResRenderer(QObject):
    """Runs FullResJobs one at a time; only the newest queued job is kept."""

    done = Signal(object)
    failed = Signal(int, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = register_pool(QThreadPool(self))
        self.pool.setMaxThreadCount(1)
        self._signals = _Signals()
        self._signals.done.connect(self.done)
        self._signals.failed.connect(self.failed)
        self._closed = False

    def submit(self, job: FullResJob) -> None:
        if self._closed:
            return
        self.pool.clear()  # a queued, not yet started job is outdated by this one
        self.pool.start(_Task(job, self._signals))

    def shutdown(self) -> None:
        self._closed = True
        self.pool.clear()
        self.pool.waitForDone()
