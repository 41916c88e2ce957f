"""Tools → Train model…: a four-page wizard that starts `crackinspector-train` in the
background (data → model → settings → summary). Starting hands the run to the RunManager
and emits `run_started(run folder)`; the wizard then closes and the run goes on."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QMessageBox, QWidget, QWizard

from crackinspector.core.model.registry import ModelInfo
from training.check import FOLDERS, FRACTION, SPLIT, DataCheck, choice_args
from training.estimate import format_duration
from training.names import runs_dir

from .data_page import DataPage
from .manager import RunManager, run_manager
from .model_page import FINETUNE, IMAGENET, ModelPage
from .settings_page import SettingsPage
from .summary_page import SummaryPage


class TrainingWizard(QWizard):
    run_started = Signal(object)  # Path of the new run folder

    def __init__(
        self,
        manager: RunManager | None = None,
        parent: QWidget | None = None,
        current_model: Callable[[], ModelInfo | None] | None = None,
        current_folder: Callable[[], Path | None] | None = None,
    ) -> None:
        """`current_model` / `current_folder`: the main window's model and photo folder,
        for the "reviewed photos of this inspection" source (fine-tuning the model in use)."""
        super().__init__(parent)
        self.manager = manager or run_manager()
        self.current_model = current_model or (lambda: None)
        self.setWindowTitle("Train a model")
        self.setObjectName("training_wizard")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.data_page = DataPage(self)
        self.model_page = ModelPage(self)
        self.settings_page = SettingsPage(self)
        self.summary_page = SummaryPage(self)
        for page in (self.data_page, self.model_page, self.settings_page, self.summary_page):
            self.addPage(page)
        model = self.current_model()
        folder = current_folder() if current_folder is not None else None
        self.data_page.set_inspection(folder, str(model.weights_path) if model else None)
        self.data_page.reviewed_ready.connect(self._reviewed_ready)
        self.run_dir: Path | None = None
        self.resize(760, 680)

    def _reviewed_ready(self) -> None:
        """Reviewed photos teach the model in use about this inspection: fine-tune it."""
        model = self.current_model()
        if model is not None:
            self.model_page.fine_tune_from(model)

    # ------------------------------------------------------------------ shared state
    def data_check(self) -> DataCheck | None:
        return self.data_page.check

    def encoder(self) -> str:
        return self.model_page.encoder()

    def teacher_encoder(self) -> str:
        teacher = self.model_page.teacher()
        return teacher.card.encoder if teacher is not None else ""

    def build_args(self, run_dir: Path) -> list[str]:
        args = choice_args(self.data_page.choice())
        args += ["--encoder", self.encoder(), "--init", self.model_page.init_arg()]
        args += self.model_page.teacher_args()
        args += self.settings_page.args()
        args += ["--out", str(run_dir), "--export-dir", str(self.summary_page.export_dir())]
        return args

    def config_problem(self, args: list[str]) -> str:
        """The trainer's own validation of these arguments ('' when they are fine)."""
        from training.cli import build_parser, config_from_args

        try:
            config_from_args(build_parser().parse_args(args)).validate()
        except (ValueError, SystemExit) as exc:
            return str(exc) or "invalid settings"
        return ""

    def summary_html(self) -> str:
        c, check, s = self.data_page.choice(), self.data_check(), self.settings_page
        how = {
            FRACTION: f"a random {c.val_fraction:.0%} of the pairs",
            SPLIT: f"the 'val' list of {Path(c.split_file).name}",
            FOLDERS: f"{c.val_images}",
        }[c.validation]
        start = self.model_page.start_from()
        init = {
            IMAGENET: "ImageNet weights (downloaded on first use)",
            "random": "random weights",
        }.get(start, "")
        if start == FINETUNE and self.model_page.base_model() is not None:
            init = f"the model {self.model_page.base_model().name}"
        teacher = self.model_page.teacher()
        taught = (
            f"{teacher.name}, weight {self.model_page.teacher_weight.value():g}"
            if teacher is not None
            else "none (the masks only)"
        )
        epoch_s = s.estimated_epoch_seconds()
        time_text = (
            f"about {format_duration(epoch_s * s.epochs.value())}" if epoch_s else "not measured"
        )
        rows = [
            ("Photos", f"{c.images} ({check.n_train if check else '?'} pairs for training)"),
            ("Validation", f"{how} ({check.n_val if check else '?'} pairs)"),
            ("Model", f"U-Net, {self.encoder()} encoder, starting from {init}"),
            ("Teacher", taught),
            (
                "Training",
                f"{s.epochs.value()} epochs, batch {s.batch.value()}, "
                f"{s.optimiser.currentText()}, learning rate {s.lr.value():g}, "
                f"{s.crop.value()} px crops, "
                f"augmentation {'on' if s.augment.isChecked() else 'off'}",
            ),
            ("Device", s.device.currentText()),
            ("Time", time_text),
        ]
        cells = "".join(
            f"<tr><td><b>{html.escape(k)}</b>&nbsp;&nbsp;</td><td>{html.escape(v)}</td></tr>"
            for k, v in rows
        )
        return f"<table>{cells}</table>"

    # ------------------------------------------------------------------ start
    def accept(self) -> None:
        name = self.summary_page.run_name()
        run_dir = runs_dir() / name
        args = self.build_args(run_dir)
        problem = self.config_problem(args)
        if problem:
            QMessageBox.warning(self, "Cannot start training", problem)
            return
        runs_dir().mkdir(parents=True, exist_ok=True)
        try:
            self.manager.start(run_dir, args)
        except OSError as exc:  # no interpreter, no room for the run folder, ...
            QMessageBox.warning(self, "Cannot start training", f"{run_dir}: {exc}")
            return
        self.run_dir = run_dir
        self.run_started.emit(run_dir)
        super().accept()

    def done(self, result: int) -> None:
        self.data_page.cancel_tasks()
        self.settings_page.shutdown()
        super().done(result)
