"""The export engine: analyse images, write per-image files and reports. No Qt, no tqdm.

Written once as plain code with a progress callback and a cancel flag; the CLI wraps it in
tqdm, the GUI runs it in a worker thread. `cancel()` is asked between images, between the
files of an image and between reports (and by the Predictor between tile batches).

Safety rules it keeps:
- Every file is written atomically (temporary sibling, then rename), so a cancelled or
  crashed export leaves complete files only. Reports are written at the very end from the
  collected data; a cancelled export writes no reports.
- Existing files: "overwrite" replaces them, "skip" leaves every existing file alone (the
  image is still analysed and appears in the reports), "new-folder" writes into DIR-2,
  DIR-3 ... when DIR already has files.
- A target that cannot be written is found before any work (folder made and a probe file
  written). A write that fails later (disk full, permission) stops the export with one line
  naming the file and the reason; files already written stay.
- A bad input image is recorded as failed with its reason and the batch goes on.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from crackinspector.core.analysis.calibration import CalibrationLookup
from crackinspector.core.analysis.measure import DEFAULT_MIN_AREA_PX, measure_mask
from crackinspector.core.analysis.severity import (
    SeverityError,
    SeverityScale,
    default_scale,
    get_preset,
)
from crackinspector.core.errors import Cancelled, CrackInspectorError, FileProblem
from crackinspector.core.io.atomic import atomic_write_bytes
from crackinspector.core.io.imageio import ImageReadError, encode_image, read_image, read_mask
from crackinspector.core.report.html import write_html
from crackinspector.core.report.model import ImageRecord, ReportInfo, report_dict
from crackinspector.core.report.overlay import figure_jpeg, render_overlay
from crackinspector.core.report.pdf import write_pdf
from crackinspector.core.report.tables import write_cracks_csv, write_images_csv, write_json

FORMATS = ("pdf", "html", "csv", "json")
EXISTING_POLICIES = ("overwrite", "skip", "new-folder")
REPORT_FILES = {
    "pdf": ("report.pdf",),
    "html": ("report.html",),
    "csv": ("images.csv", "cracks.csv"),
    "json": ("report.json",),
}
SUBDIRS = {"overlay": "overlays", "mask": "masks", "prob": "prob"}


class ProbabilitySource(Protocol):
    """What the engine needs from a model: core.inference.Predictor is one."""

    threshold: float

    def predict(
        self,
        image: np.ndarray,
        progress: Callable[[int, int], None] | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> np.ndarray: ...


class MaskFolderSource:
    """Existing masks (`<folder>/<image stem>.png`) used in place of a model's output.

    For reporting on hand-made or third-party masks, and for tests on labelled data.
    """

    threshold = 0.5

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.name = f"masks from {self.folder}"
        self.description = "existing masks, no model"

    def predict_file(self, path: Path, image: np.ndarray) -> np.ndarray:
        for ext in (".png", ".bmp", ".tif", ".tiff"):
            candidate = self.folder / f"{path.stem}{ext}"
            if candidate.exists():
                mask = read_mask(candidate)
                if mask.shape != image.shape[:2]:
                    raise ImageReadError(candidate, "mask size differs from the image")
                return mask.astype(np.float32)
        raise ImageReadError(self.folder / f"{path.stem}.png", "no mask for this image")

    def predict(self, image: np.ndarray, progress=None, cancel=None) -> np.ndarray:
        raise CrackInspectorError("MaskFolderSource needs the file name: use predict_file")


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
    mm_per_px: float | None = None  # None: calibration files in the images' folders
    severity: SeverityScale | str | None = None  # None: 'concrete' if all calibrated, else 'pixels'
    min_area_px: int = DEFAULT_MIN_AREA_PX


@dataclass
class ExportProgress:
    done: int  # images finished
    total: int  # images in the export
    stage: str  # "image", "reports" or "done"
    path: Path | None = None
    fraction: float = 0.0  # of the whole job, including tiles of the current image


@dataclass
class ExportResult:
    out_dir: Path
    records: list[ImageRecord] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)  # existing files left alone
    report_errors: list[str] = field(default_factory=list)
    fatal_error: str | None = None
    cancelled: bool = False
    doc: dict[str, Any] | None = None  # the report data (None when cancelled or failed)

    @property
    def failed(self) -> list[ImageRecord]:
        return [r for r in self.records if r.status == "failed"]

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


def describe_os_error(exc: OSError) -> str:
    """A short lower-case reason for an OS error: 'permission denied', 'no space left'."""
    reasons = {
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ENOSPC: "no space left on device",
        errno.EDQUOT: "disk quota exceeded",
        errno.EROFS: "read-only file system",
        errno.EFBIG: "file too large for the target (size limit reached)",
        errno.ENOTDIR: "a part of the path is a file, not a folder",
        errno.EEXIST: "exists and is not a folder",
        errno.ENAMETOOLONG: "file name too long",
    }
    return reasons.get(exc.errno or 0) or (exc.strerror or str(exc)).lower()


def choose_out_dir(out_dir: Path, existing: str) -> Path:
    """DIR, or for "new-folder" the first of DIR-2, DIR-3 ... that is absent or empty."""
    if existing != "new-folder":
        return out_dir
    candidate, n = out_dir, 1
    while candidate.exists() and (not candidate.is_dir() or any(candidate.iterdir())):
        n += 1
        candidate = out_dir.with_name(f"{out_dir.name}-{n}")
    return candidate


def prepare_out_dir(out_dir: Path) -> None:
    """Make the folder and prove a file can be written there, or raise FileProblem."""
    if out_dir.exists() and not out_dir.is_dir():
        raise FileProblem(out_dir, "is a file, not a folder")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".crackinspector-probe.", suffix=".part", dir=out_dir)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise FileProblem(out_dir, f"cannot write here: {describe_os_error(exc)}") from None


def unique_keys(paths: Sequence[Path]) -> list[str]:
    """Output file stems: the image's stem, with -2, -3 ... for repeats (case-insensitive)."""
    seen: set[str] = set()
    keys = []
    for p in paths:
        key, n = p.stem, 1
        while key.lower() in seen:
            n += 1
            key = f"{p.stem}-{n}"
        seen.add(key.lower())
        keys.append(key)
    return keys


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


