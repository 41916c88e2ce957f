"""Training wizard without training: data checks, refusals, settings, menu, log cleaning.

Real CrackForest pairs copied to temp folders, real Qt widgets (offscreen), the real
pairing and preview code in its real background thread.
"""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pytest
from PIL import Image
from PySide6.QtWidgets import QMainWindow, QWizard
from test_gui_training_support import STEMS, copy_pairs, training_isolation  # noqa: F401
from tqdm import tqdm

from crackinspector.core.model.card import ModelCard
from crackinspector.gui.training import install_training_menu
from crackinspector.gui.training.wizard import TrainingWizard
from training.compare import NOT_MEASURED, comparable, comparison_rows
from training.logtext import StderrCleaner
from training.names import default_run_name, name_problem

WAIT_MS = 30_000


@pytest.fixture()
def wizard(qtbot):
    w = TrainingWizard()
    qtbot.addWidget(w)
    w.show()
    return w


def set_folders(qtbot, wizard, images, masks) -> None:
    page = wizard.data_page
    page.images_edit.setText(str(images))
    page.masks_edit.setText(str(masks))
    wait_checked(qtbot, page)


def wait_checked(qtbot, page) -> None:
    qtbot.waitUntil(lambda: page.check is not None, timeout=WAIT_MS)


def next_enabled(wizard) -> bool:
    return wizard.button(QWizard.WizardButton.NextButton).isEnabled()


def test_empty_folder_is_refused_with_the_reason(qtbot, wizard, tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "masks").mkdir()
    set_folders(qtbot, wizard, tmp_path / "empty", tmp_path / "masks")
    assert not next_enabled(wizard)
    assert "no photos here" in wizard.data_page.reason_label.text()
    assert str(tmp_path / "empty") in wizard.data_page.reason_label.text()


def test_missing_masks_are_refused_and_listed(qtbot, wizard, tmp_path, crackforest):
    images, masks = copy_pairs(crackforest, tmp_path, masks=False)
    set_folders(qtbot, wizard, images, masks)
    assert not next_enabled(wizard)
    assert "no masks here" in wizard.data_page.reason_label.text()
    # masks under other names: every photo is listed as unpaired
    for stem in ("101", "102"):
        shutil.copy(crackforest / "masks" / f"{stem}.png", masks)
    wizard.data_page.run_check()
    wait_checked(qtbot, wizard.data_page)
    page = wizard.data_page
    assert not next_enabled(wizard)
    assert "None of the 4 photos has a mask with the same file name" in page.reason_label.text()
    listed = [page.listing.item(i).text() for i in range(page.listing.count())]
    assert "001.jpg: no mask with this name in masks/" in listed
    assert "101.png: mask without a photo in images/" in listed
    assert page.listing.isVisible()


def test_size_mismatch_is_refused_naming_the_files(qtbot, wizard, tmp_path, crackforest):
    images, masks = copy_pairs(crackforest, tmp_path)
    for mask in masks.iterdir():
        Image.open(mask).resize((240, 160), Image.Resampling.NEAREST).save(mask)
    set_folders(qtbot, wizard, images, masks)
    page = wizard.data_page
    assert not next_enabled(wizard)
    assert "None of the 4 photo/mask pairs can be used" in page.reason_label.text()
    listed = [page.listing.item(i).text() for i in range(page.listing.count())]
    assert f"{masks / '001.png'}: mask is 240x160 but its image is 480x320" in listed
    assert len(listed) == 4


