"""What one analysis produced, and the status of each image in the open folder.

Qt-free data shared by the inference task (which creates results) and the GUI (which shows
them). The probability map is kept as uint16 (half the memory of float32, exact enough for a
0.0001-step threshold). The numbers shown for an image (crack count, area, widths) are not
here: they come from core.analysis.analyse.analyse, via gui/measurements.py.

Big photos also get a *preview*: the probability map max-pooled by an integer factor down to
about PREVIEW_PIXELS, also computed in the worker. The viewer draws layers from it while the
photo is zoomed out (a 24 MP mask re-thresholds in a few ms instead of ~100), and max-pooling
keeps one-pixel cracks visible in the overview.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from crackinspector.core.model.registry import ModelInfo

PREVIEW_PIXELS = 3_000_000  # previews are made for maps larger than this


class Status(enum.Enum):
    NEW = "not analysed"
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "analysed"
    FAILED = "failed"


def preview_factor(shape: tuple[int, ...], limit: int | None = None) -> int:
    """Integer downscale that brings an (H, W) map to at most `limit` pixels (1 = none)."""
    limit = PREVIEW_PIXELS if limit is None else limit
    pixels = int(shape[0]) * int(shape[1])
    return 1 if pixels <= limit else int(np.ceil(np.sqrt(pixels / limit)))


def max_pool(probability_u16: np.ndarray, factor: int) -> np.ndarray:
    """Each factor x factor block's maximum (cv2, so the GIL is released)."""
    if factor <= 1:
        return probability_u16
    kernel = np.ones((factor, factor), np.uint8)
    grown = cv2.dilate(probability_u16, kernel, anchor=(0, 0), borderType=cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(grown[::factor, ::factor])


@dataclass(eq=False)
class AnalysisResult:
    """A probability map for one image from one model, with where it came from."""

    path: Path
    model: ModelInfo
    probability: np.ndarray  # uint16 (H, W)
    seconds: float  # inference time when it was computed
    source: str  # "inference", "disk cache" or "memory"
    preview: np.ndarray | None = field(repr=False, default=None)  # max-pooled map, or None
    preview_factor: int = 1

    def __post_init__(self) -> None:
        if self.preview is None:
            self.preview_factor = preview_factor(self.probability.shape)
            if self.preview_factor > 1:
                self.preview = max_pool(self.probability, self.preview_factor)

    @property
    def shape(self) -> tuple[int, int]:
        h, w = self.probability.shape[:2]
        return int(h), int(w)

    @property
    def nbytes(self) -> int:
        extra = self.preview.nbytes if self.preview is not None else 0
        return int(self.probability.nbytes + extra)


@dataclass
class ImageEntry:
    """One image of the open folder as the thumbnail list shows it."""

    path: Path
    status: Status = Status.NEW
    error: str = ""
    progress: float = 0.0  # 0..1 while running
