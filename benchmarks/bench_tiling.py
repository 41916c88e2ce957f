"""Tile planning measured: pixels computed, speed per pixel, and seams, per tile size and overlap.

Three measurements, side by side in one run, with a real model (default unet-resnet34):

1. Work: how many pixels the network computes for a 4000 x 3000 photo for each (tile,
   overlap), with and without fitted tiles (core/infer/tiling.fitted_side); pure arithmetic.
2. Speed per pixel: one forward pass of a square tile of each size (ONNX Runtime fp32),
   interleaved rounds, best of each: does a bigger tile cost more or less per pixel?
3. Seams: a 896 x 1120 crop of real photos predicted with 448 px tiles at each overlap,
   against one pass over the whole crop (no tiles at all: the reference). Reported: mean and
   99.9th-percentile absolute difference, the share of crack pixels (at the card's
   threshold) that change, and the seam contrast of tests/unit/test_inference.py (mean jump
   across the tile borders / median jump elsewhere; 1.0 = invisible). A CNN's border effect
   reaches the same distance into a tile whatever its size, so the overlap that is seam-free
   at 448 px is seam-free for bigger tiles too.

    .venv/bin/python benchmarks/bench_tiling.py [--model unet-resnet34] [--threads 2]

Results: benchmarks/results/tiling.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
RESULTS = REPO / "benchmarks" / "results" / "tiling.json"
PHOTO = (3000, 4000)
TILES = (448, 640, 768, 896, 1024)
OVERLAPS = (32, 64, 96, 112)


def work_table(gflop_per_px: float) -> list[dict]:
    from crackinspector.core.infer.tiling import plan_tiles

    h, w = PHOTO
    rows = []
    for tile in TILES:
        for overlap in OVERLAPS:
            for fit in (False, True):
                g = plan_tiles(h, w, tile, overlap, fit=fit)
                px = g.total * g.tile_h * g.tile_w
                rows.append(
                    {
                        "tile": tile,
                        "overlap": overlap,
                        "fit": fit,
                        "tiles": g.total,
                        "tile_hw": [g.tile_h, g.tile_w],
                        "pixels_computed": px,
                        "work_factor": px / (h * w),
                        "gflop": px * gflop_per_px,
                    }
                )
    return rows


def speed_per_pixel(session, rounds: int) -> dict[int, float]:
    best: dict[int, float] = {}
    rng = np.random.default_rng(0)
    for _ in range(rounds):
        for tile in TILES:
            x = rng.standard_normal((1, 3, tile, tile), dtype=np.float32)
            t0 = time.perf_counter()
            session(x)
            dt = (time.perf_counter() - t0) / (tile * tile / 1e6)
            best[tile] = min(best.get(tile, 1e9), dt)
            print(f"  tile {tile}: {dt:.2f} s/MPx", flush=True)
    return best


def seam_contrast(prob: np.ndarray, starts: list[int], overlap: int, axis: int) -> float:
    """Mean jump between neighbouring pixels across the blend zones, relative to elsewhere."""
    jumps = np.abs(np.diff(prob, axis=axis)).mean(axis=1 - axis)
    edges = sorted({s + d for s in starts[1:] for d in range(0, overlap + 1, 8)} - {0})
    edges = [e for e in edges if 0 < e < len(jumps)]
    return float(jumps[[e - 1 for e in edges]].mean() / np.median(jumps))


def seams(model: str, threads: int, crop: np.ndarray) -> dict:
    from crackinspector.core.infer.predictor import Predictor
    from crackinspector.core.infer.tiling import plan_tiles

    p = Predictor(model, device="cpu", precision="fp32", threads=threads)
    p.fit_tiles = False
    h, w = crop.shape[:2]
    p.tile_size, p.overlap = max(h, w), 0
    t0 = time.perf_counter()
    whole = p.predict(crop)
    print(f"  one pass over {w} x {h}: {time.perf_counter() - t0:.1f} s", flush=True)
    truth = whole >= p.threshold
    out = {}
    for overlap in (0, *OVERLAPS):
        p.tile_size, p.overlap = 448, overlap
        tiled = p.predict(crop)
        diff = np.abs(tiled - whole)
        mask = tiled >= p.threshold
        g = plan_tiles(h, w, 448, overlap)
        contrast = max(
            seam_contrast(tiled, list(g.xs), max(overlap, 1), 1),
            seam_contrast(tiled, list(g.ys), max(overlap, 1), 0),
        )
        out[overlap] = {
            "mean_abs_diff": float(diff.mean()),
            "p999_abs_diff": float(np.quantile(diff, 0.999)),
            "crack_pixels_changed": float((mask != truth).sum() / max(1, truth.sum())),
            "seam_contrast": contrast,
            "reference_seam_contrast": max(
                seam_contrast(whole, list(g.xs), max(overlap, 1), 1),
                seam_contrast(whole, list(g.ys), max(overlap, 1), 0),
            ),
        }
        print(f"  overlap {overlap}: {out[overlap]}", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--model", default="unet-resnet34")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    from bench_speed import big_photo, flops_per_pixel

    from crackinspector.core.infer.hardware import describe_cpu
    from crackinspector.core.infer.onnx_backend import load_onnx
    from crackinspector.core.io.atomic import atomic_write_text
    from crackinspector.core.model.registry import resolve

    info = resolve(args.model)
    cpu = describe_cpu()
    print(f"{info.name}; {cpu['cpu']}, flags {cpu['flags']}")
    gflop_px = flops_per_pixel(str(info.weights_path)) / 1e9
    work = work_table(gflop_px)
    print("\n1. work for a 4000 x 3000 photo (x = pixels computed / photo pixels)")
    for tile in TILES:
        cells = []
        for overlap in OVERLAPS:
            a, b = (
                next(
                    r["work_factor"]
                    for r in work
                    if (r["tile"], r["overlap"], r["fit"]) == (tile, overlap, f)
                )
                for f in (False, True)
            )
            cells.append(f"o{overlap}: {a:.2f} / fit {b:.2f}")
        print(f"  tile {tile:4d}  " + "   ".join(cells))

    print("\n2. speed per pixel, ONNX Runtime fp32")
    runner, _ = load_onnx(info, threads=args.threads or cpu["physical_cores"])
    per_px = speed_per_pixel(runner, args.rounds)

    print("\n3. seams against one whole pass (448 px tiles)")
    photo = big_photo()
    crop = np.ascontiguousarray(photo[1000:1896, 1500:2620])
    seam = seams(str(info.weights_path), args.threads, crop)

    out = {
        "model": info.name,
        "machine": cpu,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "gflop_per_megapixel": gflop_px * 1e6,
        "work_4000x3000": work,
        "seconds_per_megapixel": {str(k): v for k, v in per_px.items()},
        "seams_448": {str(k): v for k, v in seam.items()},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS, json.dumps(out, indent=2) + "\n")
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
