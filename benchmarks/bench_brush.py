"""Mask editing latency on a 20-megapixel photo (5472 x 3648) with 60 random-walk cracks.

What the viewer waits for while an inspector edits (core/review/edits.MaskEditor):
- one brush dab (mouse press) and one stroke segment (a mouse move of 8 px), for brush
  radii 5, 20 and 60 px: median and 95th percentile over many;
- a whole stroke (press, 100 moves over 800 px, release with its undo record);
- a stroke across the whole photo, undo and redo of it, lasso fill of a 1000 x 800 px
  polygon, deleting the longest crack, reset to model after those edits;
- the inspection store: what `save_mask` costs its caller (copy + status commit) and the
  background PNG encode + commit (`flush`).

The machine may be shared (training runs): wall times then include waiting for a core; the
CPU column (process time of the call) is what the work itself costs.

    .venv/bin/python benchmarks/bench_brush.py

Results go to benchmarks/results/brush.json.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from crackinspector.core.infer.hardware import cpu_model

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("CRACKINSPECTOR_SHARED_DATA", REPO.parent / "shared" / "data"))
RESULTS = REPO / "benchmarks" / "results" / "brush.json"
H, W = 3648, 5472  # 20 MP, a common full-frame camera size


def random_cracks(shape=(H, W), n=60, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.zeros(shape, np.uint8)
    for _ in range(n):
        pts = np.cumsum(rng.normal(0, 60, (30, 2)), axis=0) + rng.uniform(0, shape[::-1])
        cv2.polylines(img, [pts.astype(np.int32).reshape(-1, 1, 2)], False, 255,
                      int(rng.integers(1, 12)))  # fmt: skip
    return img > 0


class Sample(float):
    """Wall seconds of one call, with the process CPU seconds it used as `.cpu`."""

    cpu: float


def timed(fn: Callable[[], object]) -> Sample:
    c, t = time.process_time(), time.perf_counter()
    fn()
    sample = Sample(time.perf_counter() - t)
    sample.cpu = time.process_time() - c
    return sample


def stats(samples: list[Sample]) -> tuple[float, float, float]:
    """(median wall, 95th percentile wall, median CPU) seconds."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95, statistics.median(s.cpu for s in samples)


def main() -> int:
    from crackinspector.core.review.edits import MaskEditor
    from crackinspector.core.review.store import open_store

    model = random_cracks()
    rows: list[tuple[str, float, float, float, str]] = []  # case, median, p95, cpu (s), note
    rng = np.random.default_rng(1)
    for radius in (5, 20, 60):
        editor = MaskEditor(model)
        dabs, moves, strokes = [], [], []
        for _ in range(40):
            x, y = float(rng.uniform(100, W - 900)), float(rng.uniform(100, H - 900))
            dabs.append(timed(lambda e=editor, p=(x, y), r=radius: e.begin_stroke(p, r)))
            for i in range(1, 101):
                step = (x + 8 * i, y + 3 * i)
                moves.append(timed(lambda e=editor, p=step: e.extend_stroke(p)))
            editor.end_stroke()
        for _ in range(10):
            x, y = float(rng.uniform(100, W - 900)), float(rng.uniform(100, H - 900))
            pts = [(x + 8 * i, y + 3 * i) for i in range(101)]
            strokes.append(timed(lambda e=editor, p=pts, r=radius: e.stroke(p, r)))
        rows.append((f"brush dab, radius {radius} px", *stats(dabs), "mouse press"))
        rows.append((f"stroke segment 8 px, radius {radius} px", *stats(moves), "per mouse move"))
        rows.append((f"whole stroke 800 px, radius {radius} px", *stats(strokes),
                     "press + 100 moves + release (undo record)"))  # fmt: skip

    editor = MaskEditor(model)
    diag = [(20.0 + i * (W - 40) / 200, 20.0 + i * (H - 40) / 200) for i in range(201)]
    t = timed(lambda: editor.stroke(diag, 20))
    rows.append(("stroke across the photo, radius 20 px", *stats([t]),
                 f"{editor.history_bytes / 1e6:.1f} MB undo record"))  # fmt: skip
    t_undo = [timed(editor.undo) if k % 2 == 0 else timed(editor.redo) for k in range(10)]
    rows.append(("undo / redo of that stroke", *stats(t_undo), ""))
    poly = [(1000 + 500 + 500 * np.cos(a), 1000 + 400 + 400 * np.sin(a))
            for a in np.linspace(0, 2 * np.pi, 200, endpoint=False)]  # fmt: skip
    t = [timed(lambda: editor.lasso(poly)) for _ in range(5)]
    rows.append(("lasso fill 1000 x 800 px ellipse", *stats(t), ""))
    n, labels, st, _ = cv2.connectedComponentsWithStats(model.astype(np.uint8), connectivity=8)
    biggest = int(np.argmax(st[1:, cv2.CC_STAT_AREA])) + 1
    ys, xs = np.nonzero(labels == biggest)
    box = st[biggest]
    t = []
    for _ in range(5):
        t.append(timed(lambda: editor.delete_crack((xs[0] + 0.5, ys[0] + 0.5))))
        editor.undo()
    note = f"{box[cv2.CC_STAT_WIDTH]}x{box[cv2.CC_STAT_HEIGHT]} px box, of {n - 1}"
    rows.append(("delete the biggest crack", *stats(t), note))
    editor.delete_crack((xs[0] + 0.5, ys[0] + 0.5))
    rows.append(("reset to model after those edits", *stats([timed(editor.reset)]), ""))

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        shutil.copy(SHARED / "crackforest" / "images" / "001.jpg", folder / "photo.jpg")
        with open_store(folder) as store:
            calls, flushes = [], []
            for k in range(5):
                edited = model.copy()
                edited[k * 100 : k * 100 + 50, :2000] = True
                calls.append(timed(lambda e=edited: store.save_mask("photo.jpg", e)))
                flushes.append(timed(store.flush))
            size = len(store.mask_png("photo.jpg") or b"")
        rows.append(("store.save_mask, caller's time", *stats(calls), "copy + status commit"))
        rows.append(("store.save_mask, background encode + commit", *stats(flushes),
                     f"1-bit PNG {size / 1e3:.0f} kB"))  # fmt: skip

    ms = [(name, med * 1e3, p95 * 1e3, cpu * 1e3, note) for name, med, p95, cpu, note in rows]
    machine = f"{cpu_model()}, {os.cpu_count()} CPUs"
    print(f"mask editing on a {W} x {H} mask ({W * H / 1e6:.1f} MP); {machine}; "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    width = max(len(r[0]) for r in ms)
    print(f"{'case':<{width}}  median ms  p95 ms  CPU ms  note")
    for name, med, p95, cpu, note in ms:
        print(f"{name:<{width}}  {med:9.2f}  {p95:6.2f}  {cpu:6.2f}  {note}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "machine": machine,
                "load_average": os.getloadavg()[0],
                "mask": [H, W],
                "rows": [
                    {
                        "case": n,
                        "median_ms": round(m, 3),
                        "p95_ms": round(p, 3),
                        "cpu_ms": round(c, 3),
                        "note": note,
                    }
                    for n, m, p, c, note in ms
                ],
            },
            indent=2,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
