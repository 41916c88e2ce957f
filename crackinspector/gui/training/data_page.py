"""Wizard page 1: photo and mask folders, and how to validate.

The folders are paired in a background task (after a short pause in typing), so a folder of
thousands of files never freezes the window. The page lists what was found, every file left
out and why, a few previews with the mask in red, and keeps Next disabled with the reason
shown until the data can really be trained on.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from crackinspector.core.errors import CrackInspectorError
from crackinspector.gui.tasks import TaskRunner, one_line
from training.check import FOLDERS, FRACTION, SPLIT, DataCheck, DataChoice, check_data
from training.check import split_dataset_folder as dataset_parts
from training.reviewed import export_reviewed, reviewed_data_dir

DEBOUNCE_MS = 300


def path_row(parent: QWidget, edit: QLineEdit, pick) -> QWidget:
    row = QWidget(parent)
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    button = QPushButton("Browse…", row)
    button.clicked.connect(pick)
    layout.addWidget(button)
    return row


def to_pixmap(rgb) -> QPixmap:
    h, w = rgb.shape[:2]
    image = QImage(rgb.data, w, h, rgb.strides[0], QImage.Format.Format_RGB888)
    return QPixmap.fromImage(image.copy())


def _reason(exc: BaseException) -> str:
    """Our own errors as they are worded (they name the file); others in one line."""
    return str(exc) if isinstance(exc, CrackInspectorError) else one_line(exc)


class DataPage(QWizardPage):
    reviewed_ready = Signal()  # the inspection's reviewed photos were written and filled in

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Training data")
        self.setSubTitle(
            "Photos and their masks (white = crack), paired by file name: photos/001.jpg with "
            "masks/001.png. Choose a dataset folder holding images/ and masks/, or the two "
            "folders."
        )
        self.check: DataCheck | None = None
        self._tasks = TaskRunner("training-data-check", parent=self)
        self._timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._timer.timeout.connect(self.run_check)

        self.images_edit, self.masks_edit = QLineEdit(self), QLineEdit(self)
        self.split_edit = QLineEdit(self)
        self.val_images_edit, self.val_masks_edit = QLineEdit(self), QLineEdit(self)
        for edit, name in (
            (self.images_edit, "Photo folder"),
            (self.masks_edit, "Mask folder"),
            (self.split_edit, "Split file"),
            (self.val_images_edit, "Validation photo folder"),
            (self.val_masks_edit, "Validation mask folder"),
        ):
            edit.setAccessibleName(name)
            edit.textChanged.connect(self.schedule_check)
        dataset_button = QPushButton("Dataset folder…", self)
        dataset_button.setToolTip("A folder holding images/ and masks/ (and maybe split.json)")
        dataset_button.clicked.connect(self._pick_dataset)
        self.reviewed_button = QPushButton("Reviewed photos of this inspection", self)
        self.reviewed_button.setToolTip(
            "Your accepted and corrected photos with their masks, false alarms with empty "
            "masks; training then fine-tunes the model in use"
        )
        self.reviewed_button.clicked.connect(self.use_reviewed)
        self.reviewed_button.setEnabled(False)
        self.source_label = QLabel(self)
        self.source_label.setWordWrap(True)
        self._inspection: Path | None = None
        self._model: str | None = None

        self.fraction_radio = QRadioButton("A random fraction of the pairs:", self)
        self.split_radio = QRadioButton("The 'val' list of a split file:", self)
        self.folders_radio = QRadioButton("A separate photo and mask folder pair:", self)
        self.fraction_radio.setChecked(True)
        self.val_group = QButtonGroup(self)
        for button in (self.fraction_radio, self.split_radio, self.folders_radio):
            self.val_group.addButton(button)
            button.toggled.connect(self._mode_changed)
        self.fraction_spin = QDoubleSpinBox(self)
        self.fraction_spin.setRange(0.05, 0.5)
        self.fraction_spin.setSingleStep(0.05)
        self.fraction_spin.setValue(0.2)
        self.fraction_spin.valueChanged.connect(self.schedule_check)

        form = QFormLayout()
        form.addRow("", dataset_button)
        form.addRow("", self.reviewed_button)
        form.addRow("", self.source_label)
        form.addRow(
            "Photos:", path_row(self, self.images_edit, lambda: self._pick(self.images_edit))
        )
        form.addRow("Masks:", path_row(self, self.masks_edit, lambda: self._pick(self.masks_edit)))
        form.addRow(QLabel("<b>Validation</b> (measured after every epoch; picks the best one):"))
        form.addRow(self.fraction_radio, self.fraction_spin)
        form.addRow(self.split_radio, path_row(self, self.split_edit, self._pick_split))
        form.addRow(self.folders_radio)
        form.addRow(
            "  Photos:",
            path_row(self, self.val_images_edit, lambda: self._pick(self.val_images_edit)),
        )
        form.addRow(
            "  Masks:", path_row(self, self.val_masks_edit, lambda: self._pick(self.val_masks_edit))
        )

        self.summary_label = QLabel(self)
        self.summary_label.setWordWrap(True)
        self.reason_label = QLabel(self)
        self.reason_label.setWordWrap(True)
        self.reason_label.setStyleSheet("color: #b3261e;")
        self.reason_label.setAccessibleName("Why the data cannot be used")
        self.listing = QListWidget(self)
        self.listing.setMaximumHeight(110)
        self.listing.setAccessibleName("Files left out")
        self.previews = QWidget(self)
        self.previews_layout = QHBoxLayout(self.previews)
        self.previews_layout.setContentsMargins(0, 0, 0, 0)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.reason_label)
        layout.addWidget(self.listing)
        layout.addWidget(self.previews)
        self._mode_changed()
        self._show(None)

    # ------------------------------------------------------------------ choice
    def choice(self) -> DataChoice:
        mode = FRACTION
        if self.split_radio.isChecked():
            mode = SPLIT
        elif self.folders_radio.isChecked():
            mode = FOLDERS
        return DataChoice(
            images=self.images_edit.text().strip(),
            masks=self.masks_edit.text().strip(),
            validation=mode,
            val_fraction=round(self.fraction_spin.value(), 4),
            split_file=self.split_edit.text().strip(),
            val_images=self.val_images_edit.text().strip(),
            val_masks=self.val_masks_edit.text().strip(),
        )

    def set_dataset(self, folder: str | Path) -> bool:
        """Fill both folders (and the split file, if any) from a dataset folder."""
        parts = dataset_parts(Path(folder))
        if parts is None:
            self.reason_label.setText(f"{folder}: no images/ and masks/ folders inside.")
            return False
        images, masks, split = parts
        self.images_edit.setText(str(images))
        self.masks_edit.setText(str(masks))
        if split is not None:
            self.split_edit.setText(str(split))
        return True

    def set_inspection(self, folder: Path | None, model: str | None) -> None:
        """The photo folder open in the main window and the model in use (for the reviewed
        photos source); None: no folder, the button stays disabled."""
        self._inspection, self._model = folder, model
        self.reviewed_button.setEnabled(folder is not None)

    def use_reviewed(self) -> None:
        """Write the inspection's reviewed photos as pairs (background) and train on them."""
        if self._inspection is None:
            return
        out = reviewed_data_dir(self._inspection)
        self.reviewed_button.setEnabled(False)
        self.source_label.setText("Writing the reviewed photos as training pairs…")
        self._tasks.start(
            export_reviewed,
            self._inspection,
            out,
            self._model,
            key="reviewed",
            on_returned=self._reviewed,
            on_errored=self._reviewed_failed,
            on_finished=lambda: self.reviewed_button.setEnabled(self._inspection is not None),
        )

    def _reviewed(self, result) -> None:
        skipped = f"; {len(result.skipped)} skipped" if result.skipped else ""
        self.source_label.setText(
            f"{len(result.pairs)} reviewed photos of {self._inspection} written to "
            f"{result.out_dir}{skipped}."
        )
        self.fraction_radio.setChecked(True)
        self.images_edit.setText(str(result.images_dir))
        self.masks_edit.setText(str(result.masks_dir))
        self.reviewed_ready.emit()

    def _reviewed_failed(self, exc: BaseException) -> None:
        self.source_label.setText(_reason(exc))

    def _pick(self, edit: QLineEdit) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder", edit.text() or "")
        if folder:
            edit.setText(folder)

    def _pick_dataset(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a dataset folder")
        if folder:
            self.set_dataset(folder)

    def _pick_split(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a split file", "", "JSON (*.json)")
        if path:
            self.split_edit.setText(path)

    def _mode_changed(self, *_: object) -> None:
        self.fraction_spin.setEnabled(self.fraction_radio.isChecked())
        self.split_edit.setEnabled(self.split_radio.isChecked())
        for edit in (self.val_images_edit, self.val_masks_edit):
            edit.setEnabled(self.folders_radio.isChecked())
        self.schedule_check()

    # ------------------------------------------------------------------ checking
    def schedule_check(self, *_: object) -> None:
        """Restart the pause; the data is checked once typing stops."""
        self._tasks.cancel("check")
        self.check = None
        self.summary_label.setText("Checking…" if self.images_edit.text() else "")
        self.completeChanged.emit()
        self._timer.start()

    def run_check(self) -> None:
        """Check now (the folders' contents may have changed since the last check)."""
        self._timer.stop()
        self.check = None
        self.completeChanged.emit()
        self._tasks.start(
            check_data,
            self.choice(),
            key="check",  # a newer check replaces an unfinished one
            on_yielded=self._checking,
            on_returned=self._checked,
            on_errored=self._check_failed,
        )

    def _checking(self, pairs_read: int) -> None:
        self.summary_label.setText(f"Checking… {pairs_read} photo/mask pairs read")

    def _check_failed(self, exc: BaseException) -> None:
        self._checked(DataCheck(reason=_reason(exc)))

    def _checked(self, result: DataCheck) -> None:
        self.check = result
        self._show(result)
        self.completeChanged.emit()

    def _show(self, result: DataCheck | None) -> None:
        self.listing.clear()
        while self.previews_layout.count():
            item = self.previews_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        if result is None:
            self.reason_label.setText("")
            self.listing.hide()
            return
        self.reason_label.setText(result.reason)
        if result.ok:
            self.summary_label.setText(
                f"{result.n_train} pairs for training, {result.n_val} for validation. "
                + " ".join(result.notes)
            )
        else:
            self.summary_label.setText(" ".join(result.notes))
        self.listing.addItems(result.listing)
        self.listing.setVisible(bool(result.listing))
        for stem, rgb in result.previews:
            label = QLabel(self.previews)
            label.setPixmap(to_pixmap(rgb))
            label.setToolTip(f"{stem}: mask in red")
            self.previews_layout.addWidget(label)
        self.previews_layout.addStretch(1)

    def isComplete(self) -> bool:
        return self.check is not None and self.check.ok

    def validatePage(self) -> bool:
        return self.isComplete()

    def cancel_tasks(self) -> None:
        """Stop checking and join the check's thread (it ends at its next pair)."""
        self._timer.stop()
        self._tasks.shutdown()
