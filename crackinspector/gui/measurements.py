"""The numbers of each analysed image, from the one analysis function, off the GUI thread.

`Measurements` runs `crackinspector.core.analysis.analyse.analyse(probability,
state.analysis_settings(path), image=photo)` for every image with a result (the photo
decoded as the export decodes it: widths come from its intensity profile), in a one-thread
task runner (gui/tasks.py), the image on screen first. The measurements dock, the
current-image panel and the thumbnail badges all read from here, and the export dialog is
given the same settings, so the count, area and widths shown for a photo are the same
everywhere.

The full ImageMeasurement (crack list, label image) is kept for the image on screen; for
the others a small `Summary` (what a badge shows). When the threshold, minimum area,
severity scale or a calibration change, the image on screen is measured again at once and
the others shortly after (`REFRESH_MS`), from the results still in memory.

Edited masks (review, issue 10): `set_edited_mask(path, mask)` makes every later
measurement of `path` use `analyse(probability, settings, mask=mask)` and re-measures it
at once (latest wins); the mask is copied when a measurement starts, so the editor may
keep painting into it. None goes back to the model's thresholded mask.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from crackinspector.core.analysis.analyse import AnalysisSettings, analyse
from crackinspector.core.analysis.measure import ImageMeasurement
from crackinspector.core.io.imageio import read_image

from .results import AnalysisResult
from .state import AppState
from .tasks import TaskRunner, one_line

PHOTOS_KEPT = 2  # decoded photos kept for re-measuring (a 24 MP photo is 72 MB)
REFRESH_MS = 250  # images off screen are re-measured when the slider rests this long
CURRENT_PRIORITY = 10


@dataclass(frozen=True)
class Summary:
    """What a thumbnail badge and a list row show for one image."""

    n_cracks: int
    crack_area_pct: float
    max_width_px: float
    max_width_mm: float | None
    settings: AnalysisSettings

    @classmethod
    def of(cls, m: ImageMeasurement, settings: AnalysisSettings) -> Summary:
        return cls(m.n_cracks, m.crack_area_pct, m.max_width_px, m.max_width_mm, settings)

    def badge(self) -> str:
        return f"{self.n_cracks} · {self.crack_area_pct:.2f} %"

    def text(self) -> str:
        width = f"{self.max_width_px:.1f} px"
        if self.max_width_mm is not None:
            width += f" ({self.max_width_mm:.2f} mm)"
        return f"{self.n_cracks} crack(s), {self.crack_area_pct:.2f} % area, max width {width}"


@lru_cache(maxsize=PHOTOS_KEPT)
def _photo(path: Path, stamp: tuple[int, int]) -> np.ndarray:
    return read_image(path)


def photo_for_widths(path: Path) -> np.ndarray:
    """The photo as the export decodes it (widths are measured on its intensity profile);
    the last few are kept, so moving the threshold does not decode them again."""
    st = path.stat()
    return _photo(path, (st.st_size, st.st_mtime_ns))


def measure(
    path: Path,
    probability: np.ndarray,
    settings: AnalysisSettings,
    mask: np.ndarray | None = None,
) -> ImageMeasurement:
    """The task's work: one call of the shared analysis function, with the photo, as the
    export does, so the widths agree too."""
    return analyse(probability, settings, mask=mask, image=photo_for_widths(path))


class Measurements(QObject):
    """See the module docstring."""

    measured = Signal(object)  # Path whose numbers changed (or were dropped)
    failed = Signal(object, str)  # Path, one-line reason

    def __init__(
        self,
        state: AppState,
        results: Callable[[Path], AnalysisResult | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.state = state
        self._results = results
        self.runner = TaskRunner("measure", threads=1, low_priority=True, parent=self)
        self._summaries: dict[Path, Summary] = {}
        self._full: dict[Path, ImageMeasurement] = {}
        self._masks: dict[Path, tuple[int, np.ndarray]] = {}  # edited masks, with a version
        self._measured_version: dict[Path, int] = {}
        self._mask_versions = 0
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(REFRESH_MS)
        self._refresh.timeout.connect(self._refresh_others)
        state.threshold_changed.connect(lambda _t: self._settings_changed())
        state.settings_changed.connect(self._settings_changed)
        state.calibration_changed.connect(lambda _p: self._settings_changed())
        state.current_changed.connect(self._on_current)
        state.images_changed.connect(self._forget)
        state.model_changed.connect(lambda _m: self._drop_all())

    # ------------------------------------------------------------------ queries
    def summary(self, path: Path) -> Summary | None:
        return self._summaries.get(path)

    def measurement(self, path: Path | None) -> ImageMeasurement | None:
        """The full measurement of `path` at the state's settings (the image on screen)."""
        return self._full.get(path) if path is not None else None

    def busy(self) -> bool:
        return self.runner.busy()

    def wait(self, timeout_ms: int = 30_000) -> bool:
        return self.runner.wait(timeout_ms)

    # ------------------------------------------------------------------ inputs
    def add_result(self, result: AnalysisResult) -> None:
        """A probability map arrived (slot for AnalysisController.result_ready)."""
        self._measure(result)

    def set_edited_mask(self, path: Path, mask: np.ndarray | None) -> None:
        """`path` is measured from `mask` from now on (None: from the model's map again)."""
        if mask is None:
            if self._masks.pop(path, None) is None:
                return
        else:
            self._mask_versions += 1
            self._masks[path] = (self._mask_versions, mask)
        result = self._results(path)
        if result is not None:
            self._measure(result)

    def edited_mask(self, path: Path) -> np.ndarray | None:
        entry = self._masks.get(path)
        return entry[1] if entry is not None else None

    def shutdown(self) -> None:
        self._refresh.stop()
        self.runner.shutdown()

    # ------------------------------------------------------------------ internals
    def _measure(self, result: AnalysisResult) -> None:
        path = result.path
        settings = self.state.analysis_settings(path)
        summary = self._summaries.get(path)
        version, mask = self._masks.get(path, (0, None))
        if (
            summary is not None
            and summary.settings == settings
            and self._measured_version.get(path, 0) == version
            and (path != self.state.current or path in self._full)
        ):
            return
        self.runner.start(
            measure,
            path,
            result.probability,
            settings,
            None if mask is None else mask.copy(),
            key=path,
            priority=CURRENT_PRIORITY if path == self.state.current else 0,
            on_returned=lambda m: self._done(path, settings, m, version),
            on_errored=lambda exc: self.failed.emit(path, one_line(exc)),
        )

    def _done(
        self, path: Path, settings: AnalysisSettings, m: ImageMeasurement, version: int = 0
    ) -> None:
        self._summaries[path] = Summary.of(m, settings)
        self._measured_version[path] = version
        if path == self.state.current:
            self._full = {path: m}
        self.measured.emit(path)

    def _on_current(self, path: Path | None) -> None:
        self._full = {}  # only the image on screen keeps its crack list
        if path is None:
            return
        result = self._results(path)
        if result is not None:
            self._measure(result)

    def _settings_changed(self) -> None:
        current = self.state.current
        self.runner.cancel()
        if current is not None:
            result = self._results(current)
            if result is not None:
                self._measure(result)
        self._refresh.start()

    def _refresh_others(self) -> None:
        for path in self.state.images:
            if path == self.state.current:
                continue
            result = self._results(path)
            if result is not None:
                self._measure(result)
            elif self._summaries.pop(path, None) is not None:
                self.measured.emit(path)  # no longer in memory: no badge until it is back

    def _forget(self, paths: list[Path]) -> None:
        keep = set(paths)
        self.runner.cancel()
        self._summaries = {p: s for p, s in self._summaries.items() if p in keep}
        self._masks = {p: m for p, m in self._masks.items() if p in keep}
        self._full = {}

    def _drop_all(self) -> None:
        self.runner.cancel()
        dropped = list(self._summaries)
        self._summaries.clear()
        self._full = {}
        for path in dropped:
            self.measured.emit(path)
