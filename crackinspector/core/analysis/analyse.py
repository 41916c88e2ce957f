"""The one function that turns a probability map into an image's cracks and summary.

Every view of an image's findings (GUI panels, thumbnail badges, CSV, JSON, HTML, PDF)
shows the numbers of `analyse(...)` for the same inputs, so they cannot disagree.
An edited (reviewed) mask replaces the thresholded one; the probability map still gives
the per-crack evidence where the measurement uses it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crackinspector.core.analysis.measure import DEFAULT_MIN_AREA_PX, ImageMeasurement, measure_mask
from crackinspector.core.analysis.severity import SeverityScale
from crackinspector.core.analysis.width import DEFAULT_METHOD
from crackinspector.core.io.cache import U16_MAX, threshold_u16


@dataclass(frozen=True)
class AnalysisSettings:
    """Everything besides the pixels that decides an image's crack list."""

    threshold: float
    min_area_px: int = DEFAULT_MIN_AREA_PX
    min_confidence: float = 0.0
    mm_per_px: float | None = None
    severity: SeverityScale | None = None
    width_method: str = DEFAULT_METHOD  # evidence for widths (width.py): photo when given


def probability_float(probability: np.ndarray) -> np.ndarray:
    """A probability map as float32 in [0, 1], from float or 16-bit storage."""
    if probability.dtype == np.uint16:
        return probability.astype(np.float32) / U16_MAX
    return np.asarray(probability, dtype=np.float32)


def threshold_mask(probability: np.ndarray, threshold: float) -> np.ndarray:
    """Crack pixels: probability at or above the threshold (the rule everywhere: measured
    cracks, the GUI overlay, exports, reviewed-mask exports)."""
    if probability.dtype == np.uint16:
        return probability >= threshold_u16(threshold)
    return probability >= threshold


def analyse(
    probability: np.ndarray | None,
    settings: AnalysisSettings,
    mask: np.ndarray | None = None,
    image: np.ndarray | None = None,
) -> ImageMeasurement:
    """Cracks and totals of one image.

    `probability`: the model's map (float in [0, 1] or uint16), or None when only a mask is
    known. `mask`: an edited mask (bool HxW) that replaces the thresholded map. `image`: the
    photo (RGB or grey, same size): widths come from its intensity profile across each
    crack, at sub-pixel precision; without it, from the mask (whole pixels), so every view
    of an image must pass the photo to agree.

    With a probability map each crack has a confidence (mean probability on its skeleton).
    Both filters are applied here, and the result counts what they left out:
    `min_area_px` always, `min_confidence` to the model's own mask only. An edited mask is
    a person's decision: a crack they drew where the model saw little has a low confidence
    and must still be listed, so with `mask` given confidences are reported, not filtered
    (the result's `min_confidence` is then 0). Cracks come worst severity first, then
    longest first.
    """
    min_confidence = settings.min_confidence
    if mask is None:
        if probability is None:
            raise ValueError("analyse needs a probability map or a mask")
        mask = threshold_mask(probability, settings.threshold)
    else:
        min_confidence = 0.0
    return measure_mask(
        mask,
        mm_per_px=settings.mm_per_px,
        min_area_px=settings.min_area_px,
        severity=settings.severity,
        probability=None if probability is None else probability_float(probability),
        min_confidence=min_confidence,
        width_method=settings.width_method,
        image=image,
    )
