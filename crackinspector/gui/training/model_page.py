"""Wizard page 2: the encoder, the weights to start from, and an optional teacher model to
learn from beside the masks (distillation)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QRadioButton,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from crackinspector.core.model.registry import ModelInfo, list_models
from training.config import ENCODERS, TrainConfig

# The research encoders first, then a few others the trainer supports.
OFFERED = tuple(
    e for e in ("resnet34", "vgg16", "resnet18", "resnet50", "vgg16_bn", "vgg11") if e in ENCODERS
)
ENCODER_NOTES = {
    "resnet34": "ResNet-34: the default; good accuracy for its speed",
    "vgg16": "VGG-16: the original research's other encoder; slower, heavier",
    "resnet18": "ResNet-18: smallest and fastest; for small data sets or slow computers",
    "resnet50": "ResNet-50: larger; needs more data and time",
    "vgg16_bn": "VGG-16 with batch normalisation: trains more stably than VGG-16",
    "vgg11": "VGG-11: a lighter VGG",
}
RANDOM, IMAGENET, FINETUNE = "random", "imagenet", "finetune"


class ModelPage(QWizardPage):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Model")
        self.setSubTitle("The network to train and the weights it starts from.")
        self.encoder_combo = QComboBox(self)
        for name in OFFERED:
            self.encoder_combo.addItem(name, name)
            self.encoder_combo.setItemData(
                self.encoder_combo.count() - 1, ENCODER_NOTES[name], Qt.ItemDataRole.ToolTipRole
            )
        self.encoder_combo.setAccessibleName("Encoder")
        self.encoder_note = QLabel(self)
        self.encoder_note.setWordWrap(True)

        self.random_radio = QRadioButton("Random weights", self)
        self.imagenet_radio = QRadioButton("ImageNet-pretrained encoder", self)
        self.finetune_radio = QRadioButton("An existing model (fine-tune it on this data)", self)
        self.imagenet_radio.setChecked(True)
        group = QButtonGroup(self)
        for button in (self.random_radio, self.imagenet_radio, self.finetune_radio):
            group.addButton(button)
            button.toggled.connect(self._update)
        self.model_combo = QComboBox(self)
        self.model_combo.setAccessibleName("Model to fine-tune")
        self.init_note = QLabel(self)
        self.init_note.setWordWrap(True)

        self.teacher_check = QCheckBox(
            "Also learn from a trained model's predictions (distillation)", self
        )
        self.teacher_combo = QComboBox(self)
        self.teacher_combo.setAccessibleName("Teacher model")
        self.teacher_weight = QDoubleSpinBox(self)
        self.teacher_weight.setRange(0.05, 10.0)
        self.teacher_weight.setDecimals(2)
        self.teacher_weight.setSingleStep(0.25)
        self.teacher_weight.setValue(TrainConfig().distill_weight)
        self.teacher_weight.setAccessibleName("Teacher weight")
        self.teacher_note = QLabel(self)
        self.teacher_note.setWordWrap(True)
        self.reload_models()

        form = QFormLayout()
        form.addRow("Encoder:", self.encoder_combo)
        form.addRow("", self.encoder_note)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("<b>Start from</b>"))
        layout.addWidget(self.imagenet_radio)
        layout.addWidget(self.random_radio)
        layout.addWidget(self.finetune_radio)
        layout.addWidget(self.model_combo)
        layout.addWidget(self.init_note)
        layout.addWidget(QLabel("<b>Teacher</b>"))
        layout.addWidget(self.teacher_check)
        teacher_form = QFormLayout()
        teacher_form.addRow("Teacher model:", self.teacher_combo)
        teacher_form.addRow("Weight of its predictions:", self.teacher_weight)
        layout.addLayout(teacher_form)
        layout.addWidget(self.teacher_note)
        layout.addStretch(1)
        self.encoder_combo.currentIndexChanged.connect(self._update)
        self.model_combo.currentIndexChanged.connect(self._update)
        self.teacher_check.toggled.connect(self._update)
        self.teacher_combo.currentIndexChanged.connect(self._update)
        self._update()

    def reload_models(self) -> None:
        models = list_models()
        for combo in (self.model_combo, self.teacher_combo):
            _fill(combo, models)
        self.finetune_radio.setEnabled(self.model_combo.count() > 0)
        self.teacher_check.setEnabled(self.teacher_combo.count() > 0)
        if not self.model_combo.count():
            self.finetune_radio.setToolTip("No models installed yet")
            self.teacher_check.setToolTip("No models installed yet")

    # ------------------------------------------------------------------ values
    def start_from(self) -> str:
        if self.finetune_radio.isChecked():
            return FINETUNE
        return IMAGENET if self.imagenet_radio.isChecked() else RANDOM

    def base_model(self) -> ModelInfo | None:
        return self.model_combo.currentData() if self.start_from() == FINETUNE else None

    def encoder(self) -> str:
        base = self.base_model()
        return base.card.encoder if base is not None else str(self.encoder_combo.currentData())

    def init_arg(self) -> str:
        base = self.base_model()
        if base is not None:
            return str(base.weights_path)
        return self.start_from()

    def teacher(self) -> ModelInfo | None:
        return self.teacher_combo.currentData() if self.teacher_check.isChecked() else None

    def teacher_args(self) -> list[str]:
        teacher = self.teacher()
        if teacher is None:
            return []
        weight = f"{self.teacher_weight.value():g}"
        return ["--teacher", str(teacher.weights_path), "--distill-weight", weight]

    def fine_tune_from(self, info: ModelInfo) -> None:
        """Start from `info` (the model in use), listed even when it lives outside the model
        folder (a file opened in the main window)."""
        self.reload_models()
        index = next(
            (
                i
                for i in range(self.model_combo.count())
                if self.model_combo.itemData(i).weights_path == info.weights_path
            ),
            -1,
        )
        if index < 0:
            self.model_combo.addItem(f"{info.name}  ({info.card.encoder})", info)
            index = self.model_combo.count() - 1
            self.finetune_radio.setEnabled(True)
        self.model_combo.setCurrentIndex(index)
        self.finetune_radio.setChecked(True)

    def set_encoder(self, name: str) -> None:
        self.encoder_combo.setCurrentIndex(max(0, self.encoder_combo.findData(name)))

    def _update(self, *_: object) -> None:
        finetune = self.start_from() == FINETUNE
        self.model_combo.setEnabled(finetune)
        self.encoder_combo.setEnabled(not finetune)
        base = self.base_model()
        if base is not None:
            self.encoder_note.setText(f"{base.card.encoder}, from the model {base.name}.")
            metrics = base.card.summary_metrics()
            self.init_note.setText(
                f"Training continues from {base.name}'s weights (its card: {metrics}). "
                "Use this to adapt a model to your own surfaces with few labelled photos."
            )
        else:
            self.encoder_note.setText(ENCODER_NOTES.get(self.encoder(), ""))
            if self.start_from() == IMAGENET:
                self.init_note.setText(
                    "The encoder starts from weights learnt on ImageNet photos: usually the best "
                    "choice. They are downloaded from the internet the first time an encoder is "
                    "used (then cached); without internet the run stops at once and says so; "
                    "then choose random weights or an existing model."
                )
            else:
                self.init_note.setText(
                    "Every weight starts random: needs much more data and more epochs. "
                    "Works offline."
                )
        teaching = self.teacher_check.isChecked()
        self.teacher_combo.setEnabled(teaching)
        self.teacher_weight.setEnabled(teaching)
        teacher = self.teacher()
        self.teacher_note.setText(
            f"Each crop's loss also counts the difference from {teacher.name}'s predicted "
            "probabilities, times the weight: a way to carry a better model's judgement "
            "(where a faint crack goes on, what a joint is) into another encoder or onto "
            "your data. Every step also runs the teacher, so steps take longer (the next "
            "page measures it)."
            if teacher is not None
            else "Optional: a trained model whose predictions the run learns from beside "
            "your masks (the bundled unet-vgg16 learnt from unet-resnet34 this way)."
        )
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        if self.teacher_check.isChecked() and self.teacher() is None:
            return False
        return self.start_from() != FINETUNE or self.base_model() is not None


def _fill(combo: QComboBox, models: list[ModelInfo]) -> None:
    """The installed models, keeping the selected one selected."""
    current = combo.currentData()
    combo.clear()
    for info in models:
        combo.addItem(f"{info.name}  ({info.card.encoder})", info)
    if current is not None:
        for i in range(combo.count()):
            if combo.itemData(i).weights_path == current.weights_path:
                combo.setCurrentIndex(i)