def test_good_data_shows_counts_previews_and_skipped_files(qtbot, wizard, tmp_path, crackforest):
    images, masks = copy_pairs(crackforest, tmp_path, stems=(*STEMS, "005"))
    (masks / "005.png").unlink()  # one photo without a mask: skipped, not fatal
    (images / "broken.jpg").write_bytes(b"not a jpeg")
    shutil.copy(masks / "001.png", masks / "broken.png")
    set_folders(qtbot, wizard, images, masks)
    page = wizard.data_page
    assert next_enabled(wizard), page.reason_label.text()
    assert page.reason_label.text() == ""
    assert page.summary_label.text().startswith("3 pairs for training, 1 for validation.")
    assert "1 training photos have no mask" in page.summary_label.text()
    listed = [page.listing.item(i).text() for i in range(page.listing.count())]
    assert "005.jpg: no mask with this name in masks/" in listed
    assert any(line.startswith(str(images / "broken.jpg")) for line in listed)
    # previews: one thumbnail per pair, with red mask pixels drawn on the photo
    assert len(page.check.previews) == 4
    stem, thumb = page.check.previews[0]
    rgb = thumb.astype(int)
    red = (rgb[..., 0] - rgb[..., 1] > 80) & (rgb[..., 0] - rgb[..., 2] > 80)
    assert stem == "001" and thumb.shape[0] == 96 and red.sum() > 20
    from PySide6.QtWidgets import QLabel

    labels = [
        w for w in page.previews.findChildren(QLabel) if w.pixmap() and not w.pixmap().isNull()
    ]
    assert len(labels) == 4


def test_split_file_without_val_list_is_refused(qtbot, wizard, tmp_path, crackforest):
    copy_pairs(crackforest, tmp_path / "set")
    (tmp_path / "set" / "split.json").write_text(
        json.dumps({"train": ["001", "002"], "test": ["003", "004"]})
    )
    page = wizard.data_page
    assert page.set_dataset(tmp_path / "set")
    page.split_radio.setChecked(True)
    wait_checked(qtbot, page)
    assert not next_enabled(wizard)
    assert "has no 'val' list" in page.reason_label.text()
    (tmp_path / "set" / "split.json").write_text(
        json.dumps({"train": ["001", "002"], "val": ["003"], "test": ["004"]})
    )
    page.run_check()
    wait_checked(qtbot, page)
    assert next_enabled(wizard), page.reason_label.text()
    assert page.check.n_train == 2 and page.check.n_val == 1
    assert "1 pairs in the split's test list(s) are not used" in page.summary_label.text()


def test_separate_validation_folders(qtbot, wizard, tmp_path, crackforest):
    images, masks = copy_pairs(crackforest, tmp_path / "train")
    val_images, val_masks = copy_pairs(crackforest, tmp_path / "val", stems=("010",), masks=False)
    set_folders(qtbot, wizard, images, masks)
    page = wizard.data_page
    page.folders_radio.setChecked(True)
    page.val_images_edit.setText(str(val_images))
    page.val_masks_edit.setText(str(val_masks))
    wait_checked(qtbot, page)
    assert not next_enabled(wizard)
    assert "no masks here" in page.reason_label.text()
    shutil.copy(crackforest / "masks" / "010.png", val_masks)
    page.run_check()
    wait_checked(qtbot, page)
    assert next_enabled(wizard)
    args = wizard.build_args(tmp_path / "runs" / "x")
    assert args[args.index("--val-images") + 1] == str(val_images.resolve())
    assert "--val-fraction" not in args


def test_settings_refuse_a_batch_larger_than_the_data(qtbot, wizard, tmp_path, crackforest):
    images, masks = copy_pairs(crackforest, tmp_path)
    set_folders(qtbot, wizard, images, masks)
    wizard.next()
    wizard.model_page.random_radio.setChecked(True)
    wizard.next()
    page = wizard.settings_page
    assert wizard.currentPage() is page
    assert (page.epochs.value(), page.batch.value(), page.lr.value()) == (10, 8, 0.001)
    assert (page.momentum.value(), page.weight_decay.value()) == (0.9, 0.0001)
    assert page.optimiser.currentData() == "sgd" and page.augment.isChecked()
    assert page.device.currentData() in ("cuda", "cpu", "mps")
    assert not next_enabled(wizard)  # 3 training pairs, batch 8, one pass per epoch
    assert "Only 3 training pairs" in page.problem_label.text()
    page.steps.setValue(2)
    assert next_enabled(wizard)
    page.steps.setValue(0)
    page.batch.setValue(2)
    assert next_enabled(wizard)
    wizard.reject()


