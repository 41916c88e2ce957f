"""The one per-image engine: decode -> predict -> threshold + measure (analyse) -> write.

`run_images` is what `predict`, `export`, `merge`-able shard runs and the GUI's export all
run. Plain Python: progress through a callback, a cancel flag that is asked before every
photo and (by the Predictor) between tile batches; no Qt, no tqdm. A photo whose
prediction is done is always finished (analysed, all its files written) before a cancel
takes effect, so a cancelled run keeps every photo it got through, each one whole.

Overlapping the work (`overlap=True`, the default): a decoder thread reads the next photo
while the current one is being predicted, and a writer thread analyses, renders, encodes
and writes the previous photo's files. The model runs on the calling thread only. At most
one photo waits in each thread, so memory stays at about three photos. Results are
identical to `overlap=False` (everything inline, in order), which tests check.

Errors, in one wording for every caller:
- a photo that cannot be read or analysed is a failed record with a one-line reason
  (`input_reason`), and the batch goes on;
- a file that cannot be written (`WriteFailed`) stops the run: `fatal_error` names the
  file and the reason; files written before stay complete (every write is atomic);
- Cancelled stops the run; photos predicted before stay recorded with all their files.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from crackinspector.core.analysis.analyse import AnalysisSettings, analyse
from crackinspector.core.analysis.measure import ImageMeasurement
from crackinspector.core.errors import Cancelled, CrackInspectorError, FileProblem
from crackinspector.core.io.cache import to_u16
from crackinspector.core.io.imageio import ImageReadError, encode_image, read_image, read_mask
from crackinspector.core.pipeline.inputs import Photo
from crackinspector.core.pipeline.outputs import OutputWriter, WriteFailed
from crackinspector.core.report.model import ImageRecord, review_entry
from crackinspector.core.report.overlay import figure_jpeg, render_overlay
from crackinspector.core.review.records import CORRECTED, FALSE_ALARM, UNREVIEWED
from crackinspector.core.review.reviews import ReviewRecord

T = TypeVar("T")
CancelFn = Callable[[], bool]
FILE_KINDS = ("overlay", "mask", "prob")  # written in this order


class ProbabilitySource(Protocol):
    """What the engine needs from a model: core.infer.predictor.Predictor is one."""

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

    def predict(
        self,
        image: np.ndarray,
        progress: Callable[[int, int], None] | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> np.ndarray:
        raise CrackInspectorError("MaskFolderSource needs the file name: use predict_file")


def runtime_text(source: Any) -> str:
    """Where a model runs, for the reports' model row: 'CPU (ONNX)', 'CUDA (PyTorch)'."""
    device, backend = getattr(source, "device", None), getattr(source, "backend", None)
    if device is None or backend is None:
        return ""
    names = {"onnx": "ONNX", "torch": "PyTorch", "openvino": "OpenVINO"}
    kind = str(getattr(device, "type", device)).upper()
    return f"{kind} ({names.get(str(backend), str(backend))})"


@dataclass
class Progress:
    done: int  # photos finished
    total: int  # photos in the run
    stage: str  # "image", "reports" or "done"
    path: Path | None = None
    fraction: float = 0.0  # of the whole job, including tiles of the current photo


@dataclass(frozen=True)
class ImageJob:
    """One photo to analyse, with its calibration and its review (None: not reviewed).

    A corrected photo is measured on its edited mask, a false alarm on an empty one; any
    other status on the model's thresholded map.
    """

    photo: Photo
    mm_per_px: float | None = None
    calibration_source: str = "none"
    review: ReviewRecord | None = None


def review_fields(review: ReviewRecord | None) -> dict[str, Any]:
    """The report's `review` object of a job's photo."""
    if review is None:
        return review_entry(UNREVIEWED)
    mask = "model"
    if review.status == FALSE_ALARM:
        mask = "empty"
    elif review.status == CORRECTED and review.mask_png:
        mask = "edited"
    return review_entry(
        review.status,
        review.reviewer,
        review.reviewed_at,
        review.note,
        review.model,
        review.threshold,
        review.changed,
        mask,
    )


def reviewed_mask(review: ReviewRecord | None, shape: tuple[int, ...]) -> np.ndarray | None:
    """The mask a person decided on (edited, or empty for a false alarm), else None."""
    if review is None:
        return None
    if review.status == FALSE_ALARM:
        return np.zeros(shape[:2], dtype=bool)
    edited = review.mask() if review.status == CORRECTED else None
    if edited is None:
        return None
    if edited.shape[:2] != tuple(shape[:2]):
        raise ImageReadError(
            review.path,
            f"the corrected mask is {edited.shape[1]} x {edited.shape[0]} px but the photo is "
            f"{shape[1]} x {shape[0]} px",
        )
    return edited.astype(bool)


