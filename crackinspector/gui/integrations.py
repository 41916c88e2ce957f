"""The parts built beside the main window, hooked into it in one place.

`install_extras(window)` runs at the end of MainWindow's construction (so the app, the
screenshot script and every test window get the same window) and adds:
- the measurements panel (measure_panel.MeasurePanel) docked on the right, fed by
  `window.measurements_input`; the crack selected in its table is outlined in the viewer;
- File -> Export report… (export_dialog.ExportDialog);
- Tools -> Train model… / Training runs… (training.install_training_menu), which also
  becomes Models -> Train a model…, and refreshes the model picker when a run exports one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QFrame, QScrollArea

from .highlight import highlight_item
from .measure_panel import MeasurePanel, crack_highlight

if TYPE_CHECKING:
    from .main_window import MainWindow


def install_extras(window: MainWindow) -> None:
    """Add the measurements panel, export and training to `window` (once)."""
    if getattr(window, "measure_panel", None) is not None:
        return
    install_measurements(window)
    window.set_export_handler(open_export_dialog)
    window.add_shutdown_hook(lambda: close_export_dialogs(window))
    from .training import install_training_menu

    def models_changed() -> None:
        # refresh() selects with signals blocked: when the picker was empty, the window
        # must be told about the model it now shows
        had = window.model_picker.current_model()
        window.model_picker.refresh()
        now = window.model_picker.current_model()
        if had is None and now is not None:
            window.set_model(now)

    window.training_ui = install_training_menu(window, models_changed)


# --------------------------------------------------------------------------- measurements
def install_measurements(window: MainWindow) -> MeasurePanel:
    panel = MeasurePanel(window)
    panel.setObjectName("measure_panel")
    window.measure_panel = panel
    # In a scroll area so the panel's minimum height never makes the window taller.
    scroll = QScrollArea()
    scroll.setObjectName("measure_scroll")
    scroll.setWidget(panel)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    dock = window.install_measure_panel(scroll)
    # Below the thumbnails, which shrink gracefully: under the layers and current-image
    # panels on the right it made short windows (e.g. 1000x640) grow taller.
    window.splitDockWidget(window.images_dock, dock, Qt.Orientation.Vertical)
    window.measurements_input.connect(panel.on_mask_settled)
    panel.crackSelected.connect(lambda index: show_crack(window, index))
    panel.measurementChanged.connect(lambda m: _drop_stale(window, m))
    window.current_changed.connect(lambda _path: panel.set_measurement(None))
    window.add_shutdown_hook(panel.shutdown)  # before the window's threads are joined
    return panel


def _is_current(window: MainWindow) -> bool:
    panel = window.measure_panel
    return panel.image_path is not None and panel.image_path == window.current


def _drop_stale(window: MainWindow, measurement) -> None:
    """A measurement that lands after the user moved to another image is not shown."""
    if measurement is not None and not _is_current(window):
        window.measure_panel.set_measurement(None)


def show_crack(window: MainWindow, index: int) -> None:
    """Outline crack `index` of the panel's measurement in the viewer; -1 removes it."""
    panel = window.measure_panel
    h = crack_highlight(panel.measurement, index) if _is_current(window) else None
    if h is None:
        window.viewer.set_highlight(None)
        return
    x, y, w, hgt = h.bbox
    width = int(window.viewer.sceneRect().width())
    window.viewer.set_highlight(highlight_item(h, width), QRectF(x, y, w, hgt))


# --------------------------------------------------------------------------- export
def open_export_dialog(window: MainWindow):
    """File -> Export: the folder's images, the one on screen as the selection."""
    from .export_dialog import ExportDialog

    model = window.controller.model or window.model_picker.current_model()
    # mm_per_px stays None on purpose: the panel's scale lives in each folder's
    # calibration.json, which the exporter reads per image; one number here would
    # force the scale of the image on screen onto every other image.
    dialog = ExportDialog(
        window.paths(),
        [window.current] if window.current is not None else None,
        model=model,
        threshold=window.overlay.threshold,
        mm_per_px=None,
        cache=window.controller.worker.cache,  # reuse what the app already analysed
        device=window.device or "auto",
        backend=window.controller.backend,
        parent=window,
    )
    dialog.setObjectName("export_dialog")
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()  # window-modal, returns at once (exec() would block tests and scripts)
    return dialog


def close_export_dialogs(window: MainWindow) -> None:
    """Closing the window cancels a running export and joins its thread."""
    from .export_dialog import ExportDialog

    for dialog in window.findChildren(ExportDialog):
        dialog.done(0)
