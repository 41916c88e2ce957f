"""Wizard page 4: what will run, under which name, and where."""

from __future__ import annotations

import html

from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from crackinspector.core.model.registry import user_models_dir
from training.names import default_run_name, name_problem, runs_dir


class SummaryPage(QWizardPage):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Summary")
        self.setSubTitle(
            "Training runs in the background, in its own process: you can close this window, "
            "or CrackInspector itself, and it goes on. Follow it, stop it or resume it from "
            "Tools → Training runs."
        )
        self.setButtonText(QWizard.WizardButton.FinishButton, "Start training")
        self.name_edit = QLineEdit(self)
        self.name_edit.setAccessibleName("Run name")
        self.name_edit.textChanged.connect(self._name_changed)
        self.folder_label = QLabel(self)
        self.folder_label.setWordWrap(True)
        self.problem_label = QLabel(self)
        self.problem_label.setStyleSheet("color: #b3261e;")
        self.problem_label.setWordWrap(True)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self._named_for: str | None = None
        form = QFormLayout()
        form.addRow("Run and model name:", self.name_edit)
        form.addRow("Run folder:", self.folder_label)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addLayout(form)
        layout.addWidget(self.problem_label)
        layout.addStretch(1)

    def export_dir(self):
        return user_models_dir()

    def initializePage(self) -> None:
        w = self.wizard()
        encoder = w.encoder()
        if self._named_for != encoder:  # keep a name the user typed unless the encoder changed
            self.name_edit.setText(default_run_name(encoder, runs_dir(), self.export_dir()))
            self._named_for = encoder
        self.summary.setText(w.summary_html())
        self._name_changed()

    def run_name(self) -> str:
        return self.name_edit.text().strip()

    def _name_changed(self, *_: object) -> None:
        self.folder_label.setText(html.escape(str(runs_dir() / (self.run_name() or "…"))))
        self.problem_label.setText(name_problem(self.run_name(), runs_dir(), self.export_dir()))
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return not name_problem(self.run_name(), runs_dir(), self.export_dir())
