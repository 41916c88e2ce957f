"""The predict job: the engine over the photos with per-photo files and `summary.csv`.

For every photo: `<key>_mask.png` (8-bit, 255 = crack: the cracks `analyse` lists, so
marks under the minimum size are not in it), `<key>_overlay.jpg` (the one overlay renderer)
and, on request, `<key>_prob.png` (16-bit probability x 65535); `summary.csv` for the run,
rewritten (atomically) after each photo so an interrupted run still says what was done.

Reviews count (`ReviewLookup`): a corrected photo's files show its edited mask, a false
alarm's none; the scale is the inspection store's unless `mm_per_px` is given. summary.csv
says each photo's `review_status`, which mask was measured (`review_mask`) and `mm_per_px`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crackinspector.core.analysis.analyse import AnalysisSettings
from crackinspector.core.analysis.measure import DEFAULT_MIN_AREA_PX
from crackinspector.core.errors import CrackInspectorError
from crackinspector.core.pipeline.engine import (
    EngineResult,
    EngineSettings,
    ImageJob,
    ProbabilitySource,
    Progress,
    run_images,
)
from crackinspector.core.pipeline.inputs import Photo, Problem
from crackinspector.core.pipeline.outputs import (
    FolderLock,
    OutputWriter,
    WriteFailed,
    prepare_out_dir,
)
from crackinspector.core.report.model import ImageRecord
from crackinspector.core.report.tables import write_csv
from crackinspector.core.review.reviews import ReviewLookup

SUMMARY_NAME = "summary.csv"
SUMMARY_FIELDS = (
    "file", "width", "height", "crack_pixel_percent", "n_cracks", "seconds", "status", "mask",
    "index", "mm_per_px", "review_status", "review_mask",
)  # fmt: skip
PREDICT_FILES = {"mask": "{key}_mask.png", "overlay": "{key}_overlay.jpg"}
PROB_FILE = "{key}_prob.png"


@dataclass
class PredictOptions:
    out_dir: Path
    threshold: float | None = None  # None: the model card's
    min_area_px: int = DEFAULT_MIN_AREA_PX
    min_confidence: float = 0.0
    save_prob: bool = False
    overlap: bool = True
    mm_per_px: float | None = None  # None: the inspection store's (or calibration.json's)


@dataclass
class PredictResult(EngineResult):
    problems: Sequence[Problem] = ()

    def exit_code(self) -> int:
        """0 done, 1 a write failed, 2 some inputs failed, 130 cancelled."""
        if self.cancelled:
            return 130
        if self.fatal_error:
            return 1
        return 2 if (self.failed or self.problems) else 0


def summary_row(rec: ImageRecord) -> dict[str, Any]:
    row: dict[str, Any] = {
        "file": str(rec.path),
        "seconds": f"{rec.seconds:.3f}",
        "index": rec.index,
        "review_status": rec.review["status"],
        "review_mask": rec.review["mask"],
    }
    m = rec.measurement
    if rec.status != "ok" or m is None:
        row["status"] = f"error: {rec.error}"
        return row
    row.update(
        width=m.width,
        height=m.height,
        crack_pixel_percent=f"{m.crack_area_pct:.4f}",
        mm_per_px=m.mm_per_px,
        n_cracks=m.n_cracks,
        status="ok",
        mask=rec.files.get("mask", ""),
    )
    return row


def run_predict(
    photos: Sequence[Photo],
    source: ProbabilitySource,
    options: PredictOptions,
    problems: Sequence[Problem] = (),
    progress: Callable[[Progress], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> PredictResult:
    """Predict every photo; raises CrackInspectorError before any work for a bad threshold
    or an output folder that cannot be written or is in use by another run."""
    threshold = float(options.threshold if options.threshold is not None else source.threshold)
    if not 0.0 <= threshold <= 1.0:
        raise CrackInspectorError(f"threshold must be between 0 and 1, got {threshold}")
    files = dict(PREDICT_FILES, **({"prob": PROB_FILE} if options.save_prob else {}))
    settings = EngineSettings(
        AnalysisSettings(
            threshold=threshold,
            min_area_px=options.min_area_px,
            min_confidence=options.min_confidence,
        ),
        files=files,
        overlap=options.overlap,
    )
    prepare_out_dir(options.out_dir)
    with FolderLock(options.out_dir):
        writer = OutputWriter(options.out_dir)
        rows = [{"file": p.item, "status": f"error: {p.reason}", "index": -1} for p in problems]
        summary = options.out_dir / SUMMARY_NAME

        def write_summary() -> None:
            writer.write_with(summary, lambda path: write_csv(path, SUMMARY_FIELDS, rows))
            writer.written.remove(summary)  # rewritten each time: counted once, at the end

        def on_record(rec: ImageRecord) -> None:
            rows.append(summary_row(rec))
            write_summary()

        try:
            write_summary()
        except WriteFailed as exc:  # a target that takes the probe but not a real file
            return PredictResult(options.out_dir, fatal_error=str(exc.problem), problems=problems)
        lookup = ReviewLookup(options.mm_per_px)
        jobs = [ImageJob(p, *lookup.lookup(p.path), review=lookup.review(p.path)) for p in photos]
        engine = run_images(jobs, source, settings, writer, progress, cancel, None, on_record)
        result = PredictResult(**vars(engine), problems=problems)
        if summary.exists():
            result.written.append(summary)
    return result
