"""The review loop wired into the main window: edit sessions, review keys, filter, progress.

`ReviewController(window)` adds the Review dock, the Review menu and its shortcuts to a
MainWindow and keeps them in step with the application state:

- One `core.review.session.EditSession` for the photo on screen (made when its analysis
  result is there and the folder's inspection store is open). Tool gestures from
  `ViewerTools` become session calls; each returns the changed rectangle, and only that
  rectangle of the `EditLayer` is redrawn. A finished edit is saved by the session (the
  photo becomes "corrected") and handed to Measurements, so the panels, badges and the
  severity counts come from `analyse(probability, settings, mask=edited)`.
- The edited layer replaces the model's mask layer while the photo is edited or an editing
  tool is chosen; the threshold slider then changes the model's mask underneath but never
  the edited one (the panel says so and offers "Reset to model").
- Keys: A accept, F false alarm, U follow-up, E brush (edit), Shift+E eraser, G / Shift+G
  lasso fill / erase, D delete crack, K reference line, V pan, Space or N next unreviewed,
  T the note field, Ctrl+Z / Ctrl+Shift+Z undo / redo, [ ] brush size while a brush is
  chosen (the threshold keys otherwise).
- The Review dock's filter hides list rows by status (core.review.flow.matches); the status
  bar shows "37 of 120 reviewed" and a read-only store's "opened read-only: in use by PID".
- A status key on an edited photo records that status; only "corrected" photos use their
  edited mask (the store's rule), so the session is rebuilt from the store afterwards.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QLabel, QMenu, QScrollArea

from crackinspector.core.analysis.analyse import threshold_mask
from crackinspector.core.analysis.calibration import Calibration
from crackinspector.core.analysis.severity import SeverityError
from crackinspector.core.errors import CrackInspectorError
from crackinspector.core.review import CORRECTED, InspectionStore
from crackinspector.core.review.edits import Rect
from crackinspector.core.review.flow import (
    ALL,
    STATUS_KEYS,
    effective_status,
    matches,
    next_unreviewed,
)
from crackinspector.core.review.session import EditSession

from ..actions import Actions
from .dialogs import CalibrationDialog, InspectionDialog, SeverityDialog
from .edit_layer import EditLayer
from .panel import OverlayLegend, ReviewPanel
from .tools import (
    BRUSH,
    CALIBRATE,
    DELETE,
    EDIT_TOOLS,
    ERASER,
    LASSO,
    LASSO_ERASE,
    PAN,
    ViewerTools,
)

if TYPE_CHECKING:
    from ..main_window import MainWindow
    from ..results import AnalysisResult

EDIT_LAYER_Z = 1.5  # above the model's mask layer (1), below the outlines (2)
STATUS_LABELS = {
    "unreviewed": "unreviewed",
    "accepted": "accepted",
    "false_alarm": "false alarm",
    "corrected": "corrected (mask edited)",
    "follow_up": "needs follow-up",
}
# (action name, text, shortcuts)
REVIEW_ACTIONS = (
    ("accept", "Accept findings", ("A",)),
    ("false_alarm", "False alarm (no cracks)", ("F",)),
    ("follow_up", "Needs follow-up", ("U",)),
    ("next_unreviewed", "Next unreviewed photo", ("Space", "N")),
    ("note", "Write a note", ("T",)),
    ("undo", "Undo edit", ("Ctrl+Z",)),
    ("redo", "Redo edit", ("Ctrl+Shift+Z", "Ctrl+Y")),
    ("tool_brush", "Brush (edit)", ("E",)),
    ("tool_eraser", "Eraser", ("Shift+E",)),
    ("tool_lasso", "Lasso fill", ("G",)),
    ("tool_lasso_erase", "Lasso erase", ("Shift+G",)),
    ("tool_delete", "Delete crack under click", ("D",)),
    ("tool_calibrate", "Reference line (calibrate)", ("K",)),
    ("tool_pan", "Pan / no tool", ("V",)),
    ("bigger", "Bigger brush", ("]",)),
    ("smaller", "Smaller brush", ("[",)),
    ("reset", "Reset mask to model", ()),
    ("details", "Inspection details…", ()),
    ("severity", "Severity classes…", ()),
)


def window_actions(window: MainWindow) -> Actions:
    """The window's action table (named `commands` or, before that rename, `actions`)."""
    table = getattr(window, "commands", None)
    if not isinstance(table, Actions):
        table = window.__dict__.get("actions")
    assert isinstance(table, Actions)
    return table


