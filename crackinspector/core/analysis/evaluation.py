"""Evaluate a model on labelled photos: whole images through the Predictor, both protocols.

The same metric code (core.metrics) scores training validation, so numbers agree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from crackinspector.core.analysis.metrics import DEFAULT_TOLERANCE, SetMetrics
from crackinspector.core.errors import Cancelled, FileProblem
from crackinspector.core.io.imageio import read_image, read_mask
from crackinspector.core.io.pairing import Pair


@dataclass
class Evaluation:
    model: str
    metrics: dict[str, float]
    failures: list[str] = field(default_factory=list)  # "path: reason"

    def rows(self) -> list[dict[str, Any]]:
        """One row per protocol, for the table and the CSV."""
        m, tol = self.metrics, f"_tol{int(self.metrics.get('tolerance', DEFAULT_TOLERANCE))}"
        out = []
        for name, suffix in (("strict", ""), (f"{tol[4:]} px tolerance", tol)):
            out.append({
                "protocol": name,
                "threshold": m["threshold"],
                "precision": m["precision" + suffix],
                "recall": m["recall" + suffix],
                "f1": m["f1" + suffix],
                "iou": m["iou" + suffix],
                "best_threshold": m.get("best_threshold" + suffix),
                "best_f1": m.get("best_f1" + suffix),
            })  # fmt: skip
        return out


def evaluate_pairs(
    predict: Callable[[Any], Any],
    pairs: Sequence[Pair],
    threshold: float,
    model_name: str = "",
    tolerance: int = DEFAULT_TOLERANCE,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> Evaluation:
    """Run `predict(image) -> probability map` over the pairs and score the whole set.

    A pair that cannot be read is listed in `failures` and the rest still count.
    """
    metrics = SetMetrics(threshold=threshold, tolerance=tolerance)
    failures: list[str] = []
    for i, pair in enumerate(pairs):
        if cancel is not None and cancel():
            raise Cancelled("evaluation cancelled")
        try:
            image, truth = read_image(pair.image), read_mask(pair.mask)
            if truth.shape != image.shape[:2]:
                raise FileProblem(pair.mask, "mask size differs from its image")
            metrics.add(predict(image), truth)
        except FileProblem as exc:
            failures.append(str(exc))
        if progress is not None:
            progress(i + 1, len(pairs))
    result = metrics.result()
    result["tolerance"] = tolerance
    return Evaluation(model_name, result, failures)
