"""The wizard's "reviewed photos of this inspection" source: a real inspection store with a
corrected, an accepted and a false-alarm photo, exported by the review engineer's
export_training in the wizard's background task, checked by the trainer's own rules, and
fine-tuning the model in use."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt
from test_gui_training_support import training_isolation  # noqa: F401

from crackinspector.core.model import registry
from crackinspector.core.review.records import ACCEPTED, FALSE_ALARM
from crackinspector.core.review.store import open_store
from crackinspector.gui.training.model_page import FINETUNE
from crackinspector.gui.training.ui import TrainingUi
from training.names import runs_dir


def test_reviewed_photos_become_the_training_data(qtbot, tmp_path, crackforest, tiny_model_path):
    photos = tmp_path / "inspection"
    photos.mkdir()
    for stem in ("001", "002", "003", "004"):
        shutil.copy(crackforest / "images" / f"{stem}.jpg", photos)
    corrected = np.asarray(Image.open(crackforest / "masks" / "001.png")) > 0
    with open_store(photos) as store:
        store.save_mask(photos / "001.jpg", corrected)
        store.set_status(photos / "002.jpg", ACCEPTED)
        store.set_status(photos / "003.jpg", FALSE_ALARM)
        store.flush()  # 004 stays unreviewed: not training data
    model = registry.resolve(tiny_model_path)

    ui = TrainingUi(None, lambda: None, current_model=lambda: model, current_folder=lambda: photos)
    wizard = ui.open_wizard()
    qtbot.addWidget(wizard)
    page = wizard.data_page
    assert page.reviewed_button.isEnabled()
    qtbot.mouseClick(page.reviewed_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "written to" in page.source_label.text(), timeout=120_000)
    out = runs_dir().parent / "reviewed-data"
    assert page.images_edit.text().startswith(str(out)), page.source_label.text()
    qtbot.waitUntil(lambda: page.check is not None, timeout=60_000)
    assert page.check.ok, page.check.reason
    assert page.check.n_train + page.check.n_val == 3
    images, masks = page.images_edit.text(), page.masks_edit.text()
    assert sorted(p.name for p in Path(images).iterdir()) == [
        "001.jpg", "002.jpg", "003.jpg"
    ]  # fmt: skip
    written = {p.stem: np.asarray(Image.open(p)) > 0 for p in Path(masks).iterdir()}
    assert np.array_equal(written["001"], corrected)  # the edited mask
    assert not written["003"].any()  # a false alarm teaches what is not a crack
    # training continues from the model in use
    assert wizard.model_page.start_from() == FINETUNE
    assert wizard.model_page.base_model().weights_path == model.weights_path
    args = wizard.build_args(tmp_path / "runs" / "x")
    assert args[args.index("--init") + 1] == str(model.weights_path)
    assert args[args.index("--images") + 1] == str(Path(images).resolve())
    wizard.reject()