@dataclass(frozen=True)
class EngineSettings:
    """What to compute and which files to write for every photo."""

    analysis: AnalysisSettings  # mm_per_px is taken from each ImageJob
    files: Mapping[str, str] = field(default_factory=dict)  # kind -> "masks/{key}.png"
    only_cracked: bool = False  # files only for photos with cracks
    figures: bool = False  # keep a JPEG of the overlay in the record (for the PDF)
    overlap: bool = True
    jpeg_quality: int = 90


@dataclass
class EngineResult:
    out_dir: Path
    records: list[ImageRecord] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)  # existing files left alone
    fatal_error: str | None = None
    cancelled: bool = False

    @property
    def failed(self) -> list[ImageRecord]:
        return [r for r in self.records if r.status == "failed"]


def input_reason(exc: BaseException, path: Path | None = None) -> str:
    """Why the photo at `path` failed, in one line (the caller says the photo's name; another
    file's problem, such as its mask's, names that file)."""
    if isinstance(exc, FileProblem):
        return exc.reason if path is None or exc.path == path else str(exc)
    if isinstance(exc, MemoryError):
        return "not enough memory for this image"
    text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    return (
        f"could not be analysed ({type(exc).__name__}: {text})"
        if text
        else (f"could not be analysed ({type(exc).__name__})")
    )


class _Inline:
    """The executor interface, running each job at once (overlap off)."""

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # handed to whoever asks for the result
            future.set_exception(exc)
        return future

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


def _executor(overlap: bool, name: str) -> ThreadPoolExecutor | _Inline:
    return ThreadPoolExecutor(1, thread_name_prefix=name) if overlap else _Inline()


