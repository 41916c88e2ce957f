"""From an analysis result and the view settings to the viewer's layer pixmaps.

The threshold is applied here to the cached uint16 probability map, so moving the slider
re-draws at once with no new inference. Hidden layers are not rendered until shown; opacity
is the graphics item's and never re-renders anything.

Small photos (up to results.PREVIEW_PIXELS) are rendered synchronously at full size: one
numpy comparison and one indexed->ARGB conversion, a few ms.

Big photos have a max-pooled preview map. Every change draws the layers from it at once
(~5 ms on a 24 MP photo). When the slider rests (SETTLE_MS), and if the zoom shows more
detail than the preview has, full-size layers are computed in a background task
(fullres.render, latest wins) and swapped in.

The threshold is the application state's; the presenter only draws. The numbers of the
image (cracks, area, widths) are not computed here: see gui/measurements.py.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QTimer

from crackinspector.core.analysis.analyse import threshold_mask

from . import layers
from .fullres import FullResJob, FullResOutput, render
from .results import AnalysisResult
from .state import AppState
from .tasks import TaskRunner
from .viewer import ImageViewer

SETTLE_MS = 150
LAYER_NAMES = ("mask", "heatmap", "outlines")


class OverlayPresenter(QObject):
    """Keeps the viewer's layers in step with the current result and the layer settings."""

    def __init__(self, viewer: ImageViewer, state: AppState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.viewer = viewer
        self.state = state
        self.result: AnalysisResult | None = None
        self.colors = {"mask": "#ff2d55", "outlines": "#ffd60a"}
        self.visible = {"mask": True, "heatmap": False, "outlines": False}
        self.opacity = {"mask": 0.6, "heatmap": 0.7, "outlines": 1.0}
        self.render_count = 0  # mask layer rebuilds, any resolution (tests read it)
        self._mask: np.ndarray | None = None  # full size, at self.threshold
        self._preview_mask: np.ndarray | None = None
        self._drawn: dict[str, int] = {}  # layer -> factor it is drawn at (1 = full size)
        self._buffers: dict[str, np.ndarray] = {}  # numpy memory behind shared pixmaps
        self.renderer = TaskRunner("layers", threads=1, parent=self)
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self._request_full_layers)
        self._zoom_timer = QTimer(self)
        self._zoom_timer.setSingleShot(True)
        self._zoom_timer.setInterval(SETTLE_MS)
        self._zoom_timer.timeout.connect(self._request_full_layers)
        viewer.zoom_changed.connect(lambda _: self._zoom_timer.start())
        for name in self.visible:
            viewer.set_layer_visible(name, self.visible[name])
            viewer.set_layer_opacity(name, self.opacity[name])
        state.threshold_changed.connect(lambda _t: self._invalidate({"mask", "outlines"}))

    @property
    def threshold(self) -> float:
        return self.state.threshold

    # ----------------------------------------------------------------- inputs
    def set_result(self, result: AnalysisResult | None) -> None:
        self.result = result
        self._invalidate(set(LAYER_NAMES))

    def set_color(self, name: str, color: str) -> None:
        self.colors[name] = color
        self.renderer.cancel()  # a full-size render in flight has the old colour
        self._drawn.pop(name, None)
        self._render_visible()
        self._zoom_timer.start()

    def set_layer_visible(self, name: str, on: bool) -> None:
        self.visible[name] = on
        self.viewer.set_layer_visible(name, on)
        self._render_visible()
        if on:
            self._zoom_timer.start()

    def set_opacity(self, name: str, value: float) -> None:
        self.opacity[name] = value
        self.viewer.set_layer_opacity(name, value)

    def shutdown(self) -> None:
        self._settle.stop()
        self._zoom_timer.stop()
        self.renderer.shutdown()

    # ----------------------------------------------------------------- outputs
    def mask(self) -> np.ndarray | None:
        """The full-size crack mask at the current threshold (None without a result)."""
        if self.result is None:
            return None
        if self._mask is None:
            self._mask = threshold_mask(self.result.probability, self.threshold)
        return self._mask

    def drawn_factor(self, name: str) -> int | None:
        """1 when a layer shows full size, the preview factor when it shows the preview."""
        return self._drawn.get(name)

    @property
    def big(self) -> bool:
        return self.result is not None and self.result.preview is not None

    def settle_now(self) -> None:
        """Do the delayed work now, synchronously (screenshots, tests)."""
        self._settle.stop()
        self._zoom_timer.stop()
        self.renderer.cancel()
        if self.result is not None and self.big:
            job = self._full_job()
            if job.luts:
                self._apply_full(job, render(job))

    # ----------------------------------------------------------------- drawing
    def _set_layer(self, name: str, pixmap, factor: int, buffer: np.ndarray | None) -> None:
        self.viewer.set_layer(name, pixmap, factor)
        if buffer is None:  # the old buffer may be released only after the pixmap is replaced
            self._buffers.pop(name, None)
        else:
            self._buffers[name] = buffer
        if pixmap is None:
            self._drawn.pop(name, None)
        else:
            self._drawn[name] = factor

    def _invalidate(self, names: set[str]) -> None:
        self.renderer.cancel()  # a full-size render in flight is for the old state
        self._mask = None
        self._preview_mask = None
        for name in names:
            self._drawn.pop(name, None)
            if self.result is None:
                self._set_layer(name, None, 1, None)
        self._render_visible()
        if self.result is not None:
            self._settle.start()

    def _wanted_factor(self) -> int:
        """Preview while a screen pixel covers at least one preview pixel, else full size."""
        r = self.result
        if r is None or r.preview is None:
            return 1
        return r.preview_factor if self.viewer.zoom() * r.preview_factor <= 1.0001 else 1

    def _render_visible(self) -> None:
        """Draw visible layers that are missing (preview for big photos, else full size)."""
        if self.result is None:
            return
        factor = self.result.preview_factor if self.big else 1
        for name, on in self.visible.items():
            if name in self._drawn:
                continue
            if not on:
                self._set_layer(name, None, 1, None)  # stale content must not flash on re-show
                continue
            self._set_layer(name, self._render(name, factor), factor, None)

    def _render(self, name: str, factor: int):
        assert self.result is not None
        if factor == 1:
            probability, mask = self.result.probability, self.mask()
        else:
            probability = self.result.preview
            if self._preview_mask is None:
                self._preview_mask = threshold_mask(probability, self.threshold)
            mask = self._preview_mask
        if name == "heatmap":
            return layers.heatmap_pixmap(probability)
        if name == "mask":
            self.render_count += 1
            return layers.mask_pixmap(mask, self.colors["mask"])
        return layers.mask_pixmap(layers.outline_mask(mask), self.colors["outlines"])

    # ----------------------------------------------------------------- full size (big photos)
    def _full_job(self) -> FullResJob:
        assert self.result is not None
        luts = {}
        if self._wanted_factor() == 1:
            for name, on in self.visible.items():
                if on and self._drawn.get(name) != 1:
                    table = layers.HEAT_TABLE if name == "heatmap" else None
                    if table is None:
                        table = layers.mask_table(self.colors[name])
                    luts[name] = layers.bgra_lut(table)
        return FullResJob(self.result.probability, self.threshold, luts)

    def _request_full_layers(self) -> None:
        if not self.big or self._settle.isActive():
            return  # small photos are full size already; a pending settle will ask anyway
        job = self._full_job()
        if job.luts:
            self.renderer.start(
                render, job, key="full", on_returned=lambda out: self._apply_full(job, out)
            )

    def _apply_full(self, job: FullResJob, out: FullResOutput) -> None:
        # a job outdated by a change was cancelled (latest wins): this one is current
        if self.result is None or job.probability is not self.result.probability:
            return
        self._mask = out.mask
        for name, bgra in out.bgra.items():
            if self.visible.get(name):
                self._set_layer(name, layers.shared_pixmap(bgra), 1, bgra)
