"""The export dialog: choose what to write, run the headless export job as a background task.

The job is the one the `export` command runs (crackinspector.core.pipeline.export.run_export
on the per-image engine), so the GUI's reports, overlays and file names are the CLI's.

Standalone: give it the image paths (and the selected subset), the model and the analysis
settings the window shows (threshold, minimum crack size, severity), so the report has the
numbers of the panels. The main window opens it from File -> Export report….

Signals
- `exportStarted(object)`: the output folder (Path) the export will use as first asked.
- `exportProgress(object)`: each pipeline Progress, on the GUI thread.
- `exportFinished(object)`: the ExportResult (also when cancelled or a write failed;
  `result.cancelled`, `result.fatal_error`, `result.failed` say which).
- `exportFailed(str)`: the export could not start (one line: bad option, unwritable folder,
  model that cannot be loaded).

The engine runs through the GUI's task helper (gui/tasks.py); it only reports progress and
never touches a widget. Cancel sets the task's cancel event, which the engine polls between
images, files and tile batches, so it takes effect within a second or so; closing the
dialog cancels and joins the task.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from crackinspector.core.analysis.measure import DEFAULT_MIN_AREA_PX
from crackinspector.core.analysis.severity import PRESETS, SeverityScale
from crackinspector.core.errors import CrackInspectorError
from crackinspector.core.infer.options import InferenceOptions, make_predictor
from crackinspector.core.pipeline.engine import Progress
from crackinspector.core.pipeline.export import (
    EXISTING_POLICIES,
    FORMATS,
    ExportOptions,
    ExportResult,
    run_export,
)

from .tasks import Task, TaskRunner

SourceFactory = Callable[[], Any]  # builds the ProbabilitySource, in the worker thread


class ExportRun:
    """The flags of one export: `stop` asks the engine to stop and return what it wrote (a
    soft cancel: the result is still delivered); `ended` is set when the work returned."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.ended = threading.Event()


def export_job(
    paths: Sequence[Path],
    options: ExportOptions,
    source_factory: SourceFactory,
    cache: Any,
    run: ExportRun,
    progress: Callable[[Progress], None],
    cancel: threading.Event,
) -> ExportResult:
    """The task's work: build the model's source in the worker thread, then export."""
    try:
        source = source_factory()
        return run_export(
            paths,
            source,
            options,
            progress=progress,
            cancel=lambda: run.stop.is_set() or cancel.is_set(),
            cache=cache,
        )
    finally:
        run.ended.set()


def failure_text(exc: BaseException) -> str:
    if isinstance(exc, CrackInspectorError):
        return str(exc)
    return f"export failed: {type(exc).__name__}: {exc}"  # a bug or out of memory: say so


def summary_text(result: ExportResult) -> str:
    """What happened, for people: counts, where, and each problem on its own line."""
    ok = [r for r in result.records if r.ok]
    lines = []
    if result.cancelled:
        lines.append(
            f"Cancelled after {len(ok)} image(s). The {len(result.written)} file(s) written "
            "are complete; no reports were written."
        )
    elif result.fatal_error:
        lines.append(f"Stopped: {result.fatal_error}")
        lines.append(f"The {len(result.written)} file(s) written before are complete.")
    else:
        cracked = sum(1 for r in ok if r.cracked)
        lines.append(
            f"{len(ok)} of {len(result.records)} image(s) analysed, {cracked} with cracks; "
            f"{len(result.written)} file(s) written to {result.out_dir}."
        )
    if result.skipped:
        lines.append(f"{len(result.skipped)} existing file(s) left as they were.")
    lines += [f"Could not write: {e}" for e in result.report_errors]
    if result.failed:
        lines.append(f"{len(result.failed)} image(s) failed:")
        lines += [f"  {r.path.name}: {r.error}" for r in result.failed]
    return "\n".join(lines)