class _Engine:
    def __init__(
        self, source, settings: EngineSettings, writer, progress, cancel, cache, on_record
    ):
        self.source = source
        self.s = settings
        self.writer: OutputWriter = writer
        self.progress: Callable[[Progress], None] = progress or (lambda _p: None)
        self.cancel: CancelFn = cancel or (lambda: False)
        self.cache = cache
        self.on_record: Callable[[ImageRecord], None] = on_record or (lambda _r: None)

    def model_identity(self) -> str | None:
        """The result-cache identity: a Predictor's own (model, precision, tiles, flips)."""
        identity = getattr(self.source, "result_identity", None)
        if identity is None:
            identity = getattr(getattr(self.source, "info", None), "identity", None)
        return identity

    def probability(self, path: Path, image: np.ndarray, on_tiles) -> tuple[np.ndarray, Any]:
        """The probability map, and a pending cache entry (digest, identity, seconds) or None."""
        if hasattr(self.source, "predict_file"):
            return self.source.predict_file(path, image), None
        identity = self.model_identity() if self.cache is not None else None
        digest = None
        if identity:
            from crackinspector.core.io.cache import file_digest

            digest = file_digest(path)
            hit = self.cache.get(digest, identity)
            if hit is not None and hit.probability.shape == image.shape[:2]:
                return hit.probability.astype(np.float32) / 65535.0, None
        start = time.perf_counter()
        prob = self.source.predict(image, progress=on_tiles, cancel=self.cancel)
        pending = (digest, identity, time.perf_counter() - start) if identity and digest else None
        return prob, pending

    def finish(self, rec: ImageRecord, job: ImageJob, image, prob, to_cache, start: float) -> None:
        """Analyse one photo and write its files (on the writer thread when overlapping)."""
        if to_cache is not None:
            with contextlib.suppress(OSError):  # a full cache never fails a run
                self.cache.put(to_cache[0], to_cache[1], prob, to_cache[2])
        settings = replace(self.s.analysis, mm_per_px=job.mm_per_px)
        photo = np.asarray(image)
        edited = reviewed_mask(job.review, photo.shape)
        # widths from the photo; a person's mask (corrected, false alarm) replaces the map's
        measurement = analyse(prob, settings, mask=edited, image=photo)
        rec.measurement = measurement
        rec.seconds = time.perf_counter() - start
        rec.exported = measurement.n_cracks > 0 or not self.s.only_cracked
        if not rec.exported:
            return
        overlay = None
        if "overlay" in self.s.files or self.s.figures:
            overlay = render_overlay(np.asarray(image), measurement).image
            if self.s.figures:
                rec.figure = figure_jpeg(overlay)
        mine: list[Path] = []
        try:
            for kind in FILE_KINDS:
                template = self.s.files.get(kind)
                if template is None:
                    continue
                rel = template.format(key=rec.key)
                make = functools.partial(self.encode, kind, rel, overlay, measurement, prob)
                if self.writer.write(rel, make):
                    mine.append(self.writer.out_dir / rel)
                rec.files[kind] = rel
        except WriteFailed:
            # nothing half-written: a photo whose files could not all be written keeps none
            for path in mine:
                with contextlib.suppress(OSError):
                    path.unlink()
                self.writer.written.remove(path)
            rec.files.clear()
            raise

    def encode(self, kind: str, rel: str, overlay, measurement: ImageMeasurement, prob) -> bytes:
        suffix = Path(rel).suffix
        if kind == "overlay":
            return encode_image(overlay, suffix, quality=self.s.jpeg_quality)
        if kind == "mask":
            return encode_image((measurement.labels > 0).astype(np.uint8) * 255, suffix)
        return encode_image(prob if prob.dtype == np.uint16 else to_u16(prob), suffix)

    def run(self, jobs: Sequence[ImageJob]) -> EngineResult:
        result = EngineResult(self.writer.out_dir)
        total = len(jobs)
        decoder, post = _executor(self.s.overlap, "decode"), _executor(self.s.overlap, "write")
        pending: tuple[ImageRecord, Future[None]] | None = None

        def settle() -> None:
            nonlocal pending
            if pending is not None:
                rec, future = pending
                pending = None
                try:
                    future.result()
                except Cancelled:
                    if rec.measurement is None:  # not analysed: not part of any result
                        result.records.remove(rec)
                    raise
                except WriteFailed:
                    raise
                except Exception as exc:  # analysing or rendering this photo failed
                    rec.status, rec.error = "failed", input_reason(exc, rec.path)
                    rec.measurement = None
                self.on_record(rec)

        try:
            upcoming = decoder.submit(read_image, jobs[0].photo.path) if jobs else None
            for i, job in enumerate(jobs):
                if self.cancel():
                    raise Cancelled("cancelled")
                path = job.photo.path
                self.progress(Progress(i, total, "image", path, i / (total + 1)))
                rec = ImageRecord(path, job.photo.key, calibration_source=job.calibration_source,
                                  index=job.photo.index,
                                  review=review_fields(job.review))  # fmt: skip
                decoded, upcoming = (
                    upcoming,
                    (decoder.submit(read_image, jobs[i + 1].photo.path) if i + 1 < total else None),
                )

                def on_tiles(done: int, n: int, i: int = i, path: Path = path) -> None:
                    frac = (i + (done / n if n else 0.0)) / (total + 1)
                    self.progress(Progress(i, total, "image", path, frac))

                start = time.perf_counter()
                try:
                    assert decoded is not None
                    image = decoded.result()
                    prob, to_cache = self.probability(path, image, on_tiles)
                except Cancelled:
                    raise
                except Exception as exc:  # one bad photo never stops the batch
                    settle()
                    rec.status, rec.error = "failed", input_reason(exc, path)
                    result.records.append(rec)
                    self.on_record(rec)
                    continue
                settle()
                result.records.append(rec)
                pending = (rec, post.submit(self.finish, rec, job, image, prob, to_cache, start))
                decoded = None  # the writer thread holds the photo and its map now
                del image, prob
            settle()
        except Cancelled:
            result.cancelled = True
            try:  # the photo being written when the cancel came is kept when it completed
                settle()
            except Cancelled:
                pass
            except WriteFailed as exc:
                result.fatal_error = str(exc.problem)
        except WriteFailed as exc:
            result.fatal_error = str(exc.problem)
        finally:
            for pool in (decoder, post):
                pool.shutdown(wait=True, cancel_futures=True)
            result.written, result.skipped = self.writer.written, self.writer.skipped
        return result


def run_images(
    jobs: Sequence[ImageJob],
    source: ProbabilitySource | MaskFolderSource,
    settings: EngineSettings,
    writer: OutputWriter,
    progress: Callable[[Progress], None] | None = None,
    cancel: CancelFn | None = None,
    cache: Any | None = None,
    on_record: Callable[[ImageRecord], None] | None = None,
) -> EngineResult:
    """Analyse `jobs` in order, writing each photo's files through `writer`.

    `on_record(record)` is called on the calling thread, in input order, as soon as a
    photo is final (analysed and written, or failed): `predict` rewrites its summary there.
    """
    return _Engine(source, settings, writer, progress, cancel, cache, on_record).run(jobs)
