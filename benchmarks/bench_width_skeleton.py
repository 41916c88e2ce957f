"""Our skeleton (core/analysis/skeleton.py) against scikit-image's `skeletonize` + `skan`.

Accuracy: crack length of exact synthetic strokes (straight, 45 and 22.5 degrees, an arc, a
Y, a 4 x 4 grid; widths 3, 5 and 9 px) against their true centre-line length, both ways
measured the same: skeleton path length plus the tip extension (distance value - 1) at
each free end, as measure.py does.
- ours: `skeletonize` (Zhang-Suen, staircase removal, spur pruning) and the direction-
  corrected link lengths that `measure_mask` sums;
- skimage+skan: `skimage.morphology.skeletonize` and the sum of `skan.Skeleton`'s
  `path_lengths()` (Euclidean pixel steps, no spur pruning).
Speed: skeleton + length per CrackForest ground-truth mask (480 x 320) and for a 12 MP
mask with 60 random cracks 1-15 px wide; skan's first call (numba compiling) apart.

Needs `pip install scikit-image skan` (not dependencies of the app).

    nice -n 2 .venv/bin/python benchmarks/bench_width_skeleton.py

Results go to benchmarks/results/width_skeleton.json.
"""

from __future__ import annotations

import itertools
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_measure import random_cracks
from bench_width import cpu_model
from bench_width_data import REPO, SHARED

from crackinspector.core.analysis.measure import distance_inside
from crackinspector.core.analysis.skeleton import (
    _POPCOUNT,
    neighbour_codes,
    skeleton_edge_lengths,
    skeletonize,
)
from crackinspector.core.io.imageio import read_mask

RESULTS = REPO / "benchmarks" / "results" / "width_skeleton.json"
H, W = 400, 500


def stroke(mask: np.ndarray, points, width: float) -> np.ndarray:
    """Pixels whose centre lies within width/2 of the polyline (round caps)."""
    yy, xx = np.mgrid[0 : mask.shape[0], 0 : mask.shape[1]].astype(float)
    p = np.asarray(points, float)
    for a, b in itertools.pairwise(p):
        d = b - a
        t = np.clip(((xx - a[0]) * d[0] + (yy - a[1]) * d[1]) / max(d @ d, 1e-12), 0, 1)
        mask |= np.hypot(xx - a[0] - t * d[0], yy - a[1] - t * d[1]) <= width / 2 + 1e-9
    return mask


def polyline(points) -> float:
    p = np.asarray(points, float)
    return float(np.hypot(*np.diff(p, axis=0).T).sum())


ARC = [
    (250 + 150 * math.cos(a), 320 - 150 * math.sin(a)) for a in np.linspace(0, 0.8 * math.pi, 300)
]
OBLIQUE = [(40, 300), (440, 300 - 400 * math.tan(math.pi / 8))]
Y = [[(60, 350), (250, 200), (440, 340)], [(250, 200), (250, 30)]]
SHAPES = {  # name -> (strokes, true length without caps, free ends)
    "straight": ([[(50, 200), (450, 200)]], 400.0, 2),
    "diagonal-45": ([[(50, 50), (350, 350)]], 300 * math.sqrt(2), 2),
    "oblique-22.5": ([OBLIQUE], 400 / math.cos(math.pi / 8), 2),
    "arc": ([ARC], 150 * 0.8 * math.pi, 2),
    "branched-Y": (Y, polyline(Y[0]) + 170.0, 3),
    "grid": (
        [[(-10, y), (510, y)] for y in (60, 160, 260, 360)]
        + [[(x, -10), (x, 410)] for x in (70, 190, 310, 430)],
        4 * 499 + 4 * 399,
        0,
    ),
}  # fmt: skip


def skan_length(mask: np.ndarray) -> float:
    """skimage skeleton + skan path lengths + the same tip extensions as measure.py."""
    from skan import Skeleton
    from skimage.morphology import skeletonize

    skel = skeletonize(mask)
    if not skel.any():
        return 0.0
    total = 0.0
    dist = distance_inside(mask)
    try:
        sk = Skeleton(skel)
        total = float(sk.path_lengths().sum())
        deg = sk.degrees
        coords = sk.coordinates.astype(int)
        ends = coords[deg == 1]
        total += float(np.maximum(dist[ends[:, 0], ends[:, 1]] - 1.0, 0).sum())
    except ValueError:  # skan refuses skeletons of single pixels
        pass
    return total


def ours_length(mask: np.ndarray) -> float:
    """skeleton.py's skeleton and direction-corrected links + tip extensions (no widths)."""
    dist = distance_inside(mask)
    skel = skeletonize(mask, dist)
    ys, xs = np.nonzero(skel)
    count = _POPCOUNT[neighbour_codes(skel, ys, xs)]
    ext = np.maximum(dist[ys, xs] - 1.0, 0.0)
    links = skeleton_edge_lengths(skel, ys, xs)
    return float(links.sum() + ext[count == 1].sum() + 2 * ext[count == 0].sum())


def timed(fn, *args) -> tuple[float, float]:
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def main() -> int:
    accuracy = []
    for name, (strokes, length, ends) in SHAPES.items():
        for width in (3, 5, 9):
            mask = np.zeros((H, W), bool)
            for s in strokes:
                stroke(mask, s, width)
            truth = length + ends * (width - 1) / 2 if name != "grid" else length
            row = {"shape": name, "width": width, "truth": round(truth, 1)}
            for label, fn in (("ours", ours_length), ("skan", skan_length)):
                row[label] = round(fn(mask), 1)
                row[f"{label}_error_pct"] = round(100 * (row[label] / truth - 1), 2)
            accuracy.append(row)
    masks = [read_mask(p) for p in sorted((SHARED / "crackforest" / "masks").glob("*.png"))[:40]]
    _, first_skan = timed(skan_length, masks[0])
    speed = {"skan_first_call_s": round(first_skan, 2)}
    for label, fn in (("ours", ours_length), ("skan", skan_length)):
        t = time.perf_counter()
        for m in masks:
            fn(m)
        speed[f"{label}_crackforest_ms"] = round(1000 * (time.perf_counter() - t) / len(masks), 1)
    big = random_cracks()
    for label, fn in (("ours", ours_length), ("skan", skan_length)):
        _, t = timed(fn, big)
        speed[f"{label}_12mp_s"] = round(t, 2)

    print(f"CPU: {cpu_model()}")
    print(f"\n{'shape':14} {'w':>3} {'truth px':>9} {'ours %':>8} {'skan %':>8}")
    for r in accuracy:
        print(
            f"{r['shape']:14} {r['width']:>3} {r['truth']:>9.1f} "
            f"{r['ours_error_pct']:>+8.2f} {r['skan_error_pct']:>+8.2f}"
        )
    worst = {k: max(abs(r[f"{k}_error_pct"]) for r in accuracy) for k in ("ours", "skan")}
    print(f"\nworst length error: ours {worst['ours']:.2f} %, skimage+skan {worst['skan']:.2f} %")
    print(
        f"per CrackForest mask (skeleton + length): ours {speed['ours_crackforest_ms']} ms, "
        f"skimage+skan {speed['skan_crackforest_ms']} ms "
        f"(skan's first call {speed['skan_first_call_s']} s: numba compiling)"
    )
    print(f"12 MP mask: ours {speed['ours_12mp_s']} s, skimage+skan {speed['skan_12mp_s']} s")
    RESULTS.write_text(
        json.dumps({"cpu": cpu_model(), "accuracy": accuracy, "worst": worst, "speed": speed},
                   indent=1) + "\n"
    )  # fmt: skip
    print(f"written {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
