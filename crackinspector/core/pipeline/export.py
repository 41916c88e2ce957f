"""The export job: the engine over the photos, then reports (PDF, HTML, CSV, JSON).

`run_export` is called by `crackinspector export` and by the GUI's export dialog.

Rules it keeps (see docs/REPORTS.md):
- Every file is written atomically, so a cancelled or crashed export leaves complete files
  only. Reports are written at the very end from the collected data; a cancelled export
  writes no reports.
- Existing files: "overwrite" replaces them, "skip" leaves every existing file alone (the
  photo is still analysed and appears in the reports), "new-folder" writes into DIR-2,
  DIR-3 ... when DIR already has files.
- The target is checked before any work (folder made, a probe file written) and locked for
  the run (one run per folder). A write that fails later stops the export with one line
  naming the file and the reason; files already written stay.
- A bad input photo is recorded as failed with its reason and the batch goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crackinspector.core.analysis.analyse import AnalysisSettings
from crackinspector.core.analysis.measure import DEFAULT_MIN_AREA_PX
from crackinspector.core.analysis.severity import (
    SeverityError,
    SeverityScale,
    default_scale,
    get_preset,
)
from crackinspector.core.errors import Cancelled, CrackInspectorError
from crackinspector.core.pipeline.engine import (
    EngineResult,
    EngineSettings,
    ImageJob,
    MaskFolderSource,
    ProbabilitySource,
    Progress,
    run_images,
    runtime_text,
)
from crackinspector.core.pipeline.inputs import Photo, Problem, output_keys
from crackinspector.core.pipeline.outputs import (
    EXISTING_POLICIES,
    FolderLock,
    OutputWriter,
    WriteFailed,
    choose_out_dir,
    prepare_out_dir,
)
from crackinspector.core.report.html import write_html
from crackinspector.core.report.model import (
    ImageRecord,
    ReportInfo,
    inspection_entry,
    report_dict,
    review_progress,
)
from crackinspector.core.report.pdf import write_pdf
from crackinspector.core.report.tables import write_cracks_csv, write_images_csv, write_json
from crackinspector.core.review.records import ACCEPTED, CORRECTED, STATUSES
from crackinspector.core.review.reviews import ReviewLookup

FORMATS = ("pdf", "html", "csv", "json")
REPORT_FILES = {
    "pdf": ("report.pdf",),
    "html": ("report.html",),
    "csv": ("images.csv", "cracks.csv"),
    "json": ("report.json",),
}
EXPORT_FILES = {
    "overlay": "overlays/{key}.png",
    "mask": "masks/{key}.png",
    "prob": "prob/{key}.png",
}
ExportProgress = Progress  # the name the GUI's export dialog knows


@dataclass
class ExportOptions:
    out_dir: Path
    formats: Sequence[str] = FORMATS
    overlays: bool = False  # PNG overlays; always written when "html" is a format
    masks: bool = False
    prob: bool = False  # 16-bit PNG probability maps
    only_cracked: bool = False
    existing: str = "overwrite"
    threshold: float | None = None  # None: the model's own
    mm_per_px: float | None = None  # None: the inspection store's (or calibration.json's)
    severity: SeverityScale | str | None = None  # None: 'concrete' if all calibrated, else 'pixels'
    min_area_px: int = DEFAULT_MIN_AREA_PX
    min_confidence: float = 0.0
    overlap: bool = True  # decode the next photo and write the last one while predicting
    reviewed_only: bool = False  # report only accepted and corrected photos


@dataclass
class ExportResult(EngineResult):
    report_errors: list[str] = field(default_factory=list)
    doc: dict[str, Any] | None = None  # the report data (None when cancelled or failed)

    @property
    def complete(self) -> bool:
        return not (self.cancelled or self.fatal_error or self.report_errors)

    def exit_code(self) -> int:
        """0 done, 1 a write failed, 2 some inputs failed, 130 cancelled."""
        if self.cancelled:
            return 130
        if self.fatal_error or self.report_errors:
            return 1
        return 2 if self.failed else 0


def resolve_scale(
    severity: SeverityScale | str | None, calibrated: Sequence[bool], names: Sequence[str]
) -> SeverityScale:
    """The scale to use; a mm scale with uncalibrated images is an error naming them."""
    if severity is None or severity == "auto":
        return default_scale(bool(calibrated) and all(calibrated))
    scale = get_preset(severity) if isinstance(severity, str) else severity
    if scale.unit == "mm":
        missing = [n for n, c in zip(names, calibrated, strict=True) if not c]
        if missing:
            example = ", ".join(missing[:3]) + (" ..." if len(missing) > 3 else "")
            raise SeverityError(
                f"severity preset {scale.name!r} is in millimetres but {len(missing)} image(s) "
                f"have no calibration ({example}); give --mm-per-px, calibrate the folder, "
                "or use the 'pixels' preset"
            )
    return scale


def as_photos(inputs: Sequence[str | Path | Photo]) -> list[Photo]:
    """Photos as given (already keyed, e.g. one shard of a list), or keyed here by
    `output_keys` from plain paths."""
    if all(isinstance(p, Photo) for p in inputs):
        return [p for p in inputs if isinstance(p, Photo)]
    paths = [Path(p.path if isinstance(p, Photo) else p) for p in inputs]
    return [Photo(p, k, i) for i, (p, k) in enumerate(zip(paths, output_keys(paths), strict=True))]


def check_formats(formats: Sequence[str], existing: str) -> list[str]:
    wanted = [f.lower() for f in formats]
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown:
        raise CrackInspectorError(
            f"unknown report format {unknown[0]!r}; choose from {', '.join(FORMATS)}"
        )
    if existing not in EXISTING_POLICIES:
        raise CrackInspectorError(
            f"unknown policy {existing!r}; choose from {', '.join(EXISTING_POLICIES)}"
        )
    return wanted


def write_reports(
    doc: dict[str, Any],
    figures: Mapping[str, bytes],
    formats: Sequence[str],
    writer: OutputWriter,
    cancel: Callable[[], bool],
) -> list[str]:
    """Write the report files of `formats`; the problems as lines (a failed report does
    not stop the others). Used by the export and by `merge`."""
    writers: dict[str, Callable[[Path], None]] = {
        "report.pdf": lambda p: write_pdf(doc, figures, p),
        "report.html": lambda p: write_html(doc, p),
        "images.csv": lambda p: write_images_csv(doc, p),
        "cracks.csv": lambda p: write_cracks_csv(doc, p),
        "report.json": lambda p: write_json(doc, p),
    }
    errors = []
    for fmt in FORMATS:
        if fmt not in formats:
            continue
        for name in REPORT_FILES[fmt]:
            if cancel():
                raise Cancelled("cancelled")
            target = writer.out_dir / name
            if writer.existing == "skip" and target.exists():
                writer.skipped.append(target)
                continue
            try:
                writer.write_with(target, writers[name])
            except WriteFailed as exc:
                errors.append(str(exc.problem))
    return errors


def run_export(
    inputs: Sequence[str | Path | Photo],
    source: ProbabilitySource | MaskFolderSource,
    options: ExportOptions,
    progress: Callable[[Progress], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    cache: Any | None = None,
    problems: Sequence[Problem] = (),
) -> ExportResult:
    """Export `inputs` (photo files in order, or `Photo`s from `collect_inputs`).

    `problems` (inputs that gave no photo) are listed as failed in every report. Raises
    CrackInspectorError (one line) for problems found before any work: unusable options,
    a mm severity scale without calibrations, a target folder that cannot be written or is
    in use by another run. Everything after that is in the returned ExportResult.
    """
    formats = check_formats(options.formats, options.existing)
    cancel = cancel or (lambda: False)
    threshold = float(options.threshold if options.threshold is not None else source.threshold)
    if not 0.0 <= threshold <= 1.0:
        raise CrackInspectorError(f"threshold must be between 0 and 1, got {threshold}")
    photos = as_photos(inputs)
    if not photos and not problems:
        raise CrackInspectorError("no images to export")
    lookup = ReviewLookup(options.mm_per_px)
    reviews = {p.path: lookup.review(p.path) for p in photos}
    counts = dict.fromkeys(STATUSES, 0)
    for rec in reviews.values():
        counts[rec.status] += 1
    if options.reviewed_only:
        given = len(photos)
        photos = [p for p in photos if reviews[p.path].status in (ACCEPTED, CORRECTED)]
        if not photos and not problems:
            raise CrackInspectorError(
                f"none of the {given} image(s) is accepted or corrected (--reviewed-only)"
            )
    review = review_progress(
        counts,
        changed=sum(r.changed for r in reviews.values()),
        left_out=len(reviews) - len(photos),
        reviewed_only=options.reviewed_only,
    )
    inspections: list[dict[str, Any]] = []
    inspection_of: dict[Path, int] = {}  # photo -> index into inspections
    for p in photos:
        found = lookup.inspection(p.path)
        if found.store_path is None:
            continue
        entry = inspection_entry(str(found.folder), found.info.to_dict())
        if entry not in inspections:
            inspections.append(entry)
        inspection_of[p.path] = inspections.index(entry)
    jobs = [ImageJob(p, *lookup.lookup(p.path), review=reviews[p.path]) for p in photos]
    names = [p.path.name for p in photos]
    scale = resolve_scale(options.severity, [bool(j.mm_per_px) for j in jobs], names)
    files = {k: v for k, v in EXPORT_FILES.items() if {
        "overlay": options.overlays or "html" in formats, "mask": options.masks,
        "prob": options.prob}[k]}  # fmt: skip
    settings = EngineSettings(
        AnalysisSettings(
            threshold=threshold,
            min_area_px=options.min_area_px,
            min_confidence=options.min_confidence,
            severity=scale,
        ),
        files=files,
        only_cracked=options.only_cracked,
        figures="pdf" in formats,
        overlap=options.overlap,
    )
    out_dir = choose_out_dir(Path(options.out_dir), options.existing)
    prepare_out_dir(out_dir)
    with FolderLock(out_dir):
        writer = OutputWriter(out_dir, options.existing)
        engine = run_images(jobs, source, settings, writer, progress, cancel, cache)
        result = ExportResult(**vars(engine))
        result.records[:0] = [
            ImageRecord(Path(p.item), "", "failed", p.reason, index=-1) for p in problems
        ]
        if result.cancelled or result.fatal_error:
            return result
        for image_rec in result.records:
            image_rec.inspection = inspection_of.get(image_rec.path)
        identity = getattr(getattr(source, "info", None), "identity", None)
        info = ReportInfo(
            model_name=str(
                getattr(getattr(source, "info", None), "name", None)
                or getattr(source, "name", "unknown model")
            ),
            threshold=threshold,
            min_area_px=options.min_area_px,
            severity=scale,
            model_identity=identity,
            model_description=str(getattr(source, "description", "") or ""),
            fixed_mm_per_px=options.mm_per_px,
            only_cracked=options.only_cracked,
            runtime=runtime_text(source),
            min_confidence=options.min_confidence,
            inspections=inspections,
            review=review,
            reviewed_only=options.reviewed_only,
        )
        total = len(photos)
        report = progress or (lambda _p: None)
        report(Progress(total, total, "reports", None, total / (total + 1)))
        doc = report_dict(info, result.records)
        result.doc = doc
        figures = {r.key: r.figure for r in result.records if r.figure}
        try:
            result.report_errors = write_reports(doc, figures, formats, writer, cancel)
        except Cancelled:
            result.cancelled, result.doc = True, None
            return result
        report(Progress(total, total, "done", None, 1.0))
    return result
