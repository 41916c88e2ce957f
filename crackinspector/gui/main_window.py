"""The main window: composes viewer, thumbnail strip, panels and the analysis controller.

Wiring only; the work lives in the parts:
- ImageLoader (loaders.py): photo and thumbnail decoding in a thread pool.
- AnalysisController (controller.py) + InferenceWorker (worker.py): the queue and inference
  in a QThread, memory and disk caches.
- OverlayPresenter (overlay.py): result + threshold + colours -> layer pixmaps.
- LayersPanel / InfoPanel (panels.py), ModelPicker (model_picker.py), StatusBar.

Extension points for the parts built elsewhere:
- `install_measure_panel(widget)` docks the measurements panel; it receives
  `OverlayPresenter.mask_settled(result, mask, threshold)` via `measurements_input`.
- `set_export_handler(callable)` enables File -> Export (receives this window).
- `set_train_handler(callable)` enables Models -> Train a model.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMessageBox, QWidget

from crackinspector import __version__
from crackinspector.core.io.cache import ResultCache
from crackinspector.core.io.imageio import find_images
from crackinspector.core.model.registry import ModelInfo

from . import integrations, layers, window_setup
from .actions import Actions
from .controller import AnalysisController
from .image_list import ImageListModel, ImageListView
from .loaders import ImageLoader
from .model_picker import ModelPicker
from .overlay import OverlayPresenter
from .panels import InfoPanel, LayersPanel
from .results import AnalysisResult, Status
from .settings import AppSettings
from .statusbar import StatusBar
from .viewer import ImageViewer


class MainWindow(QMainWindow):
    """See the module docstring. `model` (name, path or ModelInfo) overrides the saved one."""

    current_changed = Signal(object)  # Path | None
    result_shown = Signal(object)  # AnalysisResult now on screen

    def __init__(
        self,
        model: str | Path | ModelInfo | None = None,
        settings: AppSettings | None = None,
        cache: ResultCache | None = None,
        device: str | None = None,
        backend: str = "auto",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else AppSettings()
        self.setWindowTitle("CrackInspector")
        self.setAcceptDrops(True)
        self.folder: Path | None = None
        self.current: Path | None = None
        self._photo_path: Path | None = None  # path of the photo now in the viewer
        self._photo_generation = 0
        self._export_handler: Callable[[MainWindow], None] | None = None
        self._train_handler: Callable[[MainWindow], None] | None = None
        self.measure_dock: QDockWidget | None = None
        self.measure_panel: QWidget | None = None  # set by integrations.install_extras
        self._shutdown_hooks: list[Callable[[], None]] = []
        self._layout_restored = False

        self.actions = Actions(self)
        self.loader = ImageLoader(thumb_size=160, parent=self)
        self.viewer = ImageViewer(self)
        self.viewer.setAcceptDrops(False)
        self.setCentralWidget(self.viewer)
        self.overlay = OverlayPresenter(self.viewer, self)
        self.list_model = ImageListModel(self.loader, self)
        self.list_view = ImageListView(self.list_model, thumb=112, parent=self)
        self.list_view.setAcceptDrops(False)
        self.layers_panel = LayersPanel(self)
        self.info_panel = InfoPanel(self)
        self.model_picker = ModelPicker(self)
        self.status = StatusBar(self)
        self.setStatusBar(self.status)
        self.controller = AnalysisController(cache=cache, backend=backend, parent=self)
        self.device = device or self.settings.get("model/device")

        window_setup.build_docks(self)
        window_setup.build_menus_and_toolbar(self)
        window_setup.connect_signals(self)
        window_setup.restore_view_settings(self)
        window_setup.choose_model(self, model)
        integrations.install_extras(self)  # measurements panel, export, training

    # ----------------------------------------------------------------- extension points
    def install_measure_panel(self, widget: QWidget, title: str = "Measurements") -> QDockWidget:
        """Dock the measurements panel under the current-image panel."""
        self.measure_dock = window_setup.add_dock(
            self, widget, title, "measure_dock", Qt.DockWidgetArea.RightDockWidgetArea
        )
        return self.measure_dock

    @property
    def measurements_input(self):
        """Signal (result, mask, threshold) emitted when the mask on screen settles."""
        return self.overlay.mask_settled

    def set_export_handler(self, handler: Callable[[MainWindow], None] | None) -> None:
        self._export_handler = handler
        self.actions.export.setEnabled(handler is not None)

    def set_train_handler(self, handler: Callable[[MainWindow], None] | None) -> None:
        self._train_handler = handler
        self.actions.train.setEnabled(handler is not None)

    def add_shutdown_hook(self, hook: Callable[[], None]) -> None:
        """Call `hook` when the window shuts down, before its own threads are joined."""
        self._shutdown_hooks.append(hook)

    def _export(self) -> None:
        if self._export_handler is not None:
            self._export_handler(self)

    def _train(self) -> None:
        if self._train_handler is not None:
            self._train_handler(self)

    # ----------------------------------------------------------------- opening
    def open_path(self, path: str | Path) -> bool:
        """Open a folder (all images in it) or one image (its folder, that image selected)."""
        path = Path(path).expanduser()
        if path.is_dir():
            folder, select = path, None
        elif path.is_file():
            folder, select = path.parent, path
        else:
            self.status.showMessage(f"{path}: not found", 8000)
            return False
        images = find_images([folder])
        self.controller.forget(images)
        self.folder = folder
        self.list_model.set_paths(images)
        self.settings.push_recent_folder(str(folder))
        self.setWindowTitle(f"{folder.name or folder} — CrackInspector")
        if not images:
            self.status.showMessage(f"{folder}: no images here", 8000)
            self.show_image(None)
            return True
        for p in images:  # statuses the controller already knows (e.g. reopened folder)
            self._on_status(p, self.controller.status(p), self.controller.error(p))
        start = select if select is not None and select in images else images[0]
        self.show_image(start)
        self.status.showMessage(f"{len(images)} images in {folder}", 5000)
        return True

    def paths(self) -> list[Path]:
        return self.list_model.paths()

    # ----------------------------------------------------------------- navigation
    def show_image(self, path: Path | None) -> None:
        if path == self.current and path is not None:
            return
        self.current = path
        self.overlay.set_result(None)
        row = self.list_model.row_of(path) if path is not None else -1
        if row >= 0:
            index = self.list_model.index(row)
            self.list_view.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            )
            self.list_view.scrollTo(index)
        if path is None:
            self.viewer.set_photo(None)
            self._photo_path = None
        else:
            self._photo_generation = self.loader.request_photo(path)
        self.controller.set_current(path)
        self._update_info()
        self.current_changed.emit(path)

    def step(self, delta: int) -> None:
        paths = self.paths()
        if not paths:
            return
        row = self.list_model.row_of(self.current) if self.current is not None else -1
        self.show_image(paths[min(max(row + delta, 0), len(paths) - 1)])

    def _on_list_clicked(self, index) -> None:
        if index.isValid():
            self.show_image(self.list_model.entries[index.row()].path)

    def _on_photo(self, path: Path, generation: int, bgra) -> None:
        if generation != self._photo_generation or path != self.current:
            return
        self.viewer.set_photo(layers.photo_pixmap(bgra), buffer=bgra)
        self._photo_path = path
        result = self.controller.result_for(path)
        if result is not None and self.overlay.result is not result:
            self._show_result(result)
        self._update_info()

    def _on_photo_failed(self, path: Path, generation: int, reason: str) -> None:
        if generation != self._photo_generation or path != self.current:
            return
        self.viewer.set_photo(None)
        self._photo_path = path
        self.status.showMessage(f"{path.name}: {reason}", 8000)
        self._update_info(photo_problem=reason)

    # ----------------------------------------------------------------- analysis results
    def _on_result(self, result: AnalysisResult) -> None:
        self.list_model.update_entry(
            result.path, crack_fraction=result.crack_fraction(self.overlay.threshold)
        )
        if result.path == self.current and self._photo_path == result.path:
            self._show_result(result)

    def _show_result(self, result: AnalysisResult) -> None:
        self.overlay.set_result(result)
        self._update_info()
        self.result_shown.emit(result)

    def _on_status(self, path: Path, status: Status, reason: str) -> None:
        changes: dict = {"status": status, "error": reason, "progress": 0.0}
        if status == Status.DONE:
            changes["crack_fraction"] = self.controller.crack_fraction(path, self.overlay.threshold)
        self.list_model.update_entry(path, **changes)
        if path == self.current:
            if status != Status.RUNNING:
                self.info_panel.set_progress(0, 0)
            self._update_info()

    def _on_progress(self, path: Path, done: int, total: int) -> None:
        self.list_model.update_entry(path, progress=done / total if total else 0.0)
        if path == self.current:
            self.info_panel.set_progress(done, total)

    def _on_threshold(self, value: float) -> None:
        self.overlay.set_threshold(value)
        self.settings.set("view/threshold", value)
        for entry in self.list_model.entries:
            if entry.status == Status.DONE:
                entry.crack_fraction = self.controller.crack_fraction(entry.path, value)
        self.list_model.dataChanged.emit(
            self.list_model.index(0), self.list_model.index(max(len(self.paths()) - 1, 0))
        )
        self._update_info()

    def _reset_threshold(self) -> None:
        model = self.controller.model
        value = model.card.threshold if model is not None else 0.5
        self.layers_panel.set_threshold(value)
        self._on_threshold(value)
        self.settings.set("view/threshold", None)

    def _update_info(self, photo_problem: str = "") -> None:
        window_setup.update_info_panel(self, photo_problem)

    # ----------------------------------------------------------------- models
    def set_model(self, info: ModelInfo | None) -> None:
        window_setup.apply_model(self, info)

    def add_model_from_file(self, path: str | Path) -> ModelInfo | None:
        return window_setup.add_model_from_file(self, path)

    # ----------------------------------------------------------------- Qt events
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile() and self.open_path(url.toLocalFile()):
                event.acceptProposedAction()
                return

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._layout_restored:
            self._layout_restored = True
            window_setup.initial_dock_sizes(self)

    def closeEvent(self, event: QCloseEvent) -> None:
        window_setup.save_settings(self)
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop worker thread and loaders; safe to call more than once."""
        for hook in self._shutdown_hooks:
            hook()
        self.controller.shutdown()
        self.loader.shutdown()
        self.overlay.shutdown()

    def about(self) -> None:
        QMessageBox.about(
            self,
            "About CrackInspector",
            f"<b>CrackInspector {__version__}</b><br>Find, measure and report cracks in "
            "photos of concrete, pavement and masonry.<br><br>"
            f"{self.status.device_label.text()}",
        )
