"""What one analysis produced, and the status of each image in the open folder.

Qt-free data shared by the worker thread (which creates results) and the GUI (which shows
them). The probability map is kept as uint16 (half the memory of float32, exact enough for a
0.0001-step threshold); a 65536-bin histogram computed in the worker makes "crack % at any
threshold" a constant-time lookup, so badges and panels follow the threshold slider for free.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from crackinspector.core.cache import threshold_u16
from crackinspector.core.models import ModelInfo


class Status(enum.Enum):
    NEW = "not analysed"
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "analysed"
    FAILED = "failed"


def counts_at_or_above(probability_u16: np.ndarray) -> np.ndarray:
    """counts[t] = number of pixels with value >= t, for t in 0..65536 (float64).

    cv2.calcHist releases the GIL (np.bincount does not), which matters in the worker thread.
    """
    hist = cv2.calcHist([probability_u16], [0], None, [65536], [0, 65536]).ravel()
    counts = np.zeros(65537, dtype=np.float64)
    counts[:65536] = np.cumsum(hist[::-1].astype(np.float64))[::-1]
    return counts


@dataclass(eq=False)
class AnalysisResult:
    """A probability map for one image from one model, with where it came from."""

    path: Path
    model: ModelInfo
    probability: np.ndarray  # uint16 (H, W)
    seconds: float  # inference time when it was computed
    source: str  # "inference", "disk cache" or "memory"
    counts: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        if self.counts.size == 0:
            self.counts = counts_at_or_above(self.probability)

    @property
    def shape(self) -> tuple[int, int]:
        return self.probability.shape[:2]  # type: ignore[return-value]

    @property
    def nbytes(self) -> int:
        return int(self.probability.nbytes + self.counts.nbytes)

    def crack_fraction(self, threshold: float) -> float:
        """Fraction of the image area at or above `threshold` (same rule as the mask layer)."""
        t = max(threshold_u16(threshold), 1)
        return float(self.counts[t]) / float(self.probability.size or 1)


@dataclass
class ImageEntry:
    """One image of the open folder as the thumbnail list shows it."""

    path: Path
    status: Status = Status.NEW
    crack_fraction: float | None = None
    error: str = ""
    progress: float = 0.0  # 0..1 while running
