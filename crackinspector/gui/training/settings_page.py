"""Wizard page 3: optimisation settings, preset to the original research's, and a measured
estimate of the time per epoch."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from crackinspector.gui.tasks import TaskRunner, one_line
from training.config import TrainConfig
from training.estimate import (
    StepTiming,
    epoch_seconds,
    format_duration,
    measure_step,
    training_devices,
)
from training.plan import log_every, steps_per_epoch

ESTIMATE_DELAY_MS = 800
WIZARD_EMA_DECAY = 0.999  # per step: an average over about the last thousand steps


def _double(parent, lo, hi, value, decimals, step) -> QDoubleSpinBox:
    spin = QDoubleSpinBox(parent)
    spin.setRange(lo, hi)
    spin.setDecimals(decimals)
    spin.setSingleStep(step)
    spin.setValue(value)
    return spin


def _int(parent, lo, hi, value, step=1) -> QSpinBox:
    spin = QSpinBox(parent)
    spin.setRange(lo, hi)
    spin.setSingleStep(step)
    spin.setValue(value)
    return spin


class SettingsPage(QWizardPage):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Settings")
        self.setSubTitle(
            "Preset to the original research: SGD, learning rate 0.001, momentum 0.9, batch 8, "
            "weight decay 0.0001, 10 epochs."
        )
        d = TrainConfig()
        self.epochs = _int(self, 1, 1000, d.epochs)
        self.lr = _double(self, 1e-6, 1.0, d.lr, 6, 1e-4)
        self.momentum = _double(self, 0.0, 0.999, d.momentum, 3, 0.05)
        self.batch = _int(self, 1, 256, d.batch_size)
        self.weight_decay = _double(self, 0.0, 0.1, d.weight_decay, 6, 1e-4)
        self.optimiser = QComboBox(self)
        self.optimiser.addItem("SGD with momentum", "sgd")
        self.optimiser.addItem("AdamW", "adamw")
        self.device = QComboBox(self)
        for label, value in training_devices():
            self.device.addItem(label, value)
        self.augment = QCheckBox("Random flips, rotations, colour and scale changes", self)
        self.augment.setChecked(d.augment)
        self.average = QCheckBox(
            "Keep a moving average of the weights and export it (steadier from epoch to epoch)",
            self,
        )
        self.average.setChecked(d.ema > 0)
        self.crop = _int(self, 64, 1024, d.crop_size, 32)
        self.crop.setSuffix(" px")
        self.steps = _int(self, 0, 1_000_000, d.steps_per_epoch)
        self.steps.setSpecialValueText("one pass over the training pairs")
        self.estimate_label = QLabel(self)
        self.estimate_label.setWordWrap(True)
        self.estimate_label.setAccessibleName("Time per epoch")
        self.problem_label = QLabel(self)
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet("color: #b3261e;")

        form = QFormLayout()
        form.addRow("Epochs:", self.epochs)
        form.addRow("Learning rate:", self.lr)
        form.addRow("Momentum:", self.momentum)
        form.addRow("Batch size:", self.batch)
        form.addRow("Weight decay:", self.weight_decay)
        form.addRow("Optimiser:", self.optimiser)
        form.addRow("Device:", self.device)
        form.addRow("Augmentation:", self.augment)
        form.addRow("Weight average:", self.average)
        form.addRow("Crop size:", self.crop)
        form.addRow("Steps per epoch:", self.steps)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problem_label)
        layout.addWidget(self.estimate_label)
        layout.addStretch(1)

        self.timing: StepTiming | None = None
        self._timing_key: tuple | None = None
        self._tasks = TaskRunner("training-time-estimate", parent=self)
        self._timer = QTimer(self, singleShot=True, interval=ESTIMATE_DELAY_MS)
        self._timer.timeout.connect(self.measure)
        for spin in (self.batch, self.crop, self.steps, self.epochs):
            spin.valueChanged.connect(self._changed)
        self.device.currentIndexChanged.connect(self._changed)
        self.optimiser.currentIndexChanged.connect(
            lambda: self.momentum.setEnabled(self.optimiser.currentData() == "sgd")
        )

    # ------------------------------------------------------------------ data from page 1/2
    def _counts(self) -> tuple[int, int, tuple[int, int]]:
        check = getattr(self.wizard(), "data_check", lambda: None)()
        if check is None:
            return 0, 0, (0, 0)
        return check.n_train, check.n_val, check.val_size

    def _encoder(self) -> str:
        return getattr(self.wizard(), "encoder", lambda: "resnet34")()

    def _teacher_encoder(self) -> str:
        return getattr(self.wizard(), "teacher_encoder", lambda: "")()

    def initializePage(self) -> None:
        self._changed()

    def cleanupPage(self) -> None:
        self.cancel_tasks()

    # ------------------------------------------------------------------ checks
    def problem(self) -> str:
        n_train = self._counts()[0]
        if self.crop.value() % 32:
            return "The crop size must be a multiple of 32."
        if self.steps.value() == 0 and n_train and n_train < self.batch.value():
            return (
                f"Only {n_train} training pairs: with a batch of {self.batch.value()} an epoch "
                "would have no full batch. Lower the batch size or set steps per epoch."
            )
        return ""

    def isComplete(self) -> bool:
        problem = self.problem()
        self.problem_label.setText(problem)
        return not problem

    # ------------------------------------------------------------------ estimate
    def _key(self) -> tuple:
        return (
            self._encoder(),
            self.batch.value(),
            self.crop.value(),
            self.device.currentData(),
            self._counts()[2],
            self._teacher_encoder(),
        )

    def _changed(self, *_: object) -> None:
        self.completeChanged.emit()
        if self._key() == self._timing_key and self.timing is not None:
            self._show_estimate()
            return
        self.timing = None
        self.estimate_label.setText("Time per epoch: measuring a few training steps…")
        self._timer.start()

    def measure(self) -> None:
        key = self._key()
        self._tasks.start(
            measure_step,
            *key,
            key="estimate",  # a newer measurement replaces an unfinished one
            on_returned=lambda timing: self._measured(key, timing),
            on_errored=lambda exc: self._measure_failed(key, exc),
        )

    def _measured(self, key: tuple, timing: StepTiming) -> None:
        if key != self._key():
            return
        self.timing, self._timing_key = timing, key
        self._show_estimate()

    def _measure_failed(self, key: tuple, exc: BaseException) -> None:
        if key == self._key():
            reason = one_line(exc)
            self.estimate_label.setText(f"Time per epoch: could not be measured ({reason}).")

    def _show_estimate(self) -> None:
        seconds = self.estimated_epoch_seconds()
        if self.timing is None or seconds is None:
            return
        n_train, n_val, _ = self._counts()
        steps = steps_per_epoch(n_train, self.batch.value(), self.steps.value())
        teacher = " with the teacher's forward pass" if self._teacher_encoder() else ""
        self.estimate_label.setText(
            f"Time per epoch ≈ {format_duration(seconds)} ({steps} steps of "
            f"{self.timing.seconds_per_step:.2f} s measured on {self.timing.device}{teacher}, "
            "plus "
            f"{n_val} validation images at {self.timing.seconds_per_val_image:.2f} s); "
            f"{self.epochs.value()} epochs ≈ "
            f"{format_duration(seconds * self.epochs.value())}."
        )

    def estimated_epoch_seconds(self) -> float | None:
        if self.timing is None:
            return None
        n_train, n_val, _ = self._counts()
        steps = steps_per_epoch(n_train, self.batch.value(), self.steps.value())
        return epoch_seconds(self.timing, steps, n_val)

    def cancel_tasks(self) -> None:
        """Stop a measurement (it ends at its next step); `shutdown` also joins it."""
        self._timer.stop()
        self._tasks.cancel()

    def shutdown(self) -> None:
        self._timer.stop()
        self._tasks.shutdown()

    # ------------------------------------------------------------------ values
    def args(self) -> list[str]:
        args = [
            "--epochs",
            str(self.epochs.value()),
            "--lr",
            f"{self.lr.value():g}",
            "--batch-size",
            str(self.batch.value()),
            "--weight-decay",
            f"{self.weight_decay.value():g}",
            "--optimiser",
            str(self.optimiser.currentData()),
            "--device",
            str(self.device.currentData()),
            "--crop-size",
            str(self.crop.value()),
            "--steps-per-epoch",
            str(self.steps.value()),
        ]
        # about 50 loss points per epoch on the chart, one per step for short epochs
        every = log_every(self._counts()[0], self.batch.value(), self.steps.value())
        args += ["--log-every", str(every)]
        if self.optimiser.currentData() == "sgd":
            args += ["--momentum", f"{self.momentum.value():g}"]
        if not self.augment.isChecked():
            args.append("--no-augment")
        if self.average.isChecked():
            args += ["--ema", f"{WIZARD_EMA_DECAY:g}"]
        return args