class ExportDialog(QDialog):
    """Options, progress and outcome of one export. See the module docstring."""

    exportStarted = Signal(object)
    exportProgress = Signal(object)
    exportFinished = Signal(object)
    exportFailed = Signal(str)

    def __init__(
        self,
        paths: Sequence[str | Path],
        selected: Sequence[str | Path] | None = None,
        model: Any = None,
        threshold: float | None = None,
        mm_per_px: float | None = None,
        min_area_px: int = DEFAULT_MIN_AREA_PX,
        severity: str | SeverityScale = "auto",
        min_confidence: float = 0.0,
        out_dir: str | Path | None = None,
        device: str = "auto",
        backend: str = "auto",
        inference: InferenceOptions | None = None,
        source_factory: SourceFactory | None = None,
        cache: Any | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """`model`: name, path or ModelInfo for a Predictor made in the worker thread;
        `source_factory` replaces that (any object with `predict` or `predict_file`).
        `mm_per_px`: one scale for every image; None uses the folders' calibration files.
        `cache`: a core.cache.ResultCache to reuse results the app already has."""
        super().__init__(parent)
        self.setWindowTitle("Export report")
        self.paths = [Path(p) for p in paths]
        self.selected = [Path(p) for p in (selected or [])]
        self.model = model
        self.inference = inference
        self.device, self.backend = device, backend
        self.source_factory = source_factory
        self.cache = cache
        self.mm_per_px = mm_per_px
        self.export_result: ExportResult | None = None
        self.error: str | None = None
        self.runner = TaskRunner("export", threads=1, parent=self)
        self._task: Task | None = None
        self._run = ExportRun()
        self._run.ended.set()
        self._build(threshold, out_dir)
        self.min_area_spin.setValue(min_area_px)
        self.min_confidence = min_confidence  # the panels' filter, passed on unchanged
        if isinstance(severity, SeverityScale):  # the inspection's own class table
            self.severity_combo.addItem(f"this inspection's classes ({severity.unit})", severity)
            self.severity_combo.setCurrentIndex(self.severity_combo.count() - 1)
        else:
            self.severity_combo.setCurrentIndex(max(self.severity_combo.findData(severity), 0))

    # ----------------------------------------------------------------- layout
    def _build(self, threshold: float | None, out_dir: str | Path | None) -> None:
        layout = QVBoxLayout(self)

        images = QGroupBox("Images")
        grid = QVBoxLayout(images)
        self.all_radio = QRadioButton(f"All images ({len(self.paths)})")
        self.selected_radio = QRadioButton(f"Selected images ({len(self.selected)})")
        self.selected_radio.setEnabled(bool(self.selected))
        group = QButtonGroup(self)
        group.addButton(self.all_radio)
        group.addButton(self.selected_radio)
        (self.selected_radio if self.selected else self.all_radio).setChecked(True)
        self.only_cracked = QCheckBox("Only images with cracks (others are listed, not exported)")
        self.reviewed_only = QCheckBox("Only accepted and corrected findings (reviewed photos)")
        for w in (self.all_radio, self.selected_radio, self.only_cracked, self.reviewed_only):
            grid.addWidget(w)
        layout.addWidget(images)

        output = QGroupBox("Write")
        og = QGridLayout(output)
        self.format_boxes: dict[str, QCheckBox] = {}
        for i, fmt in enumerate(FORMATS):
            box = QCheckBox({"pdf": "PDF report", "html": "HTML report", "csv": "CSV tables",
                             "json": "JSON data"}[fmt])  # fmt: skip
            box.setChecked(True)
            self.format_boxes[fmt] = box
            og.addWidget(box, 0, i)
        self.overlays_box = QCheckBox("Annotated images (PNG)")
        self.masks_box = QCheckBox("Masks (PNG)")
        self.prob_box = QCheckBox("Probability maps (16-bit PNG)")
        self.overlays_box.setChecked(True)
        og.addWidget(self.overlays_box, 1, 0, 1, 2)
        og.addWidget(self.masks_box, 1, 2)
        og.addWidget(self.prob_box, 1, 3)
        layout.addWidget(output)

        where = QGroupBox("Folder")
        form = QFormLayout(where)
        row = QHBoxLayout()
        default = out_dir or (self.paths[0].parent / "crack-report" if self.paths else "")
        self.folder_edit = QLineEdit(str(default))
        self.folder_edit.setAccessibleName("Output folder")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.folder_edit, 1)
        row.addWidget(browse)
        form.addRow("Output folder", row)
        self.existing_combo = QComboBox()
        labels = {"overwrite": "replace them", "skip": "keep them (skip)",
                  "new-folder": "use a new folder (name-2, name-3…)"}  # fmt: skip
        for policy in EXISTING_POLICIES:
            self.existing_combo.addItem(labels[policy], policy)
        form.addRow("Existing files", self.existing_combo)
        layout.addWidget(where)

        analysis = QGroupBox("Analysis")
        aform = QFormLayout(analysis)
        name = getattr(self.model, "name", None) or (str(self.model) if self.model else "default")
        aform.addRow("Model", QLabel(name if self.source_factory is None else "as given"))
        self.threshold_spin = QDoubleSpinBox()
        self.threshold_spin.setRange(0.0, 1.0)
        self.threshold_spin.setDecimals(3)
        self.threshold_spin.setSingleStep(0.05)
        self.threshold_spin.setSpecialValueText("model default")
        self.threshold_spin.setValue(threshold if threshold is not None else 0.0)
        aform.addRow("Threshold", self.threshold_spin)
        cal = (
            f"{self.mm_per_px:g} mm/px for every image"
            if self.mm_per_px
            else "each folder's calibration file (uncalibrated: pixels only)"
        )
        aform.addRow("Calibration", QLabel(cal))
        self.severity_combo = QComboBox()
        self.severity_combo.addItem("auto (concrete if calibrated, else pixels)", "auto")
        for key, scale in PRESETS.items():
            self.severity_combo.addItem(f"{key} ({scale.unit})", key)
        self.severity_combo.setToolTip("\n".join(s.describe() for s in PRESETS.values()))
        aform.addRow("Severity", self.severity_combo)
        self.min_area_spin = QSpinBox()
        self.min_area_spin.setRange(1, 1_000_000)
        self.min_area_spin.setValue(DEFAULT_MIN_AREA_PX)
        self.min_area_spin.setSuffix(" px")
        aform.addRow("Ignore specks under", self.min_area_spin)
        layout.addWidget(analysis)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.status = QLabel("")
        self.outcome = QPlainTextEdit()
        self.outcome.setReadOnly(True)
        self.outcome.setVisible(False)
        self.outcome.setMaximumHeight(140)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.outcome)

        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton(
            "Export", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.open_button = self.buttons.addButton(
            "Open folder", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.open_button.setVisible(False)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.export_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self._cancel_or_close)
        self.open_button.clicked.connect(self._open_folder)
        layout.addWidget(self.buttons)
        self._option_widgets = [images, output, where, analysis]

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    # ----------------------------------------------------------------- running
    def chosen_paths(self) -> list[Path]:
        return list(self.selected if self.selected_radio.isChecked() else self.paths)

    def options(self) -> ExportOptions:
        threshold = self.threshold_spin.value()
        return ExportOptions(
            out_dir=Path(self.folder_edit.text().strip()).expanduser(),
            formats=[f for f, box in self.format_boxes.items() if box.isChecked()],
            overlays=self.overlays_box.isChecked(),
            masks=self.masks_box.isChecked(),
            prob=self.prob_box.isChecked(),
            only_cracked=self.only_cracked.isChecked(),
            reviewed_only=self.reviewed_only.isChecked(),
            existing=self.existing_combo.currentData(),
            threshold=threshold if threshold > 0 else None,
            mm_per_px=self.mm_per_px,
            severity=self.severity_combo.currentData(),
            min_area_px=self.min_area_spin.value(),
            min_confidence=self.min_confidence,
        )

    def _factory(self) -> SourceFactory:
        if self.source_factory is not None:
            return self.source_factory
        # the window's inference options (precision, threads, tiles, flips), so the report
        # has the numbers the panels show; without them, the CLI's defaults
        options = replace(
            self.inference or InferenceOptions(device=self.device, backend=self.backend),
            model=self.model,
        )

        def make():
            try:
                return make_predictor(options)
            except ValueError as exc:
                raise CrackInspectorError(str(exc)) from None

        return make

    def is_running(self) -> bool:
        """An export is in progress (its work has not returned yet)."""
        return not self._run.ended.is_set()

    @Slot()
    def start(self) -> bool:
        """Start exporting with the options shown; False when they are not usable."""
        if self.is_running():
            return False
        options = self.options()
        if not str(options.out_dir) or str(options.out_dir) == ".":
            self._show_error("Choose an output folder.")
            return False
        if not options.formats and not (options.overlays or options.masks or options.prob):
            self._show_error("Choose at least one report or image kind to write.")
            return False
        paths = self.chosen_paths()
        if not paths:
            self._show_error("No images to export.")
            return False
        self.export_result, self.error = None, None
        self.outcome.setVisible(False)
        self.open_button.setVisible(False)
        for w in self._option_widgets:
            w.setEnabled(False)
        self.export_button.setEnabled(False)
        self.cancel_button.setText("Cancel")
        self.progress.setValue(0)
        self.status.setText("Loading the model…" if self.source_factory is None else "Starting…")

        self.exportStarted.emit(options.out_dir)
        self._run = ExportRun()
        self._task = self.runner.start(
            export_job,
            paths,
            options,
            self._factory(),
            self.cache,
            self._run,
            on_yielded=self._on_progress,
            on_returned=self._on_finished,
            on_errored=lambda exc: self._on_failed(failure_text(exc)),
        )
        return True

    def cancel(self) -> None:
        """Ask a running export to stop (it finishes the file it is writing)."""
        if self.is_running():
            self._run.stop.set()  # the engine stops and returns what it did
            self.status.setText("Cancelling…")
            self.cancel_button.setEnabled(False)

    def wait(self, msecs: int = 60_000) -> bool:
        """Join the export task's thread (True when it is not running any more)."""
        return self.runner.wait(msecs)

    def _cancel_or_close(self) -> None:
        if self.is_running():
            self.cancel()
        else:
            self.reject()

    def _on_progress(self, p: Progress) -> None:
        self.exportProgress.emit(p)
        self.progress.setValue(round(p.fraction * 1000))
        if p.stage == "image" and p.path is not None:
            self.status.setText(f"Analysing {p.done + 1} of {p.total}: {p.path.name}")
        elif p.stage == "reports":
            self.status.setText("Writing reports…")
        elif p.stage == "done":
            self.status.setText("Done.")

    def _finish_ui(self) -> None:
        for w in self._option_widgets:
            w.setEnabled(True)
        self.export_button.setEnabled(True)
        self.export_button.setText("Export again")
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Close")

    def _on_finished(self, result: ExportResult) -> None:
        self.export_result = result
        self._finish_ui()
        if result.complete:
            self.progress.setValue(1000)
        self.status.setText(
            "Cancelled." if result.cancelled else ("Stopped." if result.fatal_error else "Done.")
        )
        self.outcome.setPlainText(summary_text(result))
        self.outcome.setVisible(True)
        self.open_button.setVisible(True)
        self.exportFinished.emit(result)

    def _on_failed(self, message: str) -> None:
        self.error = message
        self._finish_ui()
        self._show_error(message)
        self.exportFailed.emit(message)

    def _show_error(self, message: str) -> None:
        self.status.setText("Could not export.")
        self.outcome.setPlainText(message)
        self.outcome.setVisible(True)

    def _open_folder(self) -> None:
        if self.export_result is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.export_result.out_dir)))

    # ----------------------------------------------------------------- closing
    def reject(self) -> None:
        """Closing (Esc, Close, the window's x) cancels a running export and joins it."""
        self.stop()
        super().reject()

    def done(self, code: int) -> None:
        self.stop()
        super().done(code)

    def stop(self) -> None:
        """Cancel a running export and wait until its work has returned (the outcome is
        still delivered to exportFinished)."""
        if self.is_running():
            self.cancel()
        self.wait()

    def shutdown(self) -> None:
        """Stop and join for good (the main window is closing): nothing is delivered."""
        self.cancel()
        self.runner.shutdown()
