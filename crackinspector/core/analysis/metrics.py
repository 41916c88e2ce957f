"""Pixel metrics for the crack class, in the two protocols the literature reports.

- strict: a predicted crack pixel is correct only where the truth is crack (pixel-exact);
- tolerant (default 2 px): a predicted crack pixel is correct within `tolerance` px of a
  true crack pixel, and a true crack pixel is found within `tolerance` px of a prediction.

Counts are summed over a whole set before precision, recall, F1 and IoU are computed
(dataset-level, not a mean of per-image scores). Training validation and `evaluate` both
use this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import cv2
import numpy as np

DEFAULT_TOLERANCE = 2
THRESHOLDS = np.round(np.arange(0.05, 0.951, 0.05), 2)


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    if radius <= 0:
        return mask
    return cv2.dilate(mask.astype(np.uint8), _disk(radius)).astype(bool)


@dataclass
class Counts:
    """Pixel counts for one protocol; add them up over images.

    `tp_pred` counts predicted pixels judged correct (precision's numerator) and `tp_true`
    true pixels judged found (recall's numerator); in the strict protocol they are equal.
    """

    tp_pred: int = 0
    tp_true: int = 0
    predicted: int = 0
    actual: int = 0

    def __iadd__(self, other: Counts) -> Counts:
        self.tp_pred += other.tp_pred
        self.tp_true += other.tp_true
        self.predicted += other.predicted
        self.actual += other.actual
        return self

    def as_array(self) -> np.ndarray:
        return np.array([self.tp_pred, self.tp_true, self.predicted, self.actual], dtype=np.int64)

    @classmethod
    def from_array(cls, arr: np.ndarray) -> Counts:
        return cls(*(int(v) for v in arr))

    def scores(self) -> dict[str, float]:
        precision = self.tp_pred / self.predicted if self.predicted else 0.0
        recall = self.tp_true / self.actual if self.actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        fp = self.predicted - self.tp_pred
        fn = self.actual - self.tp_true
        tp = (self.tp_pred + self.tp_true) / 2
        iou = tp / (tp + fp + fn) if tp + fp + fn else 0.0
        return {"precision": precision, "recall": recall, "f1": f1, "iou": iou}


def count(pred: np.ndarray, truth: np.ndarray, tolerance: int = 0) -> Counts:
    """Counts for one image; `pred` and `truth` are boolean masks of the same shape."""
    if pred.shape != truth.shape:
        raise ValueError(f"prediction {pred.shape} and truth {truth.shape} differ in size")
    pred = pred.astype(bool, copy=False)
    truth = truth.astype(bool, copy=False)
    if tolerance <= 0:
        tp = int(np.count_nonzero(pred & truth))
        return Counts(tp, tp, int(np.count_nonzero(pred)), int(np.count_nonzero(truth)))
    return Counts(
        int(np.count_nonzero(pred & _dilate(truth, tolerance))),
        int(np.count_nonzero(truth & _dilate(pred, tolerance))),
        int(np.count_nonzero(pred)),
        int(np.count_nonzero(truth)),
    )


@dataclass
class SetMetrics:
    """Accumulates strict and tolerant counts over a set, at one threshold and over a sweep."""

    threshold: float = 0.5
    tolerance: int = DEFAULT_TOLERANCE
    thresholds: np.ndarray = field(default_factory=lambda: THRESHOLDS.copy())
    strict: Counts = field(default_factory=Counts)
    tolerant: Counts = field(default_factory=Counts)
    sweep_strict: np.ndarray = field(init=False)
    sweep_tolerant: np.ndarray = field(init=False)
    images: int = 0

    def __post_init__(self) -> None:
        self.sweep_strict = np.zeros((len(self.thresholds), 4), dtype=np.int64)
        self.sweep_tolerant = np.zeros((len(self.thresholds), 4), dtype=np.int64)

    def add(self, prob: np.ndarray, truth: np.ndarray, sweep: bool = True) -> None:
        """Add one image's probability map and its true mask."""
        truth = truth.astype(bool, copy=False)
        pred = prob >= self.threshold
        self.strict += count(pred, truth)
        self.tolerant += count(pred, truth, self.tolerance)
        self.images += 1
        if not sweep:
            return
        for i, t in enumerate(self.thresholds):
            p = prob >= t
            self.sweep_strict[i] += count(p, truth).as_array()
            self.sweep_tolerant[i] += count(p, truth, self.tolerance).as_array()

    def as_array(self) -> np.ndarray:
        """Everything as one integer vector, for summing across processes."""
        return np.concatenate(
            [
                [self.images],
                self.strict.as_array(),
                self.tolerant.as_array(),
                self.sweep_strict.ravel(),
                self.sweep_tolerant.ravel(),
            ]
        )

    def load_array(self, arr: np.ndarray) -> None:
        n = len(self.thresholds) * 4
        self.images = int(arr[0])
        self.strict = Counts.from_array(arr[1:5])
        self.tolerant = Counts.from_array(arr[5:9])
        self.sweep_strict = arr[9 : 9 + n].reshape(-1, 4).astype(np.int64)
        self.sweep_tolerant = arr[9 + n : 9 + 2 * n].reshape(-1, 4).astype(np.int64)

    @staticmethod
    def _f1s(sweep: np.ndarray) -> np.ndarray:
        """F1 at every threshold of a sweep (rows of counts)."""
        return np.array([Counts.from_array(row).scores()["f1"] for row in sweep])

    def _best(self, sweep: np.ndarray) -> tuple[float, float]:
        f1 = self._f1s(sweep)
        i = int(np.argmax(f1))
        return float(self.thresholds[i]), float(f1[i])

    def best_for_both(self) -> tuple[float, float, float]:
        """(threshold, strict F1, tolerant F1) at the sweep threshold with the highest sum of
        the two F1s; among equal sums the higher threshold (fewer pixels marked)."""
        strict, tolerant = self._f1s(self.sweep_strict), self._f1s(self.sweep_tolerant)
        total = np.round(strict + tolerant, 9)
        i = int(np.flatnonzero(total == total.max())[-1])
        return float(self.thresholds[i]), float(strict[i]), float(tolerant[i])

    def at(self, threshold: float) -> SetMetrics:
        """The same set read at another threshold of the sweep, as if it had been accumulated
        there (the sweep stays); ValueError for a threshold outside the sweep."""
        hits = np.flatnonzero(np.isclose(self.thresholds, threshold))
        if not self.sweep_strict.any() or len(hits) == 0:
            raise ValueError(f"threshold {threshold} is not in this set's sweep")
        i = int(hits[0])
        out = replace(
            self,
            threshold=float(self.thresholds[i]),
            strict=Counts.from_array(self.sweep_strict[i]),
            tolerant=Counts.from_array(self.sweep_tolerant[i]),
        )
        out.sweep_strict, out.sweep_tolerant = self.sweep_strict, self.sweep_tolerant
        return out

    def result(self) -> dict[str, float]:
        """Flat dict: precision, recall, f1, iou (strict), the same suffixed `_tol2`, and the
        best thresholds with their F1 (`best_threshold`, `best_f1`, and `_tol2` variants)."""
        tol = f"_tol{self.tolerance}"
        out: dict[str, float] = {"images": self.images, "threshold": self.threshold}
        out.update(self.strict.scores())
        out.update({k + tol: v for k, v in self.tolerant.scores().items()})
        if self.sweep_strict.any():
            out["best_threshold"], out["best_f1"] = self._best(self.sweep_strict)
            out["best_threshold" + tol], out["best_f1" + tol] = self._best(self.sweep_tolerant)
        return out
