"""The main window: one class that composes the state, its views, docks and menus.

- AppState (state.py) owns folder, images, current image, threshold, model, analysis
  settings, calibration and inference options; every view below gets it and listens.
- AnalysisController (controller.py) queues inference (inference.py) as background tasks;
  Measurements (measurements.py) turns each result into the numbers of the shared
  analysis function, for the panels and badges alike.
- ImageLoader (loaders.py) decodes photos and thumbnails; OverlayPresenter (overlay.py)
  draws the layers; ImageListModel/View, LayersPanel, InfoPanel, MeasurePanel are docks.
- ReviewController (review/controller.py) adds the Review dock, menu and keys: review
  status in the inspection store, mask editing in the viewer, the list filter.
- Menus and the toolbar come from the action table (actions.py); Tools holds training
  (gui/training's TrainingUi), File -> Export opens export_dialog.ExportDialog.
All background work goes through gui/tasks.py; closing the window joins it, after asking
when an export would be cut short.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QItemSelectionModel, QRectF, Qt
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QFrame,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QScrollArea,
    QToolBar,
    QWidget,
)

from crackinspector import __version__
from crackinspector.core import settings as schema
from crackinspector.core.infer.options import PRECISIONS, InferenceOptions
from crackinspector.core.io.cache import ResultCache
from crackinspector.core.io.imageio import IMAGE_EXTENSIONS, find_images
from crackinspector.core.model.registry import DEFAULT_MODEL, ModelInfo, resolve

from . import layers
from .actions import Actions, ShortcutsDialog
from .controller import AnalysisController
from .export_dialog import ExportDialog
from .highlight import highlight_item
from .image_list import ImageListModel, ImageListView
from .loaders import ImageLoader
from .measure_panel import MeasurePanel, crack_highlight
from .measurements import Measurements
from .model_picker import ModelPicker
from .overlay import OverlayPresenter
from .panels import InfoPanel, LayersPanel
from .review.controller import ReviewController
from .settings import AppSettings
from .state import SEVERITY_CHOICES, AppState
from .statusbar import StatusBar
from .training.ui import TrainingUi
from .viewer import ImageViewer

THRESHOLD_KEY_STEP = 0.05
THREAD_CHOICES = (0, 1, 2, 4, 8)  # 0 = automatic


class MainWindow(QMainWindow):
    """See the module docstring. `model` (name, path or ModelInfo) overrides the saved one;
    `device` and `backend` override the saved inference options."""

    def __init__(
        self,
        model: str | Path | ModelInfo | None = None,
        settings: AppSettings | None = None,
        cache: ResultCache | None = None,
        device: str | None = None,
        backend: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else AppSettings()
        self.setWindowTitle("CrackInspector")
        self.setAcceptDrops(True)
        self.state = AppState(self)
        self._restore_state_settings(device, backend)
        self._photo_shown: Path | None = None  # whose pixels the viewer holds
        self._quit_confirmed = False
        self._layout_restored = False

        self.commands = Actions(self)
        self.controller = AnalysisController(self.state, cache=cache, parent=self)
        self.measurements = Measurements(self.state, self.controller.result_for, self)
        self.loader = ImageLoader(thumb_size=160, parent=self)
        self.viewer = ImageViewer(self)
        self.viewer.setAcceptDrops(False)
        self.setCentralWidget(self.viewer)
        self.overlay = OverlayPresenter(self.viewer, self.state, self)
        self.list_model = ImageListModel(
            self.state, self.controller, self.measurements, self.loader, self
        )
        self.list_view = ImageListView(self.list_model, thumb=112, parent=self)
        self.list_view.setAcceptDrops(False)
        self.layers_panel = LayersPanel(self.state, self)
        self.info_panel = InfoPanel(self.state, self.controller, self.measurements, self)
        self.measure_panel = MeasurePanel(self.state, self.measurements, self)
        self.measure_panel.setObjectName("measure_panel")
        self.model_picker = ModelPicker(self)
        self.status = StatusBar(self)
        self.setStatusBar(self.status)
        self.training_ui = TrainingUi(
            self,
            self._models_changed,
            self.model_picker.current_model,
            self._use_trained_model,
            current_folder=lambda: self.state.folder,
        )

        self._build_docks()
        self._build_menus()
        self._build_toolbar()
        self._connect()
        self.review = ReviewController(self)  # the review dock, menu and keys (gui/review)
        self._restore_view_settings()
        self._choose_model(model)

    # ================================================================= construction
    def _add_dock(self, widget: QWidget, title: str, name: str, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)  # saveState/restoreState need names
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.addDockWidget(area, dock)
        return dock

    @staticmethod
    def _scrolled(widget: QWidget, name: str) -> QScrollArea:
        scroll = QScrollArea()
        scroll.setObjectName(name)
        scroll.setWidget(widget)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        return scroll

    def _build_docks(self) -> None:
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        self.images_dock = self._add_dock(self.list_view, "Images", "images_dock", left)
        self.layers_dock = self._add_dock(self.layers_panel, "Layers", "layers_dock", right)
        # Panels in scroll areas, so their minimum heights never make the window taller
        # (short windows stay short); the measurements below the thumbnails.
        self.info_dock = self._add_dock(
            self._scrolled(self.info_panel, "info_scroll"), "Current image", "info_dock", right
        )
        self.measure_dock = self._add_dock(
            self._scrolled(self.measure_panel, "measure_scroll"),
            "Measurements",
            "measure_dock",
            left,
        )
        self.splitDockWidget(self.images_dock, self.measure_dock, Qt.Orientation.Vertical)

    def _initial_dock_sizes(self) -> None:
        """First launch (no saved layout): panels as tall as their content, the rest below."""
        self.resizeDocks([self.images_dock, self.info_dock], [400, 300], Qt.Orientation.Horizontal)
        self.resizeDocks(
            [self.layers_dock, self.info_dock],
            [self.layers_panel.sizeHint().height(), self.height()],
            Qt.Orientation.Vertical,
        )
        self.resizeDocks([self.images_dock, self.measure_dock], [1, 2], Qt.Orientation.Vertical)

    def _build_menus(self) -> None:
        a, bar = self.commands, self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([a.open_folder, a.open_image])
        self.recent_menu = QMenu("Open &recent", self)
        self.recent_menu.setObjectName("recent_menu")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addMenu(self.recent_menu)
        file_menu.addSeparator()
        file_menu.addAction(a.export)
        file_menu.addSeparator()
        file_menu.addAction(a.quit)

        view_menu = bar.addMenu("&View")
        view_menu.addActions([a.prev, a.next, a.first, a.last])
        view_menu.addSeparator()
        view_menu.addActions([a.zoom_in, a.zoom_out, a.fit, a.actual])
        view_menu.addSeparator()
        view_menu.addActions([a.toggle_overlay, a.toggle_mask, a.toggle_heatmap, a.toggle_outlines])
        view_menu.addActions([a.compare, a.threshold_up, a.threshold_down])
        view_menu.addSeparator()
        for dock in (self.images_dock, self.measure_dock, self.info_dock, self.layers_dock):
            view_menu.addAction(dock.toggleViewAction())

        analysis_menu = bar.addMenu("&Analysis")
        analysis_menu.addActions([a.analyse, a.analyse_all, a.cancel])
        analysis_menu.addSeparator()
        self._build_inference_menus(analysis_menu)

        models_menu = bar.addMenu("&Models")
        models_menu.addActions([a.add_model, a.train])
        tools_menu = bar.addMenu("&Tools")
        tools_menu.setObjectName("tools_menu")
        self.train_model_action = QAction("Train model…", self)
        self.train_model_action.setObjectName("action_train_model")
        self.train_model_action.setStatusTip("Retrain on your own labelled photos")
        self.training_runs_action = QAction("Training runs…", self)
        self.training_runs_action.setObjectName("action_training_runs")
        self.training_runs_action.setStatusTip("Running and past training runs: charts, stop")
        tools_menu.addActions([self.train_model_action, self.training_runs_action])
        help_menu = bar.addMenu("&Help")
        help_menu.addActions([a.shortcuts, a.about])

    def _build_inference_menus(self, menu: QMenu) -> None:
        """Analysis -> Precision / CPU threads / test-time augmentation (InferenceOptions)."""
        options = self.state.inference
        self.precision_menu = menu.addMenu("&Precision")
        self.precision_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        tips = {
            "auto": "the fastest precision checked for this model on this machine",
            "fp32": "full precision (the reference numbers)",
            "bf16": "bfloat16: faster on recent CPUs and GPUs, slightly different maps",
            "int8": "8-bit quantised: fastest on CPU, slightly different maps",
        }
        for name in PRECISIONS:
            action = self.precision_menu.addAction(name)
            action.setCheckable(True)
            action.setChecked(name == options.precision)
            action.setStatusTip(tips.get(name, ""))
            action.setObjectName(f"action_precision_{name}")
            group.addAction(action)
            action.triggered.connect(lambda _=False, n=name: self._set_inference(precision=n))
            self.precision_actions[name] = action
        self.threads_menu = menu.addMenu("CPU &threads")
        self.thread_actions: dict[int, QAction] = {}
        group = QActionGroup(self)
        for n in THREAD_CHOICES:
            action = self.threads_menu.addAction("automatic" if n == 0 else str(n))
            action.setCheckable(True)
            action.setChecked(n == options.threads)
            action.setObjectName(f"action_threads_{n}")
            group.addAction(action)
            action.triggered.connect(lambda _=False, k=n: self._set_inference(threads=k))
            self.thread_actions[n] = action
        self.tta_action = menu.addAction("Test-time &augmentation (flips)")
        self.tta_action.setObjectName("action_tta")
        self.tta_action.setCheckable(True)
        self.tta_action.setChecked(options.tta)
        self.tta_action.setStatusTip("Average the maps of flipped copies: steadier, slower")
        self.tta_action.toggled.connect(lambda on: self._set_inference(tta=on))

    def _build_toolbar(self) -> None:
        a = self.commands
        tb = QToolBar("Main", self)
        tb.setObjectName("main_toolbar")
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        tb.addActions([a.open_folder, a.prev, a.next])
        tb.addSeparator()
        tb.addActions([a.analyse, a.analyse_all, a.cancel])
        tb.addSeparator()
        tb.addActions([a.zoom_in, a.zoom_out, a.fit, a.actual])
        tb.addSeparator()
        tb.addActions([a.toggle_overlay, a.compare])
        tb.addSeparator()
        label = QLabel(" Model: ")
        label.setBuddy(self.model_picker)
        tb.addWidget(label)
        tb.addWidget(self.model_picker)
        tb.addAction(a.add_model)
        self.addToolBar(tb)
        self.toolbar = tb
        # Shortcuts work even with the menu bar or toolbar hidden.
        self.addActions([action for _, action in a.items()])
        a.cancel.setEnabled(False)
        a.toggle_overlay.setChecked(True)

    def _connect(self) -> None:
        a, c, v, lp, s = self.commands, self.controller, self.viewer, self.layers_panel, self.state
        a.open_folder.triggered.connect(self._choose_folder)
        a.open_image.triggered.connect(self._choose_image)
        a.export.triggered.connect(self.open_export_dialog)
        a.quit.triggered.connect(self.close)
        a.prev.triggered.connect(lambda: s.step(-1))
        a.next.triggered.connect(lambda: s.step(1))
        a.first.triggered.connect(lambda: s.step(-(10**9)))
        a.last.triggered.connect(lambda: s.step(10**9))
        a.zoom_in.triggered.connect(v.zoom_in)
        a.zoom_out.triggered.connect(v.zoom_out)
        a.fit.triggered.connect(v.fit)
        a.actual.triggered.connect(v.actual_size)
        a.toggle_overlay.toggled.connect(v.set_overlay_visible)
        for name in ("mask", "heatmap", "outlines"):
            action = getattr(a, f"toggle_{name}")
            action.toggled.connect(lambda on, n=name: lp.set_layer_checked(n, on))
            lp.checks[name].toggled.connect(action.setChecked)
        a.compare.toggled.connect(lp.compare_check.setChecked)
        lp.compare_check.toggled.connect(a.compare.setChecked)
        lp.compare_toggled.connect(v.set_compare)
        a.threshold_up.triggered.connect(lambda: s.set_threshold(s.threshold + THRESHOLD_KEY_STEP))
        a.threshold_down.triggered.connect(
            lambda: s.set_threshold(s.threshold - THRESHOLD_KEY_STEP)
        )
        a.analyse.triggered.connect(c.analyse_current)
        a.analyse_all.triggered.connect(c.analyse_all)
        a.cancel.triggered.connect(self.cancel_analysis)
        a.add_model.triggered.connect(self._choose_model_file)
        a.train.triggered.connect(self.training_ui.open_wizard)
        a.shortcuts.triggered.connect(
            lambda: ShortcutsDialog(self.commands, self, self.review.actions.values()).exec()
        )
        a.about.triggered.connect(self.about)
        self.train_model_action.triggered.connect(self.training_ui.open_wizard)
        self.training_runs_action.triggered.connect(self.training_ui.open_runs)

        s.current_changed.connect(self._on_current)
        s.threshold_changed.connect(lambda t: self.settings.set("view/threshold", t))
        s.settings_changed.connect(self._save_analysis_settings)
        lp.threshold_reset.connect(lambda: self.settings.set("view/threshold", None))
        lp.layer_toggled.connect(self.overlay.set_layer_visible)
        lp.layer_toggled.connect(lambda n, on: self.settings.set(f"view/show_{n}", on))
        lp.opacity_changed.connect(self.overlay.set_opacity)
        lp.color_changed.connect(self.overlay.set_color)

        self.list_view.clicked.connect(self._on_list_clicked)
        self.list_view.activated.connect(self._on_list_clicked)
        self.loader.photo_ready.connect(self._on_photo)
        self.loader.photo_failed.connect(self._on_photo_failed)
        self.model_picker.model_chosen.connect(self.set_model)
        self.measure_panel.crackSelected.connect(self._show_crack)

        c.result_ready.connect(self.measurements.add_result)
        c.result_ready.connect(self._on_result)
        c.model_ready.connect(self._on_model_ready)
        c.model_error.connect(self._on_model_error)
        c.batch_progress.connect(self.status.set_batch)
        c.busy_changed.connect(a.cancel.setEnabled)

    # ================================================================= settings
    def _restore_state_settings(self, device: str | None, backend: str | None) -> None:
        s, state = self.settings, self.state
        saved = s.get("view/threshold")
        if saved is not None:
            state.set_threshold(saved)
        state.set_inference(
            InferenceOptions(
                device=device or s.get("model/device") or "auto",
                backend=backend or "auto",
                precision=p if (p := s.get("model/precision")) in PRECISIONS else "auto",
                threads=s.get("model/threads"),
                tta=s.get("model/tta"),
            )
        )
        state.set_min_area_px(s.get("analysis/min_area_px") or 1)
        severity = s.get("analysis/severity")
        state.set_severity(severity if severity in SEVERITY_CHOICES else "auto")

    def _save_analysis_settings(self) -> None:
        self.settings.set("analysis/min_area_px", self.state.min_area_px)
        self.settings.set("analysis/severity", self.state.severity)

    def _set_inference(
        self, precision: str | None = None, threads: int | None = None, tta: bool | None = None
    ) -> None:
        o = self.state.inference
        options = InferenceOptions(
            device=o.device,
            backend=o.backend,
            precision=o.precision if precision is None else precision,
            threads=o.threads if threads is None else threads,
            tta=o.tta if tta is None else tta,
        )
        self.settings.set("model/precision", options.precision)
        self.settings.set("model/threads", options.threads)
        self.settings.set("model/tta", options.tta)
        self.state.set_inference(options)

    def _restore_view_settings(self) -> None:
        s, lp = self.settings, self.layers_panel
        geometry, state = s.get("window/geometry"), s.get("window/state")
        if geometry:
            self.restoreGeometry(QByteArray(geometry))
        else:
            self.resize(1440, 900)
        self._layout_restored = bool(state) and self.restoreState(QByteArray(state))
        for name in ("mask", "outlines"):
            color = s.get(f"view/{name}_color")
            lp.set_color(name, color)
            self.overlay.set_color(name, color)
        for name in ("mask", "heatmap"):
            key = "view/opacity" if name == "mask" else "view/heatmap_opacity"
            lp.set_opacity(name, s.get(key))
            self.overlay.set_opacity(name, s.get(key))
        lp.opacity_changed.connect(
            lambda n, v: s.set("view/opacity" if n == "mask" else "view/heatmap_opacity", v)
        )
        lp.color_changed.connect(lambda n, c: s.set(f"view/{n}_color", c))
        for name in ("mask", "heatmap", "outlines"):
            on = s.get(f"view/show_{name}")
            lp.set_layer_checked(name, on)
            self.overlay.set_layer_visible(name, on)

    def _save_settings(self) -> None:
        s = self.settings
        s.set("window/geometry", bytes(self.saveGeometry().data()))
        s.set("window/state", bytes(self.saveState().data()))
        model = self.model_picker.current_model()
        if model is not None:
            s.set("model/name", model.name if model.source != "file" else str(model.weights_path))
        s.set("model/extra", self.model_picker.extra_paths())
        if self.state.folder is not None:
            s.set("folders/last", str(self.state.folder))
        s.sync()

    # ================================================================= opening
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
        self.state.set_folder(folder, images)
        self.settings.push_recent_folder(str(folder))
        self.setWindowTitle(f"{folder.name or folder} — CrackInspector")
        if not images:
            self.status.showMessage(f"{folder}: no images here", 8000)
            return True
        self.state.set_current(select if select in images else images[0])
        self.status.showMessage(f"{len(images)} images in {folder}", 5000)
        return True

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = schema.existing_recent(self.settings.get("folders/recent"))
        for folder in recent:
            action = self.recent_menu.addAction(folder)
            action.triggered.connect(lambda _=False, f=folder: self.open_path(f))
        if not recent:
            self.recent_menu.addAction("(none yet)").setEnabled(False)

    def _start_dir(self) -> str:
        return str(self.state.folder) if self.state.folder else str(Path.home())

    def _choose_folder(self) -> None:
        start = self._start_dir()
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of photos", start)
        if folder:
            self.open_path(folder)

    def _choose_image(self) -> None:
        patterns = " ".join(f"*{e}" for e in IMAGE_EXTENSIONS)
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a photo", self._start_dir(), f"Images ({patterns})"
        )
        if path:
            self.open_path(path)

    # ================================================================= the image on screen
    def photo_shown(self) -> Path | None:
        """The photo whose pixels the viewer shows (it lags the current image while
        decoding)."""
        return self._photo_shown

    def _on_current(self, path: Path | None) -> None:
        self.overlay.set_result(None)
        self.viewer.set_highlight(None)
        row = self.state.row_of(path)
        if row >= 0:
            index = self.list_model.index(row)
            self.list_view.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            )
            self.list_view.scrollTo(index)
        if path is None:
            self.viewer.set_photo(None)
            self._photo_shown = None
        else:
            self.loader.request_photo(path)

    def _on_list_clicked(self, index) -> None:
        if index.isValid():
            self.state.set_current(self.list_model.entries[index.row()].path)

    def _on_photo(self, path: Path, bgra: np.ndarray) -> None:
        # the loader delivers only the newest request, which is the current image
        self.viewer.set_photo(layers.photo_pixmap(bgra), buffer=bgra)
        self._photo_shown = path
        h, w = bgra.shape[:2]
        self.info_panel.set_photo((w, h))
        result = self.controller.result_for(path)
        if result is not None:
            self.overlay.set_result(result)

    def _on_photo_failed(self, path: Path, reason: str) -> None:
        self.viewer.set_photo(None)
        self._photo_shown = path
        self.status.showMessage(f"{path.name}: {reason}", 8000)
        self.info_panel.set_photo(None, reason)

    def _on_result(self, result) -> None:
        if result.path == self.state.current and self._photo_shown == result.path:
            self.overlay.set_result(result)

    def _show_crack(self, index: int) -> None:
        """Outline crack `index` of the measurements panel in the viewer; -1 removes it."""
        h = crack_highlight(self.measure_panel.measurement, index)
        if h is None:
            self.viewer.set_highlight(None)
            return
        x, y, w, hgt = h.bbox
        width = int(self.viewer.sceneRect().width())
        self.viewer.set_highlight(highlight_item(h, width), QRectF(x, y, w, hgt))

    def cancel_analysis(self) -> str:
        """Esc: stop the analysis, keep finished photos, and say what was cancelled."""
        text = self.controller.cancel_all().text()
        self.status.showMessage(text, 15000)
        return text

    # ================================================================= models
    def _choose_model(self, requested) -> None:
        """The starting model: the argument, else the saved choice, else the default."""
        problems = self.model_picker.refresh(self.settings.get("model/extra"))
        chosen: ModelInfo | None = None
        if requested is not None:
            try:
                chosen = resolve(requested)
            except Exception as exc:  # a wrong name or file is a status message
                problems.append(str(exc))
        if chosen is not None:
            if chosen.source == "file":
                self.model_picker.add_model(chosen, select=False)
            self.model_picker.select(chosen, emit=False)
        else:
            saved = self.settings.get("model/name")
            if not (saved and self.model_picker.select(saved, emit=False)):
                self.model_picker.select(DEFAULT_MODEL, emit=False)
        if problems:
            self.status.showMessage("; ".join(problems), 10000)
        self.set_model(self.model_picker.current_model())

    def set_model(self, info: ModelInfo | None) -> None:
        for action in (self.commands.analyse, self.commands.analyse_all):
            action.setEnabled(info is not None)
        if info is None:
            self.status.show_problem(
                "No model installed: analysis is off. Add one with Models → Add model from file…"
            )
            self.status.set_description("no model")
        else:
            self.status.show_problem("")
            self.status.set_description(f"loading {info.name}…")
            saved = self.settings.get("view/threshold")
            self.state.set_threshold(saved if saved is not None else info.card.threshold)
        self.state.set_model(info)

    def add_model_from_file(self, path: str | Path) -> ModelInfo | None:
        try:
            info = resolve(Path(path))
        except Exception as exc:  # a wrong file is a status message, never a crash
            self.status.show_problem(str(exc))
            return None
        self.model_picker.add_model(info, select=True)  # emits model_chosen -> set_model
        return info

    def _choose_model_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Add a model", str(Path.home()), "CrackInspector models (*.safetensors *.json)"
        )
        if path:
            self.add_model_from_file(path)

    def _on_model_ready(self, description: str) -> None:
        self.status.set_description(description)
        self.status.show_problem("")

    def _on_model_error(self, text: str) -> None:
        self.status.show_problem(f"Model cannot be used: {text}")
        self.status.set_description("no model loaded")

    def _models_changed(self) -> None:
        """A training run exported a model: list it (and use it if there was none)."""
        had = self.model_picker.current_model()
        self.model_picker.refresh()
        now = self.model_picker.current_model()
        if had is None and now is not None:
            self.set_model(now)

    def _use_trained_model(self, path: Path) -> None:
        self.model_picker.refresh()
        if not self.model_picker.select(str(path)):
            self.add_model_from_file(path)  # exported outside the model folder

    # ================================================================= export
    def open_export_dialog(self) -> ExportDialog:
        """File -> Export: the folder's images, the one on screen as the selection, and the
        analysis settings the panels use, so the report has their numbers."""
        s = self.state
        # mm_per_px stays None: each folder's calibration file is read per image, as the
        # panels do; one number here would force one photo's scale onto every other.
        dialog = ExportDialog(
            s.images,
            [s.current] if s.current is not None else None,
            model=s.model or self.model_picker.current_model(),
            threshold=s.threshold,
            mm_per_px=None,
            min_area_px=s.min_area_px,
            severity=s.custom_severity
            if s.severity == "custom" and s.custom_severity
            else s.severity,
            min_confidence=s.min_confidence,
            cache=self.controller.engine.cache,  # reuse what the app already analysed
            inference=s.inference,
            parent=self,
        )
        dialog.setObjectName("export_dialog")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()  # window-modal, returns at once (exec() would block tests and scripts)
        return dialog

    def running_exports(self) -> list[ExportDialog]:
        return [d for d in self.findChildren(ExportDialog) if d.is_running()]

    # ================================================================= Qt events
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
            self._initial_dock_sizes()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.running_exports() and not self._quit_confirmed:
            event.ignore()
            self._ask_before_quitting()
            return
        self._save_settings()
        self.shutdown()
        super().closeEvent(event)

    def _ask_before_quitting(self) -> QMessageBox:
        """An export is running: ask (non-blocking) whether to stop it and quit."""
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Export in progress",
            "An export is still running. Quit and cancel it? The files written so far are "
            "complete; the reports are not written.",
            QMessageBox.StandardButton.NoButton,
            self,
        )
        box.setObjectName("quit_question")
        quit_button = box.addButton("Cancel export and quit", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Keep exporting", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(quit_button)

        def answered() -> None:
            if box.clickedButton() is quit_button:
                self._quit_confirmed = True
                self.close()

        box.finished.connect(lambda _code: answered())
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box

    def shutdown(self) -> None:
        """Stop every background task and join it; safe to call more than once."""
        for dialog in self.findChildren(ExportDialog):
            dialog.shutdown()
        self.review.shutdown()
        self.measurements.shutdown()
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
