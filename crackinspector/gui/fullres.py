"""Full-resolution layers for big photos, computed off the GUI thread.

On a 24 MP photo, thresholding and colouring at full size takes a few hundred ms. Done in a
background task (gui/tasks.py) with numpy and cv2 only (both release the GIL), the GUI
thread just wraps the finished BGRA buffers as pixmaps without copying. Each request
replaces the unfinished one before it (latest wins), so a fast slider never shows stale
layers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from crackinspector.core.analysis.analyse import threshold_mask

from . import layers


@dataclass
class FullResJob:
    probability: np.ndarray  # uint16 full size
    threshold: float
    luts: dict[str, np.ndarray]  # layer name -> bgra_lut


@dataclass
class FullResOutput:
    threshold: float
    mask: np.ndarray
    bgra: dict[str, np.ndarray] = field(default_factory=dict)


def render(job: FullResJob) -> FullResOutput:
    """The work itself (plain function: easy to test and to time)."""
    mask = threshold_mask(job.probability, job.threshold)
    out = FullResOutput(job.threshold, mask)
    for name, lut in job.luts.items():
        indices = layers.layer_indices(name, job.probability, mask)
        out.bgra[name] = layers.indexed_to_bgra(indices, lut)
    return out
