"""From an analysis result and the view settings to the viewer's layer pixmaps.

The threshold is applied here, on the GUI thread, to the cached uint16 probability map: one
numpy comparison plus one indexed-image conversion, so moving the slider re-draws at once
with no new inference. Layers that are hidden are not rendered until shown. Things that are
slower on big images and not needed at every slider step (segment count, the
`mask_settled` notification for measurement panels) wait until the slider rests.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from . import layers
from .results import AnalysisResult
from .viewer import ImageViewer

SETTLE_MS = 150


class OverlayPresenter(QObject):
    """Keeps the viewer's layers in step with the current result and the layer settings."""

    mask_settled = Signal(object, object, float)  # AnalysisResult, bool mask (H, W), threshold
    segments_changed = Signal(int)

    def __init__(self, viewer: ImageViewer, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.viewer = viewer
        self.result: AnalysisResult | None = None
        self.threshold = 0.5
        self.colors = {"mask": "#ff2d55", "outlines": "#ffd60a"}
        self.visible = {"mask": True, "heatmap": False, "outlines": False}
        self.opacity = {"mask": 0.6, "heatmap": 0.7, "outlines": 1.0}
        self._mask: np.ndarray | None = None
        self._rendered: set[str] = set()
        self.segments: int | None = None
        self.render_count = 0  # how many times the mask layer was rebuilt (tests read it)
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self._settled)
        for name in self.visible:
            viewer.set_layer_visible(name, self.visible[name])
            viewer.set_layer_opacity(name, self.opacity[name])

    # ----------------------------------------------------------------- inputs
    def set_result(self, result: AnalysisResult | None) -> None:
        self.result = result
        self._invalidate({"mask", "heatmap", "outlines"})

    def set_threshold(self, threshold: float) -> None:
        if threshold == self.threshold and self._mask is not None:
            return
        self.threshold = threshold
        self._invalidate({"mask", "outlines"})

    def set_color(self, name: str, color: str) -> None:
        self.colors[name] = color
        self._rendered.discard(name)
        self._render_visible()

    def set_layer_visible(self, name: str, on: bool) -> None:
        self.visible[name] = on
        self.viewer.set_layer_visible(name, on)
        self._render_visible()

    def set_opacity(self, name: str, value: float) -> None:
        self.opacity[name] = value
        self.viewer.set_layer_opacity(name, value)  # no re-render: item opacity only

    # ----------------------------------------------------------------- outputs
    def mask(self) -> np.ndarray | None:
        """The crack mask at the current threshold (None before a result arrives)."""
        if self.result is None:
            return None
        if self._mask is None:
            self._mask = layers.crack_mask(self.result.probability, self.threshold)
        return self._mask

    def crack_fraction(self) -> float | None:
        return None if self.result is None else self.result.crack_fraction(self.threshold)

    # ----------------------------------------------------------------- internals
    def _invalidate(self, names: set[str]) -> None:
        self._mask = None
        self.segments = None
        self._rendered -= names
        for name in names:
            if self.result is None:
                self.viewer.set_layer(name, None)
        self._render_visible()
        if self.result is not None:
            self._settle.start()

    def _render_visible(self) -> None:
        if self.result is None:
            return
        for name, on in self.visible.items():
            if on and name not in self._rendered:
                self.viewer.set_layer(name, self._render(name))
                self._rendered.add(name)
            elif not on and name not in self._rendered:
                self.viewer.set_layer(name, None)  # stale content must not flash on re-show

    def _render(self, name: str):
        assert self.result is not None
        if name == "heatmap":
            return layers.heatmap_pixmap(self.result.probability)
        mask = self.mask()
        if name == "mask":
            self.render_count += 1
            return layers.mask_pixmap(mask, self.colors["mask"])
        return layers.mask_pixmap(layers.outline_mask(mask), self.colors["outlines"])

    def _settled(self) -> None:
        mask = self.mask()
        if mask is None or self.result is None:
            return
        self.segments = layers.count_segments(mask)
        self.segments_changed.emit(self.segments)
        self.mask_settled.emit(self.result, mask, self.threshold)

    def settle_now(self) -> None:
        """Run the delayed work immediately (screenshots, tests, exports)."""
        if self._settle.isActive():
            self._settle.stop()
        self._settled()
