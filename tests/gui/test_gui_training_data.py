"""Training wizard without training: data checks, refusals, settings, menu, log cleaning.

Real CrackForest pairs copied to temp folders, real Qt widgets (offscreen), the real
pairing and preview code in its real background thread.
"""

from __future__ import annotations

import json
import shutil

import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard
from test_gui_training_support import STEMS, copy_pairs, training_isolation  # noqa: F401

from crackinspector.gui.training.ui import TrainingUi
from crackinspector.gui.training.wizard import TrainingWizard

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


def test_teacher_option_reaches_the_trainer_and_the_estimate(qtbot, wizard, tmp_path, crackforest):
    """Distillation from the wizard: off by default; choosing a teacher puts --teacher and
    --distill-weight on the trainer's command line (parsed by the trainer itself), names it
    in the summary, and the time estimate is measured again with the teacher's pass."""
    images, masks = copy_pairs(crackforest, tmp_path)
    set_folders(qtbot, wizard, images, masks)
    wizard.next()
    page = wizard.model_page
    page.set_encoder("resnet18")
    page.random_radio.setChecked(True)
    assert not page.teacher_check.isChecked() and not page.teacher_combo.isEnabled()
    assert "--teacher" not in wizard.build_args(tmp_path / "runs" / "plain")
    page.teacher_check.setChecked(True)
    page.teacher_combo.setCurrentIndex(
        page.teacher_combo.findText("unet-resnet34", Qt.MatchStartsWith)
    )
    page.teacher_weight.setValue(2.5)
    teacher = page.teacher()
    assert teacher is not None and teacher.name == "unet-resnet34"
    assert "unet-resnet34's predicted probabilities" in page.teacher_note.text()
    assert next_enabled(wizard)
    wizard.next()
    settings = wizard.settings_page
    settings.steps.setValue(2)
    settings.batch.setValue(2)
    settings.crop.setValue(64)
    settings.device.setCurrentIndex(settings.device.findData("cpu"))
    assert settings._key()[-1] == "resnet34"  # the estimate times the teacher too
    qtbot.waitUntil(lambda: "Time per epoch ≈" in settings.estimate_label.text(), timeout=120_000)
    assert "with the teacher's forward pass" in settings.estimate_label.text()
    args = wizard.build_args(tmp_path / "runs" / "taught")
    assert wizard.config_problem(args) == ""
    from training.cli import build_parser, config_from_args

    cfg = config_from_args(build_parser().parse_args(args))
    assert cfg.teacher == str(teacher.weights_path) and cfg.distill_weight == 2.5
    assert "unet-resnet34, weight 2.5" in wizard.summary_html()
    wizard.reject()


def test_training_ui_keeps_one_wizard_and_one_runs_window(qtbot):
    ui = TrainingUi(None, models_changed=lambda: None)
    runs = ui.open_runs()
    qtbot.addWidget(runs)
    assert runs.isVisible() and runs.table.rowCount() == 0
    assert ui.open_runs() is runs
    wizard = ui.open_wizard()
    qtbot.addWidget(wizard)
    assert wizard.isVisible() and ui.open_wizard() is wizard
    assert not wizard.data_page.reviewed_button.isEnabled()  # no photo folder open
    ui.close_all()
