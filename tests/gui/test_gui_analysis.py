# ruff: noqa: F811 - pytest fixtures imported from gui_support are parameters here
"""The analysis queue with real background tasks and real tiny models: order, cancel, models."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from gui_support import (  # noqa: F401 - fixtures
    TIMEOUT_MS,
    _no_running_qthreads,
    make_window,
    photo_folder,
    second_tiny_model,
    wait_idle,
    wait_shown,
)
from PySide6.QtCore import Qt

from crackinspector.gui.model_picker import same_model
from crackinspector.gui.results import Status
from crackinspector.gui.tasks import running_tasks


def record_inference_order(window) -> list[Path]:
    order: list[Path] = []
    window.controller.inference_started.connect(order.append)
    return order


def test_viewed_image_jumps_the_queue(make_window, photo_folder, qtbot):
    window = make_window()
    window.open_path(photo_folder)
    wait_shown(qtbot, window, photo_folder / "001.jpg")
    order = record_inference_order(window)
    window.commands.analyse_all.trigger()
    assert window.status.batch.isVisible()
    window.state.set_current(photo_folder / "004.jpg")  # while 002 is running or queued
    wait_idle(qtbot, window)
    assert set(order) == {photo_folder / n for n in ("002.jpg", "003.jpg", "004.jpg")}
    # 004 runs right after whatever job was already in the worker when it was viewed
    assert order.index(photo_folder / "004.jpg") <= 1
    assert not window.status.batch.isVisible()


def test_progress_is_reported_per_tile(make_window, photo_folder, qtbot):
    window = make_window()
    seen: list[tuple[int, int]] = []
    window.controller.progress.connect(lambda path, done, total: seen.append((done, total)))
    window.open_path(photo_folder)
    wait_shown(qtbot, window, photo_folder / "001.jpg")
    total = seen[-1][1]
    assert total > 1  # 480x320 with 128 px tiles: several tiles
    assert seen[0] == (0, total) and seen[-1] == (total, total)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_esc_stops_the_batch_keeps_finished_photos_and_says_what_was_cancelled(
    make_window, photo_folder, qtbot
):
    window = make_window()
    window.open_path(photo_folder)
    first = photo_folder / "001.jpg"
    wait_shown(qtbot, window, first)
    window.commands.analyse_all.trigger()
    # cancel in the middle of the second image: after its first tile batch was reported
    with qtbot.waitSignal(
        window.controller.progress,
        check_params_cb=lambda path, done, total: path.name == "002.jpg" and 0 < done < total,
        timeout=TIMEOUT_MS,
    ):
        pass
    assert window.commands.cancel.isEnabled()
    window.activateWindow()
    qtbot.keyClick(window.viewer, Qt.Key.Key_Escape)
    wait_idle(qtbot, window)
    message = window.statusBar().currentMessage()
    assert "Cancelled: 002.jpg stopped at tile" in message
    assert "3 photo(s) not started" in message and "1 analysed photo(s) kept" in message
    statuses = [window.controller.status(p) for p in window.state.images]
    assert Status.RUNNING not in statuses and Status.QUEUED not in statuses
    assert statuses == [Status.DONE] + [Status.NEW] * 4  # the finished photo is kept
    assert window.controller.result_for(first) is not None
    assert window.overlay.result is not None and window.overlay.result.path == first
    assert not window.status.batch.isVisible()
    assert not window.commands.cancel.isEnabled()
    inferences = window.controller.engine.inference_count
    qtbot.wait(300)
    assert window.controller.engine.inference_count == inferences  # nothing restarted by itself
    # the queue works again afterwards
    window.commands.analyse.trigger()
    wait_idle(qtbot, window)
    assert window.controller.status(window.state.current) == Status.DONE


def test_switching_model_reanalyses_current_first(
    make_window, photo_folder, qtbot, tiny_model_path, second_tiny_model
):
    window = make_window()
    window.open_path(photo_folder)
    first, third = photo_folder / "001.jpg", photo_folder / "003.jpg"
    wait_shown(qtbot, window, first)
    window.state.set_current(third)
    wait_shown(qtbot, window, third)
    old = window.overlay.result.probability.copy()
    assert same_model(window.overlay.result.model, window.controller.model)

    order = record_inference_order(window)
    assert window.add_model_from_file(second_tiny_model) is not None
    assert window.model_picker.current_model().name == "tiny-resnet18-b"
    qtbot.waitUntil(
        lambda: (
            window.overlay.result is not None
            and window.overlay.result.model.name == "tiny-resnet18-b"
        ),
        timeout=TIMEOUT_MS,
    )
    new = window.overlay.result.probability
    assert not np.array_equal(old, new)  # really the other weights
    wait_idle(qtbot, window)
    assert order == [third, first]  # the viewed image first, then the one analysed before
    result = window.controller.result_for(first)
    assert result is not None and result.model.name == "tiny-resnet18-b"
    assert window.controller.status(photo_folder / "002.jpg") == Status.NEW  # never asked for
    assert "tiny-resnet18-b" in window.status.device_label.text()

    # and back: the first model's results are still in memory, no inference needed
    count = window.controller.engine.inference_count
    first_model = next(m for m in window.model_picker.models() if m.name == "tiny-resnet18")
    window.model_picker.select(first_model)
    qtbot.waitUntil(
        lambda: (
            window.overlay.result is not None
            and window.overlay.result.model.name == "tiny-resnet18"
        ),
        timeout=TIMEOUT_MS,
    )
    wait_idle(qtbot, window)
    assert window.controller.engine.inference_count == count


def test_without_any_model_analysis_is_off_until_one_is_added(
    make_window, photo_folder, qtbot, tiny_model_path, tmp_path, monkeypatch
):
    # Bundled models may exist in a developer checkout; this test needs a machine with none.
    monkeypatch.setattr(
        "crackinspector.core.model.registry.bundled_models_dir", lambda: tmp_path / "no-bundled"
    )
    window = make_window(model=None)
    assert window.model_picker.count() == 0
    assert "No model" in window.status.problem_text()
    assert not window.commands.analyse.isEnabled()
    assert not window.commands.analyse_all.isEnabled()
    window.open_path(photo_folder)
    qtbot.wait(200)
    assert all(window.controller.status(p) == Status.NEW for p in window.state.images)

    window.add_model_from_file(tiny_model_path)
    assert window.commands.analyse_all.isEnabled()
    assert window.status.problem_text() == ""
    wait_shown(qtbot, window, photo_folder / "001.jpg")


def test_a_broken_model_is_reported_once_not_per_image(
    make_window, photo_folder, qtbot, tiny_model_path, tmp_path
):
    broken = tmp_path / "broken-model"
    broken.mkdir()
    weights = broken / "tiny-resnet18.safetensors"
    weights.write_bytes(tiny_model_path.read_bytes()[:5000])  # truncated download
    (broken / "tiny-resnet18.json").write_text(tiny_model_path.with_suffix(".json").read_text())
    window = make_window(model=weights)
    window.open_path(photo_folder)
    window.commands.analyse_all.trigger()
    qtbot.waitUntil(lambda: "Model cannot be used" in window.status.problem_text(), timeout=20_000)
    wait_idle(qtbot, window)
    assert "weights" in window.status.problem_text()
    assert all(window.controller.status(p) == Status.NEW for p in window.state.images)


def test_memory_cache_is_bounded_and_backed_by_disk(make_window, photo_folder, qtbot):
    window = make_window()
    window.controller.memory.max_bytes = 1  # room for one result only
    window.open_path(photo_folder)
    first, second = photo_folder / "001.jpg", photo_folder / "002.jpg"
    wait_shown(qtbot, window, first)
    window.state.set_current(second)
    wait_shown(qtbot, window, second)
    assert len(window.controller.memory) == 1  # only the newest result stays in memory
    count = window.controller.engine.inference_count
    window.state.set_current(first)  # evicted from memory: comes back from disk, no inference
    wait_shown(qtbot, window, first)
    assert window.overlay.result.source == "disk cache"
    assert window.controller.engine.inference_count == count == 2


def test_closing_during_a_batch_stops_the_worker_promptly(make_window, photo_folder, qtbot):
    window = make_window()
    window.open_path(photo_folder)
    window.commands.analyse_all.trigger()
    with qtbot.waitSignal(
        window.controller.progress,
        check_params_cb=lambda path, done, total: 0 < done < total,
        timeout=TIMEOUT_MS,
    ):
        pass
    t0 = time.monotonic()
    window.close()
    assert not running_tasks()  # joined inside closeEvent
    assert time.monotonic() - t0 < 20  # one tile batch at most, not the rest of the queue
    assert window.settings.get("folders/last") == str(photo_folder.resolve())
