"""Brush-stroke latency in the real GUI on a 20-megapixel photo (5472 x 3648).

The real MainWindow (offscreen), a real 20 MP JPEG (CrackForest 001 upscaled into a
scratch folder), its probability map served from the window's disk cache (60 random-walk
cracks, as benchmarks/bench_brush.py; no inference is timed), the real inspection store.
A stroke is real Qt mouse events on the viewer's viewport (QTest press, 100 moves of 8 px,
release); each event is timed until the event loop is idle again, so the time includes the
EditSession call, the edit layer's redraw of the changed rectangle and the viewport
repaint. Release includes the end of the stroke: its undo record, the store's save_mask
(the caller's part), the review refresh and the copy handed to the background
measurement. "re-measured" is the time from release until the panels show
analyse(probability, settings, mask=edited) (background, latest wins). At fit-to-window
and at 1:1 zoom, brush radius 20 px. Undo / redo are Ctrl+Z / Ctrl+Shift+Z key events.

    .venv/bin/python benchmarks/bench_review_gui.py

Prints a table with the CPU model; results in benchmarks/results/review_gui.json.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "tests"))
SHARED = Path(os.environ.get("CRACKINSPECTOR_SHARED_DATA", REPO.parent / "shared" / "data"))
RESULTS = REPO / "benchmarks" / "results" / "review_gui.json"
H, W = 3648, 5472
STROKES = 3  # per zoom
MOVES = 100


def pctl(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    scratch = Path(tempfile.mkdtemp(prefix="ci-bench-review-"))
    os.environ["CRACKINSPECTOR_SETTINGS"] = str(scratch / "settings.ini")
    os.environ["CRACKINSPECTOR_CACHE_DIR"] = str(scratch / "user-cache")
    os.environ["CRACKINSPECTOR_MODELS_DIR"] = str(scratch / "user-models")

    from bench_brush import cpu_model, random_cracks
    from model_factory import save_untrained_model
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from crackinspector.core.infer.options import InferenceOptions, make_predictor
    from crackinspector.core.io.cache import ResultCache, file_digest
    from crackinspector.gui.app import dispose, make_app
    from crackinspector.gui.main_window import MainWindow

    folder = scratch / "photos"
    folder.mkdir()
    photo = folder / "deck_20mp.jpg"
    small = cv2.imread(str(SHARED / "crackforest" / "images" / "001.jpg"))
    cv2.imwrite(str(photo), cv2.resize(small, (W, H), interpolation=cv2.INTER_CUBIC))
    cracks = random_cracks((H, W)).astype(np.float32)
    probability = cv2.GaussianBlur(cracks, (0, 0), 2.0).clip(0, 1)
    model = save_untrained_model(scratch / "model")
    cache = ResultCache(scratch / "cache")
    identity = make_predictor(InferenceOptions(model=model.weights_path)).result_identity
    cache.put(file_digest(photo), identity, probability, 1.0)

    app = make_app()
    window = MainWindow(model=model, cache=cache)
    window.resize(1600, 1000)
    window.show()
    window.open_path(folder)
    review, viewer = window.review, window.viewer

    def idle() -> None:
        """Until the event loop is idle: the scene's dirty-item pass and the viewport
        repaint it posts both run inside the timed span."""
        QApplication.processEvents()
        QApplication.sendPostedEvents()
        QApplication.processEvents()

    def until(cond, timeout: float = 300.0) -> float:
        t = time.perf_counter()
        while not cond():
            if time.perf_counter() - t > timeout:
                raise SystemExit("timed out waiting for the GUI")
            QApplication.processEvents()
            time.sleep(0.002)
        return time.perf_counter() - t

    until(lambda: review.session is not None)
    until(lambda: window.measurements.measurement(photo) is not None)
    window.state.set_threshold(0.5)
    until(lambda: not window.measurements.busy())
    review.choose_tool("brush")
    review.tools.set_radius(20)
    vp = viewer.viewport()
    rng = np.random.default_rng(3)
    rows = []
    cpu0 = time.process_time()
    for zoom_name in ("fit", "1:1"):
        if zoom_name == "fit":
            viewer.fit()
        else:
            viewer.actual_size()
        press_t, move_t, release_t, remeasure_t = [], [], [], []
        pixels: list[int] = []
        paints: list[float] = []
        for _ in range(STROKES):
            if zoom_name == "fit":
                x0, y0 = rng.uniform(200, W - 1200), rng.uniform(200, H - 600)
                step = (8.0 / viewer.zoom(), 3.0 / viewer.zoom())  # 8 screen px a move
            else:
                x0, y0 = rng.uniform(200, W - 1200), rng.uniform(200, H - 600)
                viewer.centerOn(x0 + 400, y0 + 150)
                step = (8.0, 3.0)
            idle()

            def at(i: int, x0=x0, y0=y0, step=step):
                return viewer.mapFromScene(QPointF(x0 + step[0] * i, y0 + step[1] * i))

            before = review.layer.pixels_written
            paints_before = review.layer.paints
            t = time.perf_counter()
            QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(0))
            idle()
            press_t.append(time.perf_counter() - t)
            for i in range(1, MOVES + 1):
                t = time.perf_counter()
                QTest.mouseMove(vp, at(i))
                idle()
                move_t.append(time.perf_counter() - t)
            measured = window.measurements.measurement(photo)
            t = time.perf_counter()
            QTest.mouseRelease(
                vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(MOVES)
            )
            idle()
            release_t.append(time.perf_counter() - t)
            remeasure_t.append(
                release_t[-1]
                + until(
                    lambda m=measured: (
                        window.measurements.measurement(photo) is not m
                        and not window.measurements.busy()
                    )
                )
            )
            pixels.append(review.layer.pixels_written - before)
            paints.append(float(review.layer.paints - paints_before))
        name = f"zoom {zoom_name}"
        rows.append((f"{name}: mouse press (dab)", press_t))
        rows.append((f"{name}: mouse move, 8 screen px", move_t))
        rows.append((f"{name}: mouse release (end of stroke, saved)", release_t))
        rows.append((f"{name}: release until re-measured (background)", remeasure_t))
        rows.append((f"{name}: layer pixels redrawn per stroke", [float(p) for p in pixels]))
        rows.append((f"{name}: layer paints per stroke ({MOVES} moves)", paints))
    undo_t, redo_t = [], []
    for _ in range(3):
        t = time.perf_counter()
        QTest.keyClick(viewer, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        idle()
        undo_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        QTest.keyClick(
            viewer,
            Qt.Key.Key_Z,
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
        )
        idle()
        redo_t.append(time.perf_counter() - t)
    rows.append(("undo (Ctrl+Z) of a stroke", undo_t))
    rows.append(("redo (Ctrl+Shift+Z)", redo_t))
    cpu = time.process_time() - cpu0
    status = window.state.store.photo(photo).status
    window.state.store.flush()
    dispose(window)
    app.processEvents()

    machine = f"{cpu_model()}, {os.cpu_count()} CPUs"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nBrush strokes in the GUI on a {W} x {H} photo ({machine}; load {load:.1f})")
    print(f"{'case':<58} {'median':>10} {'p95':>10} {'max':>10}")
    out_rows = []
    for name, values in rows:
        is_px = "pixels" in name or "paints" in name
        conv = 1.0 if is_px else 1000.0
        med, p95, mx = (
            statistics.median(values) * conv,
            pctl(values, 0.95) * conv,
            max(values) * conv,
        )
        unit = ("px" if "pixels" in name else "  ") if is_px else "ms"
        print(f"{name:<58} {med:>8.1f}{unit} {p95:>8.1f}{unit} {mx:>8.1f}{unit}")
        out_rows.append(
            {"case": name, "unit": unit, "median": med, "p95": p95, "max": mx, "n": len(values)}
        )
    print(f"photo status after the strokes: {status}; process CPU {cpu:.1f} s")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "bench_review_gui",
                "photo": [W, H],
                "brush_radius_px": 20,
                "strokes_per_zoom": STROKES,
                "moves_per_stroke": MOVES,
                "cpu": cpu_model(),
                "cpus": os.cpu_count(),
                "load_average": load,
                "process_cpu_s": cpu,
                "rows": out_rows,
            },
            indent=2,
        )
    )
    print(f"written {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
