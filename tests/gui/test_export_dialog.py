"""ExportDialog (offscreen): real exports as a background task, cancel, close, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from file_checks import assert_only_complete_files
from gui_support import _no_running_qthreads  # noqa: F401 - autouse leak check

from crackinspector.core.pipeline.engine import MaskFolderSource
from crackinspector.gui.export_dialog import ExportDialog

TIMEOUT_MS = 180_000  # two busy cores shared with training runs


def photos(crackforest, *stems):
    return [crackforest / "images" / f"{s}.jpg" for s in stems]


def make(qtbot, *args, **kwargs) -> ExportDialog:
    dialog = ExportDialog(*args, **kwargs)
    qtbot.addWidget(dialog)
    return dialog


def test_real_export_with_the_model(qtbot, crackforest, tiny_model_path, tmp_path) -> None:
    out = tmp_path / "out"
    dialog = make(
        qtbot, photos(crackforest, "001", "002"), model=tiny_model_path, threshold=0.6,
        out_dir=out,
    )  # fmt: skip
    dialog.masks_box.setChecked(True)
    dialog.show()
    progress = []
    with qtbot.waitSignal(dialog.exportFinished, timeout=TIMEOUT_MS) as sig:
        dialog.export_button.click()
        assert dialog.is_running() and not dialog.export_button.isEnabled()
        dialog.exportProgress.connect(progress.append)
    result = sig.args[0]
    assert dialog.wait() and not dialog.is_running()
    assert result.complete and result.exit_code() == 0 and result.out_dir == out
    assert [r.status for r in result.records] == ["ok", "ok"]
    assert {"report.pdf", "report.html", "report.json", "images.csv", "cracks.csv"} <= {
        p.name for p in result.written
    }
    assert (out / "masks" / "001.png").is_file() and (out / "overlays" / "002.png").is_file()
    assert_only_complete_files(out)
    assert dialog.progress.value() == 1000 and dialog.status.text() == "Done."
    assert "2 of 2 image(s) analysed" in dialog.outcome.toPlainText()
    assert dialog.cancel_button.text() == "Close" and dialog.export_button.isEnabled()
    assert progress and progress[-1].stage == "done"


def test_selected_images_only(qtbot, crackforest, tmp_path) -> None:
    paths = photos(crackforest, "001", "081", "097")
    dialog = make(
        qtbot, paths, selected=[paths[1]], out_dir=tmp_path / "out",
        source_factory=lambda: MaskFolderSource(crackforest / "masks"),
    )  # fmt: skip
    assert dialog.selected_radio.isChecked()
    for fmt, box in dialog.format_boxes.items():
        box.setChecked(fmt == "json")
    with qtbot.waitSignal(dialog.exportFinished, timeout=TIMEOUT_MS) as sig:
        assert dialog.start()
    assert [r.path.name for r in sig.args[0].records] == ["081.jpg"]
    dialog.all_radio.setChecked(True)
    dialog.existing_combo.setCurrentIndex(dialog.existing_combo.findData("new-folder"))
    with qtbot.waitSignal(dialog.exportFinished, timeout=TIMEOUT_MS) as sig:
        assert dialog.start()
    again = sig.args[0]
    assert len(again.records) == 3 and again.out_dir == tmp_path / "out-2"
    assert dialog.wait()


def test_cancel_midway_leaves_only_complete_files(qtbot, crackforest, tiny_model_path, tmp_path):
    out = tmp_path / "out"
    dialog = make(
        qtbot, photos(crackforest, "001", "002", "003"), model=tiny_model_path,
        threshold=0.6, out_dir=out,
    )  # fmt: skip
    dialog.masks_box.setChecked(True)
    dialog.prob_box.setChecked(True)

    def on_progress(p) -> None:  # cancel as soon as the second photo starts
        if p.path is not None and p.path.stem == "002":
            dialog.cancel()

    with qtbot.waitSignal(dialog.exportFinished, timeout=TIMEOUT_MS) as sig:
        dialog.start()
        dialog.exportProgress.connect(on_progress)
    result = sig.args[0]
    assert dialog.wait()
    # The cancel reaches the worker asynchronously (a queued signal), so one or two photos
    # may finish first; whichever did keeps all its files, and nothing else is written.
    done = [r.path.stem for r in result.records]
    assert result.cancelled and done in (["001"], ["001", "002"])
    files = assert_only_complete_files(out)
    assert sorted(p.relative_to(out).as_posix() for p in files) == sorted(
        f"{kind}/{stem}.png" for stem in done for kind in ("masks", "overlays", "prob")
    )
    assert dialog.status.text() == "Cancelled."
    assert "no reports were written" in dialog.outcome.toPlainText()


def test_closing_while_running_cancels_and_joins(qtbot, crackforest, tiny_model_path, tmp_path):
    dialog = make(
        qtbot, photos(crackforest, "001", "002", "003"), model=tiny_model_path,
        out_dir=tmp_path / "out",
    )  # fmt: skip
    finished = []
    dialog.exportFinished.connect(finished.append)
    dialog.show()
    assert dialog.start()
    qtbot.waitUntil(lambda: dialog.status.text().startswith("Analysing"), timeout=TIMEOUT_MS)
    dialog.reject()  # Esc / Close / the window's x
    assert not dialog.is_running()
    qtbot.waitUntil(lambda: bool(finished), timeout=10_000)
    assert finished[0].cancelled
    assert_only_complete_files(tmp_path / "out")


def test_problems_are_shown(qtbot, crackforest, tmp_path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    dialog = make(
        qtbot, photos(crackforest, "001"), out_dir=blocker / "out",
        source_factory=lambda: MaskFolderSource(crackforest / "masks"),
    )  # fmt: skip
    with qtbot.waitSignal(dialog.exportFailed, timeout=TIMEOUT_MS) as sig:
        dialog.start()
    assert "not a folder" in sig.args[0] and "\n" not in sig.args[0]
    assert dialog.wait() and dialog.export_button.isEnabled()
    assert str(blocker / "out") in dialog.outcome.toPlainText()

    for box in [*dialog.format_boxes.values(), dialog.overlays_box]:
        box.setChecked(False)
    assert not dialog.start()
    assert "at least one" in dialog.outcome.toPlainText()


@pytest.mark.parametrize("preset", ["concrete"])
def test_mm_preset_without_calibration_fails_cleanly(qtbot, crackforest, tmp_path, preset):
    dialog = make(
        qtbot, photos(crackforest, "001"), out_dir=tmp_path / "out",
        source_factory=lambda: MaskFolderSource(crackforest / "masks"),
    )  # fmt: skip
    dialog.severity_combo.setCurrentIndex(dialog.severity_combo.findData(preset))
    with qtbot.waitSignal(dialog.exportFailed, timeout=TIMEOUT_MS) as sig:
        dialog.start()
    assert "millimetres" in sig.args[0]
    assert dialog.wait() and not (tmp_path / "out").exists()


def test_reviewed_only_exports_accepted_and_corrected_photos(
    qtbot, crackforest, tiny_model_path, tmp_path
) -> None:
    from crackinspector.core.review import open_store

    folder = tmp_path / "photos"
    folder.mkdir()
    paths = []
    for stem in ("001", "002", "003"):
        shutil.copy(crackforest / "images" / f"{stem}.jpg", folder / f"{stem}.jpg")
        paths.append(folder / f"{stem}.jpg")
    with open_store(folder) as store:
        store.set_status(paths[0], "accepted", reviewer="R. K.")
        store.set_status(paths[1], "false_alarm", reviewer="R. K.")
    out = tmp_path / "out"
    dialog = make(qtbot, paths, model=tiny_model_path, threshold=0.6, out_dir=out)
    dialog.reviewed_only.setChecked(True)
    with qtbot.waitSignal(dialog.exportFinished, timeout=TIMEOUT_MS) as sig:
        dialog.start()
    assert dialog.wait()
    doc = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert sig.args[0].complete
    assert [Path(i["file"]).name for i in doc["images"]] == ["001.jpg"]
    assert doc["settings"]["reviewed_only"] is True
