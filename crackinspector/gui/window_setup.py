"""Building and wiring the main window: docks, menus, toolbar, signals, settings, models.

Kept apart from main_window.py so the window class stays a readable list of behaviours;
each function takes the window and does one step of its construction or one chore.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtWidgets import QDockWidget, QFileDialog, QLabel, QMenu, QToolBar, QWidget

from crackinspector.core import settings as schema
from crackinspector.core.io.imageio import IMAGE_EXTENSIONS
from crackinspector.core.model.registry import DEFAULT_MODEL, ModelInfo, resolve

from .actions import ShortcutsDialog
from .image_list import status_text
from .results import Status

if TYPE_CHECKING:
    from .main_window import MainWindow

THRESHOLD_KEY_STEP = 0.05


def add_dock(w: MainWindow, widget: QWidget, title: str, name: str, area) -> QDockWidget:
    dock = QDockWidget(title, w)
    dock.setObjectName(name)  # saveState/restoreState need names
    dock.setWidget(widget)
    dock.setFeatures(
        QDockWidget.DockWidgetFeature.DockWidgetMovable
        | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        | QDockWidget.DockWidgetFeature.DockWidgetClosable
    )
    w.addDockWidget(area, dock)
    return dock


def build_docks(w: MainWindow) -> None:
    left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
    w.images_dock = add_dock(w, w.list_view, "Images", "images_dock", left)
    w.layers_dock = add_dock(w, w.layers_panel, "Layers", "layers_dock", right)
    w.info_dock = add_dock(w, w.info_panel, "Current image", "info_dock", right)
    # The measurements dock (MainWindow.install_measure_panel) goes below these two.


def initial_dock_sizes(w: MainWindow) -> None:
    """First launch (no saved layout): panels as tall as their content, the rest below."""
    left = 400 if w.measure_dock is not None else 300  # room for the crack table
    w.resizeDocks([w.images_dock, w.info_dock], [left, 300], Qt.Orientation.Horizontal)
    w.resizeDocks(
        [w.layers_dock, w.info_dock],
        [w.layers_panel.sizeHint().height(), w.height()],
        Qt.Orientation.Vertical,
    )
    if w.measure_dock is not None:  # thumbnails above, the measurements below
        w.resizeDocks([w.images_dock, w.measure_dock], [1, 2], Qt.Orientation.Vertical)


def build_menus_and_toolbar(w: MainWindow) -> None:
    a = w.actions
    bar = w.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addActions([a.open_folder, a.open_image])
    w.recent_menu = QMenu("Open &recent", w)
    w.recent_menu.setObjectName("recent_menu")
    w.recent_menu.aboutToShow.connect(lambda: fill_recent_menu(w))
    file_menu.addMenu(w.recent_menu)
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
    for dock in (w.images_dock, w.info_dock, w.layers_dock):
        view_menu.addAction(dock.toggleViewAction())

    analysis_menu = bar.addMenu("&Analysis")
    analysis_menu.addActions([a.analyse, a.analyse_all, a.cancel])
    models_menu = bar.addMenu("&Models")
    models_menu.addActions([a.add_model, a.train])
    help_menu = bar.addMenu("&Help")
    help_menu.addActions([a.shortcuts, a.about])

    tb = QToolBar("Main", w)
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
    label.setBuddy(w.model_picker)
    tb.addWidget(label)
    tb.addWidget(w.model_picker)
    tb.addAction(a.add_model)
    w.addToolBar(tb)
    w.toolbar = tb

    # Shortcuts work even with the menu bar or toolbar hidden.
    w.addActions([action for _, action in a.items()])
    a.export.setEnabled(False)  # enabled by MainWindow.set_export_handler
    a.train.setEnabled(False)  # enabled by MainWindow.set_train_handler
    a.cancel.setEnabled(False)
    a.toggle_overlay.setChecked(True)


def connect_signals(w: MainWindow) -> None:
    a, c, v, lp = w.actions, w.controller, w.viewer, w.layers_panel
    a.open_folder.triggered.connect(lambda: choose_folder(w))
    a.open_image.triggered.connect(lambda: choose_image(w))
    a.export.triggered.connect(w._export)
    a.train.triggered.connect(w._train)
    a.quit.triggered.connect(w.close)
    a.prev.triggered.connect(lambda: w.step(-1))
    a.next.triggered.connect(lambda: w.step(1))
    a.first.triggered.connect(lambda: w.step(-(10**9)))
    a.last.triggered.connect(lambda: w.step(10**9))
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
    a.threshold_up.triggered.connect(lambda: nudge_threshold(w, THRESHOLD_KEY_STEP))
    a.threshold_down.triggered.connect(lambda: nudge_threshold(w, -THRESHOLD_KEY_STEP))
    a.analyse.triggered.connect(c.analyse_current)
    a.analyse_all.triggered.connect(lambda: c.analyse(w.paths()))
    a.cancel.triggered.connect(c.cancel_all)
    a.add_model.triggered.connect(lambda: choose_model_file(w))
    a.shortcuts.triggered.connect(lambda: ShortcutsDialog(w.actions, w).exec())
    a.about.triggered.connect(w.about)

    lp.threshold_changed.connect(w._on_threshold)
    lp.threshold_reset.connect(w._reset_threshold)
    lp.layer_toggled.connect(w.overlay.set_layer_visible)
    lp.layer_toggled.connect(lambda n, on: w.settings.set(f"view/show_{n}", on))
    lp.opacity_changed.connect(w.overlay.set_opacity)
    lp.color_changed.connect(w.overlay.set_color)
    w.overlay.segments_changed.connect(lambda _: w._update_info())
    w.info_panel.analyse_button.clicked.connect(c.analyse_current)

    w.list_view.clicked.connect(w._on_list_clicked)
    w.list_view.activated.connect(w._on_list_clicked)
    w.loader.photo_ready.connect(w._on_photo)
    w.loader.photo_failed.connect(w._on_photo_failed)
    w.model_picker.model_chosen.connect(w.set_model)

    c.status_changed.connect(w._on_status)
    c.progress.connect(w._on_progress)
    c.result_ready.connect(w._on_result)
    c.model_ready.connect(lambda text: on_model_ready(w, text))
    c.model_error.connect(lambda text: on_model_error(w, text))
    c.batch_progress.connect(w.status.set_batch)
    c.busy_changed.connect(w.actions.cancel.setEnabled)
    c.busy_changed.connect(lambda _: w._update_info())


def nudge_threshold(w: MainWindow, delta: float) -> None:
    value = min(max(w.layers_panel.threshold() + delta, 0.01), 0.99)
    w.layers_panel.set_threshold(value)
    w._on_threshold(value)


# --------------------------------------------------------------------------- settings
def restore_view_settings(w: MainWindow) -> None:
    s, lp = w.settings, w.layers_panel
    geometry, state = s.get("window/geometry"), s.get("window/state")
    if geometry:
        w.restoreGeometry(QByteArray(geometry))
    else:
        w.resize(1440, 900)
    w._layout_restored = bool(state) and w.restoreState(QByteArray(state))
    for name in ("mask", "outlines"):
        color = s.get(f"view/{name}_color")
        lp.set_color(name, color)
        w.overlay.set_color(name, color)
    for name in ("mask", "heatmap"):
        key = "view/opacity" if name == "mask" else "view/heatmap_opacity"
        lp.set_opacity(name, s.get(key))
        w.overlay.set_opacity(name, s.get(key))
    lp.opacity_changed.connect(
        lambda n, v: s.set("view/opacity" if n == "mask" else "view/heatmap_opacity", v)
    )
    lp.color_changed.connect(lambda n, c: s.set(f"view/{n}_color", c))
    for name in ("mask", "heatmap", "outlines"):
        on = s.get(f"view/show_{name}")
        lp.set_layer_checked(name, on)
        w.overlay.set_layer_visible(name, on)


def save_settings(w: MainWindow) -> None:
    s = w.settings
    s.set("window/geometry", bytes(w.saveGeometry().data()))
    s.set("window/state", bytes(w.saveState().data()))
    model = w.model_picker.current_model()
    if model is not None:
        s.set("model/name", model.name if model.source != "file" else str(model.weights_path))
    s.set("model/extra", w.model_picker.extra_paths())
    if w.folder is not None:
        s.set("folders/last", str(w.folder))
    s.sync()


def fill_recent_menu(w: MainWindow) -> None:
    w.recent_menu.clear()
    recent = schema.existing_recent(w.settings.get("folders/recent"))
    for folder in recent:
        action = w.recent_menu.addAction(folder)
        action.triggered.connect(lambda _=False, f=folder: w.open_path(f))
    if not recent:
        w.recent_menu.addAction("(none yet)").setEnabled(False)


def choose_folder(w: MainWindow) -> None:
    start = str(w.folder) if w.folder else str(Path.home())
    folder = QFileDialog.getExistingDirectory(w, "Open a folder of photos", start)
    if folder:
        w.open_path(folder)


def choose_image(w: MainWindow) -> None:
    start = str(w.folder) if w.folder else str(Path.home())
    patterns = " ".join(f"*{e}" for e in IMAGE_EXTENSIONS)
    path, _ = QFileDialog.getOpenFileName(w, "Open a photo", start, f"Images ({patterns})")
    if path:
        w.open_path(path)


# --------------------------------------------------------------------------- models
def choose_model(w: MainWindow, requested) -> None:
    """Pick the starting model: the argument, else the saved choice, else the default."""
    problems = w.model_picker.refresh(w.settings.get("model/extra"))
    chosen: ModelInfo | None = None
    if requested is not None:
        try:
            chosen = resolve(requested)
        except Exception as exc:
            problems.append(str(exc))
    if chosen is not None:
        if chosen.source == "file":
            w.model_picker.add_model(chosen, select=False)
        w.model_picker.select(chosen, emit=False)
    else:
        saved = w.settings.get("model/name")
        if not (saved and w.model_picker.select(saved, emit=False)):
            w.model_picker.select(DEFAULT_MODEL, emit=False)
    if problems:
        w.status.showMessage("; ".join(problems), 10000)
    w.set_model(w.model_picker.current_model())


def apply_model(w: MainWindow, info: ModelInfo | None) -> None:
    has_model = info is not None
    for action in (w.actions.analyse, w.actions.analyse_all):
        action.setEnabled(has_model)
    if not has_model:
        w.status.show_problem(
            "No model installed: analysis is off. Add one with Models → Add model from file…"
        )
        w.status.set_description("no model")
    else:
        w.status.show_problem("")
        w.status.set_description(f"loading {info.name}…")
        saved = w.settings.get("view/threshold")
        threshold = saved if saved is not None else info.card.threshold
        w.layers_panel.set_threshold(threshold)
        w.overlay.set_threshold(w.layers_panel.threshold())
    w.controller.set_model(info, w.device)
    w._update_info()


def on_model_ready(w: MainWindow, description: str) -> None:
    w.status.set_description(description)
    w.status.show_problem("")


def on_model_error(w: MainWindow, text: str) -> None:
    w.status.show_problem(f"Model cannot be used: {text}")
    w.status.set_description("no model loaded")


def add_model_from_file(w: MainWindow, path: str | Path) -> ModelInfo | None:
    try:
        info = resolve(Path(path))
    except Exception as exc:  # a wrong file is a status message, never a crash
        w.status.show_problem(str(exc))
        return None
    w.model_picker.add_model(info, select=True)  # emits model_chosen -> set_model
    return info


def choose_model_file(w: MainWindow) -> None:
    path, _ = QFileDialog.getOpenFileName(
        w, "Add a model", str(Path.home()), "CrackInspector models (*.safetensors *.json)"
    )
    if path:
        add_model_from_file(w, path)


# --------------------------------------------------------------------------- info panel
def update_info_panel(w: MainWindow, photo_problem: str = "") -> None:
    panel, path = w.info_panel, w.current
    if path is None:
        panel.clear()
        return
    c = w.controller
    result = w.overlay.result if w.overlay.result is not None else None
    model = c.model
    status = c.status(path)
    entry = w.list_model.entry(path)
    values = {
        "file": path.name,
        "status": status_text(entry) if entry is not None else status.value,
        "model": model.name if model is not None else "none",
        "threshold": f"{w.overlay.threshold:.3f}",
    }
    photo = w.viewer.has_photo() and w._photo_path == path
    if result is not None and result.path == path:
        h, wd = result.shape
        values["size"] = f"{wd} × {h} px ({wd * h / 1e6:.1f} MP)"
        values["crack"] = f"{result.crack_fraction(w.overlay.threshold) * 100:.2f} %"
        segments = w.overlay.segments
        values["segments"] = "…" if segments is None else str(segments)
        when = "cached" if result.source != "inference" else "just now"
        values["time"] = f"{result.seconds:.2f} s ({when})"
    else:
        scene = w.viewer.sceneRect()
        values["size"] = f"{int(scene.width())} × {int(scene.height())} px" if photo else ""
        values.update(crack="", segments="", time="")
    if photo_problem:
        values["status"] = f"cannot open: {photo_problem}"
    panel.set_values(**values)
    panel.analyse_button.setVisible(
        model is not None and status in (Status.NEW, Status.FAILED) and not c.busy
    )
    panel.labels["status"].setToolTip(c.error(path))
