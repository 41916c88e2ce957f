# ruff: noqa: E501  (the action table reads best one action per line)
"""Every command of the main window as a QAction: text, icon, shortcut, in one table.

Menus, toolbar and the Help -> Keyboard shortcuts dialog are all built from this table, so a
shortcut is defined once and the help can never drift from what the keys really do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import qtawesome as qta
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTableWidget, QTableWidgetItem, QVBoxLayout

SK = QKeySequence.StandardKey


@dataclass(frozen=True)
class ActionSpec:
    name: str
    text: str
    icon: str | None
    shortcuts: tuple[str | QKeySequence.StandardKey, ...] = ()
    tip: str = ""
    checkable: bool = False


SPECS = (
    ActionSpec("open_folder", "&Open folder…", "mdi6.folder-open", (SK.Open,), "Open a folder of photos"),
    ActionSpec("open_image", "Open &image…", "mdi6.image-outline", ("Ctrl+Shift+O",), "Open one photo"),
    ActionSpec("export", "&Export report…", "mdi6.file-export-outline", ("Ctrl+E",), "Export masks, measurements and a report"),
    ActionSpec("quit", "&Quit", None, (SK.Quit,)),
    ActionSpec("prev", "&Previous image", "mdi6.chevron-left", ("Left", "PgUp", "Backspace"), "Previous image"),
    ActionSpec("next", "&Next image", "mdi6.chevron-right", ("Right", "PgDown"), "Next image"),
    ActionSpec("first", "First image", None, ("Home",)),
    ActionSpec("last", "Last image", None, ("End",)),
    ActionSpec("zoom_in", "Zoom &in", "mdi6.magnify-plus-outline", ("+", "=", SK.ZoomIn), "Zoom in"),
    ActionSpec("zoom_out", "Zoom &out", "mdi6.magnify-minus-outline", ("-", SK.ZoomOut), "Zoom out"),
    ActionSpec("fit", "&Fit to window", "mdi6.fit-to-screen-outline", ("0",), "Whole image in view"),
    ActionSpec("actual", "&Actual size (1:1)", "mdi6.numeric-1-box-outline", ("1",), "One image pixel per screen pixel"),
    ActionSpec("toggle_overlay", "Show &overlay", "mdi6.layers-outline", ("O",), "Show or hide all layers", True),
    ActionSpec("toggle_mask", "Crack &mask", None, ("M",), "Crack mask layer", True),
    ActionSpec("toggle_heatmap", "&Heat map", None, ("H",), "Probability heat map layer", True),
    ActionSpec("toggle_outlines", "Out&lines", None, ("L",), "Crack outline layer", True),
    ActionSpec("compare", "&Before / after", "mdi6.compare-horizontal", ("C",), "Swipe between photo and overlay", True),
    ActionSpec("threshold_up", "Raise threshold", None, ("]",)),
    ActionSpec("threshold_down", "Lower threshold", None, ("[",)),
    ActionSpec("analyse", "&Analyse image", "mdi6.play", ("Ctrl+R",), "Analyse the image on screen"),
    ActionSpec("analyse_all", "Analyse &all", "mdi6.play-box-multiple", ("Ctrl+Shift+R",), "Analyse every image in the folder"),
    ActionSpec("cancel", "&Cancel", "mdi6.stop", ("Esc",), "Stop the analysis and empty the queue"),
    ActionSpec("add_model", "Add model from &file…", "mdi6.file-import-outline", (), "Use a model (.safetensors + .json) from anywhere"),
    ActionSpec("train", "&Train a model…", "mdi6.school-outline", (), "Retrain on your own labelled photos"),
    ActionSpec("shortcuts", "&Keyboard shortcuts", "mdi6.keyboard-outline", ("F1",)),
    ActionSpec("about", "&About CrackInspector", "mdi6.information-outline", ()),
)  # fmt: skip


class Actions:
    """Attribute access to the QActions: `actions.next`, `actions.zoom_in` …"""

    def __init__(self, parent: QObject) -> None:
        self._all: dict[str, QAction] = {}
        for spec in SPECS:
            action = QAction(spec.text, parent)
            if spec.icon:
                action.setIcon(qta.icon(spec.icon))
            keys: list[QKeySequence] = []
            for s in spec.shortcuts:
                keys.extend(QKeySequence.keyBindings(s) if isinstance(s, SK) else [QKeySequence(s)])
            if keys:
                action.setShortcuts(keys)
                action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            tip = spec.tip or spec.text.replace("&", "").rstrip("…")
            if keys:
                tip += f" ({keys[0].toString(QKeySequence.SequenceFormat.NativeText)})"
            action.setToolTip(tip)
            action.setStatusTip(spec.tip)
            action.setCheckable(spec.checkable)
            action.setObjectName(f"action_{spec.name}")
            self._all[spec.name] = action

    def __getattr__(self, name: str) -> QAction:
        try:
            return self.__dict__["_all"][name]
        except KeyError:
            raise AttributeError(name) from None

    def items(self) -> list[tuple[str, QAction]]:
        return list(self._all.items())


def shortcut_rows(actions: Actions, extra: Iterable[QAction] = ()) -> list[tuple[str, str]]:
    """(command, keys) of every action with a shortcut; `extra`: actions kept outside the
    table (the Review menu's, gui/review/controller.py)."""
    rows = []
    for action in [a for _, a in actions.items()] + list(extra):
        keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts()]
        if keys:
            rows.append((action.text().replace("&", ""), ",  ".join(keys)))
    return rows


class ShortcutsDialog(QDialog):
    """Help -> Keyboard shortcuts: generated from the live actions."""

    def __init__(self, actions: Actions, parent=None, extra: Iterable[QAction] = ()) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        rows = shortcut_rows(actions, extra)
        table = QTableWidget(len(rows), 2, self)
        table.setHorizontalHeaderLabels(["Command", "Keys"])
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.setAlternatingRowColors(True)
        for r, (name, keys) in enumerate(rows):
            table.setItem(r, 0, QTableWidgetItem(name))
            table.setItem(r, 1, QTableWidgetItem(keys))
        table.resizeColumnsToContents()
        table.horizontalHeader().setStretchLastSection(True)
        self.table = table
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        layout.addWidget(buttons)
        self.resize(460, 560)