class _WriteFailed(Exception):
    def __init__(self, problem: FileProblem) -> None:
        self.problem = problem


class _Exporter:
    def __init__(self, source, options: ExportOptions, progress, cancel, cache) -> None:
        self.source = source
        self.o = options
        self.progress = progress or (lambda _p: None)
        self.cancel = cancel or (lambda: False)
        self.cache = cache
        self.formats = [f.lower() for f in options.formats]
        unknown = [f for f in self.formats if f not in FORMATS]
        if unknown:
            raise CrackInspectorError(
                f"unknown report format {unknown[0]!r}; choose from {', '.join(FORMATS)}"
            )
        if options.existing not in EXISTING_POLICIES:
            raise CrackInspectorError(
                f"unknown policy {options.existing!r}; choose from {', '.join(EXISTING_POLICIES)}"
            )
        self.want = {
            "overlay": options.overlays or "html" in self.formats,
            "mask": options.masks,
            "prob": options.prob,
        }
        self.threshold = float(
            options.threshold if options.threshold is not None else source.threshold
        )
        if not 0.0 <= self.threshold <= 1.0:
            raise CrackInspectorError(f"threshold must be between 0 and 1, got {self.threshold}")

    # ---------------------------------------------------------------- writing
    def write(self, result: ExportResult, target: Path, make: Callable[[], bytes]) -> bool:
        """Write `target` unless skipping existing files; False when it was left alone."""
        if self.o.existing == "skip" and target.exists():
            result.skipped.append(target)
            return False
        data = make()
        try:
            atomic_write_bytes(target, data)
        except OSError as exc:
            raise _WriteFailed(FileProblem(target, describe_os_error(exc))) from None
        result.written.append(target)
        return True

    def model_identity(self) -> str | None:
        info = getattr(self.source, "info", None)
        return getattr(info, "identity", None)

    def probability(self, path: Path, image: np.ndarray, on_tiles) -> np.ndarray:
        if hasattr(self.source, "predict_file"):
            return self.source.predict_file(path, image)
        identity = self.model_identity() if self.cache is not None else None
        digest = None
        if identity:
            from crackinspector.core.io.cache import file_digest

            digest = file_digest(path)
            hit = self.cache.get(digest, identity)
            if hit is not None and hit.probability.shape == image.shape[:2]:
                return hit.probability.astype(np.float32) / 65535.0
        start = time.perf_counter()
        prob = self.source.predict(image, progress=on_tiles, cancel=self.cancel)
        if identity and digest:
            with contextlib.suppress(OSError):  # a full cache never fails an export
                self.cache.put(digest, identity, prob, time.perf_counter() - start)
        return prob

    # ---------------------------------------------------------------- one image
    def image(self, result, rec: ImageRecord, mm: float | None, scale, index: int, total: int):
        def on_tiles(done: int, n: int) -> None:
            frac = (index + (done / n if n else 0.0)) / (total + 1)
            self.progress(ExportProgress(index, total, "image", rec.path, frac))

        start = time.perf_counter()
        try:
            image = read_image(rec.path)
            prob = self.probability(rec.path, image, on_tiles)
        except FileProblem as exc:
            rec.status = "failed"
            rec.error = exc.reason if exc.path == rec.path else str(exc)
            return
        except (ValueError, RuntimeError, MemoryError) as exc:
            rec.status, rec.error = "failed", f"could not be analysed ({exc})"
            return
        measurement = measure_mask(prob >= self.threshold, mm, self.o.min_area_px, scale)
        rec.measurement = measurement
        rec.seconds = time.perf_counter() - start
        rec.exported = measurement.n_cracks > 0 or not self.o.only_cracked
        if not rec.exported:
            return
        overlay = None
        if self.want["overlay"] or "pdf" in self.formats:
            overlay = render_overlay(image, measurement).image
            if "pdf" in self.formats:
                rec.figure = figure_jpeg(overlay)
        makers = {
            "overlay": lambda: encode_image(overlay, ".png"),
            "mask": lambda: encode_image((measurement.labels > 0).astype(np.uint8) * 255, ".png"),
            "prob": lambda: encode_image(
                np.round(np.clip(prob, 0, 1) * 65535).astype(np.uint16), ".png"
            ),
        }
        for kind, make in makers.items():
            if not self.want[kind]:
                continue
            if self.cancel():
                raise Cancelled("cancelled")
            rel = f"{SUBDIRS[kind]}/{rec.key}.png"
            self.write(result, result.out_dir / rel, make)
            rec.files[kind] = rel

    # ---------------------------------------------------------------- reports
    def reports(self, result: ExportResult, info: ReportInfo) -> None:
        doc = report_dict(info, result.records)
        result.doc = doc
        figures = {r.key: r.figure for r in result.records if r.figure}
        writers = {
            "report.pdf": lambda p: write_pdf(doc, figures, p),
            "report.html": lambda p: write_html(doc, p),
            "images.csv": lambda p: write_images_csv(doc, p),
            "cracks.csv": lambda p: write_cracks_csv(doc, p),
            "report.json": lambda p: write_json(doc, p),
        }
        for fmt in FORMATS:
            if fmt not in self.formats:
                continue
            for name in REPORT_FILES[fmt]:
                if self.cancel():
                    raise Cancelled("cancelled")
                target = result.out_dir / name
                if self.o.existing == "skip" and target.exists():
                    result.skipped.append(target)
                    continue
                try:
                    writers[name](target)
                except OSError as exc:
                    result.report_errors.append(str(FileProblem(target, describe_os_error(exc))))
                    continue
                result.written.append(target)