class ReviewController(QObject):
    """See the module docstring."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.state = window.state
        self.viewer = window.viewer
        self.panel = ReviewPanel()
        self.tools = ViewerTools(window.viewer, self)
        self.layer = EditLayer()
        self.layer.setVisible(False)
        window.viewer.add_overlay_item(self.layer, EDIT_LAYER_Z)
        self.legend = OverlayLegend(window.viewer)
        self.session: EditSession | None = None
        self._session_result: AnalysisResult | None = None
        self._layer_session: EditSession | None = None
        self._stroking = False
        self._calibration_dialog: CalibrationDialog | None = None
        self.progress_label = QLabel("")
        self.progress_label.setObjectName("review_progress_status")
        self.store_label = QLabel("")
        self.store_label.setObjectName("store_status")
        self.store_label.setStyleSheet("color: #d03030;")
        window.status.addPermanentWidget(self.store_label)
        window.status.addPermanentWidget(self.progress_label)
        self.actions: dict[str, QAction] = {}
        self._build_actions()
        self._build_dock()
        self._connect()
        self.tools.set_radius(self.panel.size_spin.value() or 6.0)
        self.panel.size_spin.setValue(self.tools.radius)
        self._threshold_keys = {
            "threshold_up": window_actions(window).threshold_up.shortcuts(),
            "threshold_down": window_actions(window).threshold_down.shortcuts(),
        }
        self._on_store(self.state.store)
        self._show_severity()

    # ================================================================= construction
    def _build_actions(self) -> None:
        bar = self.window.menuBar()
        menu = QMenu("&Review", self.window)
        menu.setObjectName("review_menu")
        existing = bar.actions()
        if existing:  # before Help
            bar.insertMenu(existing[-1], menu)
        else:
            bar.addMenu(menu)
        for name, text, keys in REVIEW_ACTIONS:
            action = QAction(text, self.window)
            action.setObjectName(f"action_review_{name}")
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            self.window.addAction(action)
            menu.addAction(action)
            self.actions[name] = action
            if name in ("next_unreviewed", "redo", "tool_pan", "smaller"):
                menu.addSeparator()
        self.actions["bigger"].setEnabled(False)
        self.actions["smaller"].setEnabled(False)

    def _build_dock(self) -> None:
        scroll = QScrollArea()
        scroll.setObjectName("review_scroll")
        scroll.setWidget(self.panel)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.dock = QDockWidget("Review", self.window)
        self.dock.setObjectName("review_dock")
        self.dock.setWidget(scroll)
        self.window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.window.tabifyDockWidget(self.window.info_dock, self.dock)
        self.dock.raise_()

    def _connect(self) -> None:
        a, p, s, t = self.actions, self.panel, self.state, self.tools
        for key, status in STATUS_KEYS.items():
            name = {"A": "accept", "F": "false_alarm", "U": "follow_up"}[key]
            a[name].triggered.connect(lambda _=False, st=status: self.set_status(st))
        p.accept_button.clicked.connect(a["accept"].trigger)
        p.false_button.clicked.connect(a["false_alarm"].trigger)
        p.follow_button.clicked.connect(a["follow_up"].trigger)
        p.next_button.clicked.connect(a["next_unreviewed"].trigger)
        a["next_unreviewed"].triggered.connect(self.next_unreviewed)
        a["note"].triggered.connect(self.focus_note)
        p.note.returnPressed.connect(self._note_done)
        p.note.editingFinished.connect(self.save_note)
        a["undo"].triggered.connect(self.undo)
        a["redo"].triggered.connect(self.redo)
        p.undo_button.clicked.connect(self.undo)
        p.redo_button.clicked.connect(self.redo)
        for tool in (BRUSH, ERASER, LASSO, LASSO_ERASE, DELETE, CALIBRATE, PAN):
            a[f"tool_{tool}"].triggered.connect(lambda _=False, tl=tool: self.choose_tool(tl))
            p.tool_buttons[tool].clicked.connect(lambda _=False, tl=tool: self.choose_tool(tl))
        a["bigger"].triggered.connect(t.grow)
        a["smaller"].triggered.connect(t.shrink)
        p.size_spin.valueChanged.connect(t.set_radius)
        t.radius_changed.connect(self._radius_shown)
        a["reset"].triggered.connect(self.reset_to_model)
        p.reset_button.clicked.connect(self.reset_to_model)
        a["details"].triggered.connect(self.open_details)
        p.details_button.clicked.connect(self.open_details)
        a["severity"].triggered.connect(self.open_severity)
        p.severity_button.clicked.connect(self.open_severity)
        p.filter_combo.currentIndexChanged.connect(lambda _i: self.apply_filter())

        t.stroke_started.connect(self._stroke_started)
        t.stroke_moved.connect(self._stroke_moved)
        t.stroke_finished.connect(self._stroke_finished)
        t.lasso_closed.connect(self._lasso)
        t.crack_clicked.connect(self._delete_crack)
        t.line_drawn.connect(self._line_drawn)
        t.tool_changed.connect(self._tool_changed)

        s.store_changed.connect(self._on_store)
        s.current_changed.connect(self._on_current)
        s.threshold_changed.connect(lambda _t: self._threshold_changed())
        s.review_changed.connect(self._on_review_changed)
        s.images_changed.connect(lambda _p: self.apply_filter())
        s.settings_changed.connect(self._show_severity)
        s.calibration_changed.connect(lambda _p: self._show_severity())
        self.window.controller.result_ready.connect(self._on_result)
        self.window.measurements.measured.connect(self._on_measured)
        window_actions(self.window).toggle_overlay.toggled.connect(
            lambda _on: self._show_severity()
        )
        lp = self.window.layers_panel
        lp.layer_toggled.connect(lambda _n, _on: self._sync_layers())
        lp.opacity_changed.connect(lambda _n, _v: self._sync_layers())
        lp.color_changed.connect(lambda n, c: self._color_changed(n, c))

    # ================================================================= store and photo
    @property
    def store(self) -> InspectionStore | None:
        return self.state.store

    def _on_store(self, store: InspectionStore | None) -> None:
        text = ""
        if store is None and self.state.store_problem:
            text = f"reviews not kept: {self.state.store_problem}"
        elif store is not None and store.read_only:
            text = store.read_only_reason or "opened read-only"
        for line in store.messages if store is not None else []:
            self.window.status.showMessage(line, 15000)
        self.store_label.setText(text)
        self.store_label.setToolTip(str(store.path) if store is not None else "")
        self.panel.store_label.setText(text)
        self._show_progress()
        self._show_severity()

    def _on_current(self, path: Path | None) -> None:
        self._drop_session()
        self.tools.clear_line()
        if path is not None:
            result = self.window.controller.result_for(path)
            if result is not None:
                self._start_session(result)
        self._show_photo()
        self._show_severity()

    def _on_result(self, result: AnalysisResult) -> None:
        path = result.path
        review = self.state.review(path)
        if (
            review is not None
            and effective_status(review) == CORRECTED
            and self.window.measurements.edited_mask(path) is None
            and path != self.state.current
            and self.store is not None
        ):  # an off-screen corrected photo: its badge counts the edited mask
            mask = self.store.mask(path)
            if mask is not None and mask.shape == result.shape:
                self.window.measurements.set_edited_mask(path, mask)
        if path == self.state.current and (
            self._session_result is None
            or self._session_result.probability is not result.probability
        ):
            self._drop_session()
            self._start_session(result)
            self._show_photo()

    def _model_mask(self, result: AnalysisResult) -> np.ndarray:
        return threshold_mask(result.probability, self.state.threshold)

    def _start_session(self, result: AnalysisResult) -> None:
        store = self.store
        if store is None:
            return
        model = self.state.model.name if self.state.model is not None else None
        try:
            self.session = EditSession(
                store,
                result.path,
                self._model_mask(result),
                model=model,
                threshold=self.state.threshold,
            )
        except CrackInspectorError as exc:
            self.window.status.showMessage(f"{result.path.name}: {exc}", 10000)
            self.session = None
            return
        self._session_result = result
        self.window.measurements.set_edited_mask(
            result.path, self.session.mask if self.session.edited else None
        )
        self._sync_layers()

    def _drop_session(self) -> None:
        if self._stroking and self.session is not None:
            self.session.end_stroke()
        self._stroking = False
        self.session = None
        self._session_result = None
        self._layer_session = None
        self.layer.set_mask(None)
        self._sync_layers()

    def _threshold_changed(self) -> None:
        session, result = self.session, self._session_result
        if session is None or result is None:
            return
        session.set_model(self._model_mask(result), threshold=self.state.threshold)
        if session.edited:
            self.window.status.showMessage(
                f"{session.photo.name}: the mask is edited by hand, the threshold does not "
                "change it (Review → Reset mask to model)",
                6000,
            )
        if self._layer_session is session and not session.edited:
            self.layer.set_mask(session.mask)  # the model's mask, shown while a tool is on
        self._show_photo()

    # ================================================================= layers
    def _editing_shown(self) -> bool:
        s = self.session
        return s is not None and (s.edited or self.tools.tool in EDIT_TOOLS)

    def _sync_layers(self) -> None:
        """The edited layer replaces the model's mask layer while editing or edited."""
        overlay = self.window.overlay
        shown = self._editing_shown()
        mask_on = overlay.visible.get("mask", True)
        if shown and self._layer_session is not self.session and self.session is not None:
            self.layer.set_color(overlay.colors["mask"])
            self.layer.set_mask(self.session.mask)
            self._layer_session = self.session
        self.layer.setOpacity(overlay.opacity.get("mask", 0.6))
        self.layer.setVisible(shown and mask_on)
        self.viewer.set_layer_visible("mask", mask_on and not shown)

    def _color_changed(self, name: str, color: str) -> None:
        if name == "mask" and self.session is not None and self._layer_session is self.session:
            self.layer.set_color(color, self.session.mask)
        self._sync_layers()

    def _redraw(self, rect: Rect | None) -> None:
        if rect is not None and self.session is not None:
            if self._layer_session is not self.session:
                self._sync_layers()
            self.layer.update_rect(self.session.mask, rect)

    # ================================================================= tools
    def choose_tool(self, tool: str) -> None:
        if tool != PAN and tool != CALIBRATE and self.session is None:
            reason = self.state.store_problem or "analyse the photo first"
            self.window.status.showMessage(f"Editing needs the photo's mask: {reason}", 8000)
            tool = PAN
        if tool == self.tools.tool and tool != PAN and tool in (BRUSH,):
            tool = PAN  # E again: back to panning
        self.tools.set_tool(tool)
        self.panel.tool_buttons[self.tools.tool].setChecked(True)

    def _tool_changed(self, tool: str) -> None:
        brush = tool in (BRUSH, ERASER)
        self.actions["bigger"].setEnabled(brush)
        self.actions["smaller"].setEnabled(brush)
        table = window_actions(self.window)
        for name, keys in self._threshold_keys.items():
            getattr(table, name).setShortcuts([] if brush else keys)
        self.panel.tool_buttons[tool].setChecked(True)
        self._sync_layers()

    def _radius_shown(self, radius: float) -> None:
        self.panel.size_spin.blockSignals(True)
        self.panel.size_spin.setValue(radius)
        self.panel.size_spin.blockSignals(False)

    def _stroke_started(self, point, erase: bool) -> None:
        if self.session is None:
            return
        self._stroking = True
        self._redraw(self.session.begin_stroke(point, self.tools.radius, erase))

    def _stroke_moved(self, point) -> None:
        if self.session is not None and self._stroking:
            self._redraw(self.session.extend_stroke(point))

    def _stroke_finished(self) -> None:
        if self.session is None or not self._stroking:
            return
        self._stroking = False
        # each move already redrew its own rectangle: the stroke's bounding box (large for
        # a diagonal stroke) is not redrawn again
        self._finished(self.session.end_stroke(), redraw=False)

    def _lasso(self, points, erase: bool) -> None:
        if self.session is not None:
            self._finished(self.session.lasso(points, erase))

    def _delete_crack(self, point, tolerance: float) -> None:
        if self.session is None:
            return
        rect = self.session.delete_crack(point, tolerance)
        if rect is None:
            self.window.status.showMessage("No crack under the click", 4000)
        self._finished(rect)

    def undo(self) -> None:
        if self.session is not None:
            self._finished(self.session.undo())

    def redo(self) -> None:
        if self.session is not None:
            self._finished(self.session.redo())

    def reset_to_model(self) -> None:
        if self.session is not None:
            self._finished(self.session.reset())

    def _finished(self, rect: Rect | None, redraw: bool = True) -> None:
        """After a finished edit: repaint its rectangle, re-measure, re-read the review."""
        session = self.session
        if session is None or rect is None:
            return
        if redraw:
            self._redraw(rect)
        path = session.photo
        self.window.measurements.set_edited_mask(path, session.mask if session.edited else None)
        if not self.state.store or not self.state.store.read_only:
            self.state.refresh_review(path)
        if session.unsaved:
            self.window.status.showMessage(
                f"{path.name}: edits shown only, not saved ({self.store_label.text()})", 8000
            )
        self._sync_layers()
        self._show_photo()

    # ================================================================= review keys
    def set_status(self, status: str) -> None:
        path = self.state.current
        if path is None:
            return
        try:
            self.state.set_review_status(path, status, note=self.panel.note.text())
        except CrackInspectorError as exc:
            self.window.status.showMessage(f"{path.name}: {exc}", 10000)
            return
        if self.session is not None and self._session_result is not None:
            result = self._session_result  # the store decides which mask counts now
            self._drop_session()
            self._start_session(result)
        self.window.status.showMessage(f"{path.name}: {STATUS_LABELS[status]}", 4000)

    def next_unreviewed(self) -> Path | None:
        nxt = next_unreviewed(self.state.images, self.state.review, self.state.current)
        if nxt is None:
            self.window.status.showMessage("Every photo is reviewed", 6000)
        else:
            self.state.set_current(nxt)
        return nxt

    def focus_note(self) -> None:
        self.dock.show()
        self.dock.raise_()
        self.panel.note.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.panel.note.selectAll()

    def _note_done(self) -> None:
        self.save_note()
        self.viewer.setFocus(Qt.FocusReason.OtherFocusReason)  # the review keys work again

    def save_note(self) -> None:
        path = self.state.current
        if path is None:
            return
        note = self.panel.note.text().strip()
        review = self.state.review(path)
        if note == (review.note if review is not None else ""):
            return
        try:
            self.state.set_review_note(path, note)
        except CrackInspectorError as exc:
            self.window.status.showMessage(f"{path.name}: {exc}", 10000)

    # ================================================================= views
    def _on_review_changed(self, path: Path) -> None:
        if path == self.state.current:
            self._show_photo()
        self.apply_filter()
        self._show_progress()

    def _on_measured(self, path: Path) -> None:
        if self.panel.filter_combo.currentData() == "cracked":
            self.apply_filter()
        if path == self.state.current:
            self._show_severity()

    def _show_progress(self) -> None:
        text = self.state.review_summary().text() if self.state.images else ""
        self.progress_label.setText(text)
        self.panel.progress_label.setText(text or "-")

    def _show_photo(self) -> None:
        p, path = self.panel, self.state.current
        review = self.state.review(path) if path is not None else None
        status = effective_status(review)
        text = STATUS_LABELS[status]
        if review is not None and review.reviewed and not review.changed:
            text += f" by {review.reviewer}" if review.reviewer else ""
            text += f", {review.reviewed_at[:16].replace('T', ' ')}" if review.reviewed_at else ""
        if review is not None and review.changed:
            text += " (the photo changed since its review)"
        p.status_label.setText(text if path is not None else "-")
        if not p.note.hasFocus():
            p.note.setText(review.note if review is not None else "")
        edited = self.session is not None and self.session.edited
        p.edited_label.setText(
            "Mask edited by hand: the threshold no longer changes it." if edited else ""
        )
        p.reset_button.setEnabled(edited)
        editor = self.session.editor if self.session is not None else None
        p.undo_button.setEnabled(editor is not None and editor.can_undo)
        p.redo_button.setEnabled(editor is not None and editor.can_redo)

    def apply_filter(self) -> None:
        """Hide the list rows the filter leaves out (the current photo's row too)."""
        fid = self.panel.filter_combo.currentData() or ALL
        view, m = self.window.list_view, self.window.measurements
        shown = 0
        for row, path in enumerate(self.state.images):
            summary = m.summary(path)
            cracked = None if summary is None else summary.n_cracks > 0
            hide = not matches(fid, self.state.review(path), cracked)
            view.setRowHidden(row, hide)
            shown += not hide
        self.panel.filter_combo.setToolTip(f"{shown} of {len(self.state.images)} photos shown")

    def visible_photos(self) -> list[Path]:
        view = self.window.list_view
        return [p for r, p in enumerate(self.state.images) if not view.isRowHidden(r)]

    def _show_severity(self) -> None:
        path = self.state.current
        settings = self.state.analysis_settings(path) if path is not None else None
        scale = settings.severity if settings is not None else self.state.severity_scale(False)
        self.panel.legend.set_scale(scale)
        self.legend.set_scale(scale)
        self.legend.setVisible(
            path is not None
            and self.window.overlay.result is not None
            and self.viewer.overlay_visible()
        )
        note = None
        if scale is not None and settings is not None:
            note = scale.resolution_note(settings.mm_per_px)
        self.panel.resolution_label.setText(note or "")

    # ================================================================= dialogs
    def _writable(self) -> InspectionStore | None:
        store = self.store
        if store is None or store.read_only:
            reason = self.store_label.text() or "no folder open"
            self.window.status.showMessage(f"Not saved: {reason}", 8000)
            return None
        return store

    def open_details(self) -> InspectionDialog | None:
        store = self.store
        if store is None:
            self.window.status.showMessage("Open a folder first", 6000)
            return None
        read_only = store.read_only_reason if store.read_only else ""
        dialog = InspectionDialog(store.info(), read_only or "", self.window)

        def save() -> None:
            target = self._writable()
            if target is not None:
                target.set_info(**dialog.values())
                self.window.status.showMessage("Inspection details saved", 4000)

        dialog.accepted.connect(save)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def open_severity(self) -> SeverityDialog:
        path = self.state.current
        calibrated = bool(path is not None and self.state.mm_per_px(path))
        scale = self.state.custom_severity or self.state.severity_scale(calibrated)
        dialog = SeverityDialog(scale, self.window)

        def save() -> None:
            try:
                new = dialog.scale()
            except SeverityError as exc:  # accept() checked it; a race cannot happen, but say so
                self.window.status.showMessage(str(exc), 8000)
                return
            if self._writable() is not None:
                self.state.set_custom_severity(new)

        dialog.accepted.connect(save)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _line_drawn(self, p1, p2) -> None:
        length = float(np.hypot(p2[0] - p1[0], p2[1] - p1[1]))
        dialog = CalibrationDialog(length, self.window)
        self._calibration_dialog = dialog

        def save() -> None:
            cal = Calibration.from_reference(p1, p2, dialog.length.value())
            scope = dialog.scope.currentData()
            if self.window.measure_panel.save_calibration(cal, scope):
                self.window.status.showMessage(
                    f"{cal.mm_per_px:.4g} mm per pixel for {dialog.scope.currentText()}", 6000
                )
            else:
                self.window.status.showMessage(self.window.measure_panel.message.text(), 8000)

        dialog.accepted.connect(save)
        dialog.finished.connect(lambda _r: self.tools.clear_line())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def calibration_dialog(self) -> CalibrationDialog | None:
        return self._calibration_dialog

    def shutdown(self) -> None:
        """Finish a stroke in progress, then flush and close the store (window closing)."""
        if self._stroking and self.session is not None:
            self._stroking = False
            self.session.end_stroke()
        self.session = None
        self.state.close_store()