def test_run_names(tmp_path):
    import datetime as dt

    runs, models = tmp_path / "runs", tmp_path / "models"
    now = dt.datetime(2025, 3, 4, 5, 6)
    assert default_run_name("resnet34", runs, models, now) == "resnet34-20250304-0506"
    (runs / "resnet34-20250304-0506").mkdir(parents=True)
    assert default_run_name("resnet34", runs, models, now) == "resnet34-20250304-0506-2"
    models.mkdir()
    (models / "mine.safetensors").write_bytes(b"x")
    assert "already exists" in name_problem("mine", runs, models)
    assert "letters, digits" in name_problem("my run", runs, models)
    assert name_problem("ok-name_1.2", runs, models) == ""


def test_install_training_menu_adds_tools_before_help(qtbot):
    window = QMainWindow()
    qtbot.addWidget(window)
    window.menuBar().addMenu("&File")
    window.menuBar().addMenu("&Help")
    calls = []
    ui = install_training_menu(window, lambda: calls.append(1))
    titles = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert titles == ["File", "Tools", "Help"]
    tools = window.menuBar().actions()[1].menu()
    assert [a.text() for a in tools.actions()] == ["Train model…", "Training runs…"]
    assert window.findChild(type(ui), "training_ui") is ui
    tools.actions()[1].trigger()
    assert ui.runs_window is not None and ui.runs_window.isVisible()
    assert ui.runs_window.table.rowCount() == 0
    tools.actions()[0].trigger()
    assert ui.wizard is not None and ui.wizard.isVisible()
    ui.close_all()


def test_stderr_cleaner_keeps_messages_and_collapses_real_tqdm_bars():
    buf = io.StringIO()
    bar = tqdm(total=5, desc="epoch 1/2", file=buf, leave=False, mininterval=0, ascii=False)
    for _ in range(5):
        bar.update(1)
        bar.set_postfix(loss="0.5")
    bar.close()
    buf.write("Traceback (most recent call last):\n  File x\nValueError: bad\n")
    text = buf.getvalue()
    assert text.count("\r") > 5
    cleaner = StderrCleaner()
    out = []
    for i in range(0, len(text), 7):  # arbitrary chunking, as pipes deliver it
        out += cleaner.feed(text[i : i + 7])
    out += cleaner.flush()
    lines = [t for kind, t in out if kind == "line"]
    assert lines == ["Traceback (most recent call last):", "  File x", "ValueError: bad"]
    progress = [t for kind, t in out if kind == "progress"]
    assert any(t.startswith("epoch 1/2: 100%") for t in progress)
    assert progress[-1] == ""  # the bar was cleared when it closed


def test_comparison_is_honest_about_different_validation_sets():
    config = {"images": ["/d/images"], "masks": ["/d/masks"], "splits": [], "val_images": [],
              "val_masks": [], "val_fraction": 0.2, "seed": 0, "val_limit": 0}  # fmt: skip
    metrics = {"validation": {"best_f1": 0.61, "best_threshold": 0.4, "f1": 0.6, "iou": 0.43}}
    new = ModelCard(name="new", encoder="resnet18", training={"config": config}, metrics=metrics)
    same = ModelCard(name="old", encoder="resnet34", training={"config": dict(config)},
                     metrics={"validation": {"best_f1": 0.55, "f1": 0.5, "iou": 0.33}})  # fmt: skip
    other = ModelCard(name="other", encoder="resnet34",
                      training={"config": {**config, "val_fraction": 0.3}},
                      metrics={"validation": {"best_f1": 0.9}})  # fmt: skip
    untrained = ModelCard(name="bare", encoder="resnet18")
    assert comparable(new, same) and not comparable(new, other) and not comparable(new, untrained)
    rows, note = comparison_rows(new, same)
    assert rows[0] == ("F1 (at its threshold)", "0.610", "0.550")
    assert "same validation set" in note
    rows, note = comparison_rows(new, other)
    assert rows[0] == ("F1 (at its threshold)", "0.610", "–")
    assert NOT_MEASURED in note and "0.9" not in str(rows)
    rows, note = comparison_rows(new, None)
    assert "No model is in use" in note


def test_preview_thumbnail_shape_matches_the_photo_aspect(crackforest):
    from crackinspector.core.io.pairing import Pair
    from training.preview import make_previews

    pair = Pair("001", crackforest / "images" / "001.jpg", crackforest / "masks" / "001.png")
    ((_stem, thumb),) = make_previews([pair], height=64)
    assert thumb.shape == (64, 96, 3) and thumb.dtype == np.uint8