def run_export(
    inputs: Sequence[str | Path],
    source: ProbabilitySource | MaskFolderSource,
    options: ExportOptions,
    progress: Callable[[ExportProgress], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    cache: Any | None = None,
) -> ExportResult:
    """Export `inputs` (image files, in order; pass the selection you want exported).

    Raises CrackInspectorError (one line) for problems found before any work: unusable
    options, a mm severity scale without calibrations, a target folder that cannot be
    written. Everything after that is reported in the returned ExportResult.
    """
    ex = _Exporter(source, options, progress, cancel, cache)
    paths = [Path(p) for p in inputs]
    if not paths:
        raise CrackInspectorError("no images to export")
    lookup = CalibrationLookup(options.mm_per_px)
    scales = [lookup.lookup(p) for p in paths]
    scale = resolve_scale(options.severity, [bool(s[0]) for s in scales], [p.name for p in paths])
    out_dir = choose_out_dir(Path(options.out_dir), options.existing)
    prepare_out_dir(out_dir)

    result = ExportResult(out_dir)
    total = len(paths)
    for i, (path, key) in enumerate(zip(paths, unique_keys(paths), strict=True)):
        if ex.cancel():
            result.cancelled = True
            break
        ex.progress(ExportProgress(i, total, "image", path, i / (total + 1)))
        mm, source_name = scales[i]
        rec = ImageRecord(path, key, calibration_source=source_name)
        result.records.append(rec)
        try:
            ex.image(result, rec, mm, scale, i, total)
        except Cancelled:
            result.cancelled = True
            if rec.measurement is None and rec.status == "ok":
                result.records.pop()  # not analysed: not part of any result
            break
        except _WriteFailed as exc:
            result.fatal_error = str(exc.problem)
            break
    if result.cancelled or result.fatal_error:
        return result

    info = ReportInfo(
        model_name=getattr(getattr(source, "info", None), "name", None)
        or getattr(source, "name", "unknown model"),
        threshold=ex.threshold,
        min_area_px=options.min_area_px,
        severity=scale,
        model_identity=ex.model_identity(),
        model_description=str(getattr(source, "description", "") or ""),
        fixed_mm_per_px=options.mm_per_px,
        only_cracked=options.only_cracked,
    )
    ex.progress(ExportProgress(total, total, "reports", None, total / (total + 1)))
    try:
        ex.reports(result, info)
    except Cancelled:
        result.cancelled = True
        return result
    ex.progress(ExportProgress(total, total, "done", None, 1.0))
    return result
