"""The model selector: registry models plus any the user added from a file.

Each item carries its ModelInfo; the tooltip shows the card's metrics so choosing between
models is informed. Models are compared by weights path, so re-listing after a model is
added or retrained keeps the selection.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QWidget

from crackinspector.core.model.registry import ModelInfo, list_models, resolve


def model_tooltip(info: ModelInfo) -> str:
    card = info.card
    lines = [
        f"{info.name}  (v{card.version}, {info.source})",
        f"U-Net, {card.encoder} encoder, {card.tile_size} px tiles, threshold {card.threshold:g}",
        card.summary_metrics(),
        str(info.weights_path),
    ]
    if card.description:
        lines.insert(1, card.description)
    return "\n".join(lines)


def same_model(a: ModelInfo | None, b: ModelInfo | None) -> bool:
    if a is None or b is None:
        return a is b
    try:
        return a.weights_path.resolve() == b.weights_path.resolve()
    except OSError:
        return a.weights_path == b.weights_path


class ModelPicker(QComboBox):
    """Combo of models; emits `model_chosen` with the ModelInfo (or None when empty)."""

    model_chosen = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.setMinimumContentsLength(14)
        self.setAccessibleName("Model")
        self.setToolTip("Model used for analysis")
        self._extra: list[ModelInfo] = []
        self.currentIndexChanged.connect(self._changed)

    def refresh(self, extra_paths: list[str] | None = None) -> list[str]:
        """Re-list the registry plus `extra_paths` (weights files); returns the problems."""
        problems = []
        for text in extra_paths or []:
            try:
                info = resolve(Path(text))
            except Exception as exc:  # a moved or broken file is listed as a problem only
                problems.append(str(exc))
                continue
            if not any(same_model(info, m) for m in self._extra):
                self._extra.append(info)
        current = self.current_model()
        models = list_models()
        models += [m for m in self._extra if not any(same_model(m, x) for x in models)]
        self.blockSignals(True)
        self.clear()
        for info in models:
            label = info.name if info.source != "file" else f"{info.name} (file)"
            self.addItem(label, info)
            self.setItemData(self.count() - 1, model_tooltip(info), Qt.ItemDataRole.ToolTipRole)
        self.setEnabled(self.count() > 0)
        if current is not None:
            self.select(current, emit=False)
        self.blockSignals(False)
        return problems

    def add_model(self, info: ModelInfo, select: bool = True) -> None:
        """List `info` (a model file from anywhere); with `select`, make it current."""
        before = self.current_model()
        if not any(same_model(info, m) for m in self._extra):
            self._extra.append(info)
        self.refresh()
        if select:
            self.select(info, emit=False)
            if not same_model(before, self.current_model()):
                self.model_chosen.emit(self.current_model())

    def models(self) -> list[ModelInfo]:
        return [self.itemData(i) for i in range(self.count())]

    def current_model(self) -> ModelInfo | None:
        return self.currentData() if self.count() else None

    def select(self, info_or_name: ModelInfo | str, emit: bool = True) -> bool:
        for i in range(self.count()):
            info: ModelInfo = self.itemData(i)
            match = (
                same_model(info, info_or_name)
                if isinstance(info_or_name, ModelInfo)
                else info_or_name in (info.name, str(info.weights_path))
            )
            if match:
                if not emit:
                    self.blockSignals(True)
                self.setCurrentIndex(i)
                if not emit:
                    self.blockSignals(False)
                return True
        return False

    def extra_paths(self) -> list[str]:
        return [str(m.weights_path) for m in self._extra]

    def _changed(self, index: int) -> None:
        self.model_chosen.emit(self.itemData(index) if index >= 0 else None)
