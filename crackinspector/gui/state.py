"""The application state: the one owner of what the window shows.

`AppState` holds the open folder, its image list, the image on screen, the threshold, the
model, the analysis settings (minimum crack size, severity scale), the calibration of each
photo, the inference options (device, backend, precision, threads, test-time
augmentation) and, next, each photo's review status. Views get the state in their
constructor, read it, and listen to its signals; none of them keeps a copy of these values.
Setters emit only when a value really changes, so views can refresh on every signal.

`analysis_settings(path)` is the one recipe for the inputs of
`crackinspector.core.analysis.analyse.analyse` for a photo (threshold, minimum area,
calibration, severity scale); the measurements dock, the current-image panel, the
thumbnail badges and the export dialog all use it, so their numbers agree.

Review status (issue 10): opening a folder opens its inspection store
(core.review.open_store); `store` is it (None without a folder or when it cannot be
opened; `store_problem` says why), `review(path)` the photo's PhotoReview,
`review_status(path)` the status that counts (a changed photo is unreviewed again),
`set_review_status` / `set_review_note` record decisions and emit `review_changed`.
A read-only store (another window has the folder) has `read_only_reason` set. Calibration
and a custom severity table come from the store when there is one (`set_custom_severity`);
`min_confidence` joins `min_area_px` as an analysis filter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from crackinspector.core.analysis.analyse import AnalysisSettings
from crackinspector.core.analysis.calibration import (
    Calibration,
    CalibrationLookup,
    load_calibration,
    save_calibration,
)
from crackinspector.core.analysis.measure import DEFAULT_MIN_AREA_PX
from crackinspector.core.analysis.severity import PRESETS, SeverityScale, default_scale
from crackinspector.core.errors import CrackInspectorError
from crackinspector.core.infer.options import InferenceOptions
from crackinspector.core.model.registry import ModelInfo
from crackinspector.core.review import InspectionStore, PhotoReview, ReviewSummary, open_store
from crackinspector.core.review.flow import effective_status
from crackinspector.core.review.records import UNREVIEWED

SEVERITY_CHOICES = ("auto", "custom", *PRESETS)
__all__ = ["SEVERITY_CHOICES", "UNREVIEWED", "AppState"]


class AppState(QObject):
    """See the module docstring. Paths are kept exactly as listed (no resolving)."""

    folder_changed = Signal(object)  # Path | None
    images_changed = Signal(list)  # list[Path], the folder's images in order
    current_changed = Signal(object)  # Path | None
    threshold_changed = Signal(float)
    model_changed = Signal(object)  # ModelInfo | None
    calibration_changed = Signal(object)  # Path of the photo whose scale changed
    settings_changed = Signal()  # minimum area or severity scale
    inference_changed = Signal(object)  # InferenceOptions (model field unused)
    review_changed = Signal(object)  # Path whose review status changed
    store_changed = Signal(object)  # InspectionStore | None (a folder opened or closed)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._folder: Path | None = None
        self._images: list[Path] = []
        self._index: dict[Path, int] = {}
        self._current: Path | None = None
        self._threshold = 0.5
        self._model: ModelInfo | None = None
        self._min_area_px = DEFAULT_MIN_AREA_PX
        self._severity = "auto"
        self._inference = InferenceOptions()
        self._calibration = CalibrationLookup()
        self._min_confidence = 0.0
        self._custom_severity: SeverityScale | None = None
        self._store: InspectionStore | None = None
        self._reviews: dict[Path, PhotoReview] = {}
        self.store_problem = ""

    # ------------------------------------------------------------------ folder and images
    @property
    def folder(self) -> Path | None:
        return self._folder

    @property
    def images(self) -> list[Path]:
        return list(self._images)

    def row_of(self, path: Path | None) -> int:
        return self._index.get(path, -1) if path is not None else -1

    def set_folder(self, folder: Path | None, images: Sequence[Path]) -> None:
        """A new folder and its images; the current image becomes None (callers pick one)."""
        self.set_current(None)
        self._folder = folder
        self._images = list(images)
        self._index = {p: i for i, p in enumerate(self._images)}
        self._calibration = CalibrationLookup()  # re-read calibration files
        self._open_store(folder)
        self.folder_changed.emit(folder)
        self.images_changed.emit(self.images)

    # ------------------------------------------------------------------ current image
    @property
    def current(self) -> Path | None:
        return self._current

    def set_current(self, path: Path | None) -> None:
        if path is not None and path not in self._index:
            raise ValueError(f"{path} is not in the open folder")
        if path == self._current:
            return
        self._current = path
        self.current_changed.emit(path)

    def step(self, delta: int) -> None:
        """Move the current image by `delta` rows, clamped to the list."""
        if not self._images:
            return
        row = self.row_of(self._current)
        self.set_current(self._images[min(max(row + delta, 0), len(self._images) - 1)])

    # ------------------------------------------------------------------ threshold and model
    @property
    def threshold(self) -> float:
        return self._threshold

    def set_threshold(self, value: float) -> None:
        value = round(min(max(float(value), 0.001), 0.999), 3)
        if value == self._threshold:
            return
        self._threshold = value
        self.threshold_changed.emit(value)

    @property
    def model(self) -> ModelInfo | None:
        return self._model

    def set_model(self, info: ModelInfo | None) -> None:
        same = (info is None and self._model is None) or (
            info is not None
            and self._model is not None
            and info.weights_path == self._model.weights_path
            and info.identity == self._model.identity
        )
        if same:
            return
        self._model = info
        self.model_changed.emit(info)

    # ------------------------------------------------------------------ inference options
    @property
    def inference(self) -> InferenceOptions:
        return self._inference

    def set_inference(self, options: InferenceOptions) -> None:
        """New device, backend, precision, threads or tta (`options.model` is ignored)."""
        updated = replace(options, model=None)
        if updated == self._inference:
            return
        self._inference = updated
        self.inference_changed.emit(updated)

    def inference_options(self) -> InferenceOptions:
        """The options for a Predictor of the current model."""
        model = self._model.weights_path if self._model is not None else None
        return replace(self._inference, model=model)

    # ------------------------------------------------------------------ analysis settings
    @property
    def min_area_px(self) -> int:
        return self._min_area_px

    def set_min_area_px(self, value: int) -> None:
        value = max(1, int(value))
        if value != self._min_area_px:
            self._min_area_px = value
            self.settings_changed.emit()

    @property
    def min_confidence(self) -> float:
        """Cracks with a lower mean probability along their skeleton are left out."""
        return self._min_confidence

    def set_min_confidence(self, value: float) -> None:
        value = round(min(max(float(value), 0.0), 1.0), 3)
        if value != self._min_confidence:
            self._min_confidence = value
            self.settings_changed.emit()

    @property
    def severity(self) -> str:
        """'auto' (concrete if calibrated, else pixels), 'custom' (the inspection's own
        table, as 'auto' while it has none) or a preset name."""
        return self._severity

    def set_severity(self, choice: str) -> None:
        if choice not in SEVERITY_CHOICES:
            raise ValueError(f"unknown severity scale {choice!r}")
        if choice != self._severity:
            self._severity = choice
            self.settings_changed.emit()

    @property
    def custom_severity(self) -> SeverityScale | None:
        """The inspection's own class table (the store's), None when it has none."""
        return self._custom_severity

    def set_custom_severity(self, scale: SeverityScale | None) -> None:
        """Save the class table with the inspection and use it ('custom'); None drops it."""
        if self._store is not None and not self._store.read_only:
            self._store.set_severity(scale)
        self._custom_severity = scale
        if scale is None and self._severity == "custom":
            self._severity = "auto"
        elif scale is not None:
            self._severity = "custom"
        self.settings_changed.emit()

    def severity_scale(self, calibrated: bool) -> SeverityScale:
        """The scale in use for a photo; a mm scale falls back to pixels when uncalibrated."""
        if self._severity == "auto" or (
            self._severity == "custom" and self._custom_severity is None
        ):  # 'custom' without a table in this inspection: as 'auto'
            return default_scale(calibrated)
        if self._severity == "custom" and self._custom_severity is not None:
            scale = self._custom_severity
        else:
            scale = PRESETS.get(self._severity, PRESETS["pixels"])
        return scale if calibrated or scale.unit != "mm" else PRESETS["pixels"]

    def mm_per_px(self, path: Path) -> float | None:
        """The photo's calibration (its own, else its folder's), None when uncalibrated."""
        if self._store is not None and path in self._index:
            try:
                cal, _source = self._store.calibration_for(path)
            except CrackInspectorError:
                cal = None
            if cal is not None:
                return cal.mm_per_px
        try:
            return self._calibration.lookup(path)[0]
        except CrackInspectorError:
            return None

    def analysis_settings(self, path: Path) -> AnalysisSettings:
        """The inputs of analyse() for `path` besides its pixels (see the module docstring)."""
        mm = self.mm_per_px(path)
        return AnalysisSettings(
            threshold=self._threshold,
            min_area_px=self._min_area_px,
            min_confidence=self._min_confidence,
            mm_per_px=mm,
            severity=self.severity_scale(bool(mm)),
        )

    def save_calibration(
        self, path: Path, calibration: Calibration | None, scope: str = "image"
    ) -> float | None:
        """Store (None removes) the scale of `path` or of its whole folder; returns the
        photo's scale now. Raises CrackInspectorError (one line) when it cannot be saved.
        With an inspection store open (writable) the scale goes there, else into the
        folder's calibration.json."""
        store = self._store
        if store is not None and path in self._index:
            if store.read_only:
                raise CrackInspectorError(f"{store.folder}: {store.read_only_reason}")
            if scope == "folder":
                store.set_folder_calibration(calibration)
            else:
                store.set_photo_calibration(path, calibration)
            self.calibration_changed.emit(path)
            return self.mm_per_px(path)
        folder_cal = load_calibration(path.parent)
        if scope == "folder":
            folder_cal.default = calibration
        else:
            folder_cal.set_image(path, calibration)
        save_calibration(folder_cal)
        self._calibration = CalibrationLookup()
        self.calibration_changed.emit(path)
        return self.mm_per_px(path)

    # ------------------------------------------------------------------ review (issue 10)
    @property
    def store(self) -> InspectionStore | None:
        return self._store

    def _open_store(self, folder: Path | None) -> None:
        self.close_store()
        self.store_problem = ""
        if folder is not None:
            try:
                self._store = open_store(folder)
            except CrackInspectorError as exc:
                self.store_problem = str(exc)
        store = self._store
        if store is not None:
            known = {r.key: r for r in store.photos()}
            keys = {p: store.key(p) for p in self._images}
            self._reviews = {p: known[k] for p, k in keys.items() if k in known}
            self._custom_severity = store.severity()
            if self._custom_severity is not None:
                self._severity = "custom"
        self.store_changed.emit(self._store)

    def close_store(self) -> None:
        """Flush and close the inspection store (closing the window, another folder)."""
        if self._store is not None:
            self._store.close()
        self._store = None
        self._reviews = {}
        self._custom_severity = None

    def review(self, path: Path) -> PhotoReview | None:
        """The stored review of a photo of the open folder (None: never reviewed)."""
        return self._reviews.get(path)

    def review_status(self, path: Path) -> str:
        return effective_status(self._reviews.get(path))

    def _reviewed(self, path: Path, review: PhotoReview) -> None:
        self._reviews[path] = review
        self.review_changed.emit(path)

    def _writable_store(self) -> InspectionStore:
        if self._store is None:
            raise CrackInspectorError(self.store_problem or "no inspection open")
        if self._store.read_only:
            raise CrackInspectorError(f"{self._store.folder}: {self._store.read_only_reason}")
        return self._store

    def set_review_status(self, path: Path, status: str, note: str | None = None) -> None:
        """Record a decision on `path` (with the model and threshold it was made on).
        Raises CrackInspectorError (one line) when the store cannot take it."""
        store = self._writable_store()
        model = self._model.name if self._model is not None else None
        review = store.set_status(path, status, note=note, model=model, threshold=self._threshold)
        self._reviewed(path, review)

    def set_review_note(self, path: Path, note: str) -> None:
        self._reviewed(path, self._writable_store().set_note(path, note))

    def refresh_review(self, path: Path) -> None:
        """Re-read a photo's review after the store changed it (an edit saved a mask)."""
        if self._store is not None:
            self._reviewed(path, self._store.photo(path))

    def review_summary(self) -> ReviewSummary:
        """Review progress over the open folder's images ("37 of 120 reviewed")."""
        counts: dict[str, int] = {}
        for path in self._images:
            status = self.review_status(path)
            counts[status] = counts.get(status, 0) + 1
        changed = sum(1 for p in self._images if (r := self._reviews.get(p)) and r.changed)
        return ReviewSummary(len(self._images), counts, changed)
