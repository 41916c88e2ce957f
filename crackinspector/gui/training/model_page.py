"""Wizard page 2: the encoder and the weights to start from."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QLabel,
    QRadioButton,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from crackinspector.core.model.registry import ModelInfo, list_models
from training.config import ENCODERS

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
        layout.addStretch(1)
        self.encoder_combo.currentIndexChanged.connect(self._update)
        self.model_combo.currentIndexChanged.connect(self._update)
        self._update()

    def reload_models(self) -> None:
        current = self.model_combo.currentData()
        self.model_combo.clear()
        for info in list_models():
            self.model_combo.addItem(f"{info.name}  ({info.card.encoder})", info)
        if current is not None:
            for i in range(self.model_combo.count()):
                if self.model_combo.itemData(i).weights_path == current.weights_path:
                    self.model_combo.setCurrentIndex(i)
        self.finetune_radio.setEnabled(self.model_combo.count() > 0)
        if not self.model_combo.count():
            self.finetune_radio.setToolTip("No models installed yet")

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
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.start_from() != FINETUNE or self.base_model() is not None
