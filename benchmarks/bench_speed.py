"""Issue 14 targets: a 4000 x 3000 photo with unet-resnet34, today's default path against the
new defaults, side by side in one run, with the machine's fp32 sgemm rate as the yardstick.

Configurations (each in its own subprocess, clean peak RSS, interleaved over rounds; the
best round counts):

- today:              fp32 ONNX Runtime, 448 px tiles overlapping by 112, unfitted (before
                      issue 14; still what --precision fp32 runs)
- fp32 planned tiles: fp32 on 448 px tiles, 32 overlap, fitted (today's tile memory)
- fp32 int8's tiles:  fp32 with the int8 tile plan (1024 px fitted, 64 overlap)
- int8 today's tiles: int8 with today's tiles
- default:            make_predictor(InferenceOptions()): precision auto (int8 where the
                      card's check allows it) with that precision's tile plan
- sgemm:        torch.mm of two 2048 x 2048 float32 matrices, the fp32 arithmetic ceiling

    .venv/bin/python benchmarks/bench_speed.py                  # the whole photo, 1 round
    .venv/bin/python benchmarks/bench_speed.py --fraction 0.25  # a quarter of each photo's
                                                               # tiles, time extrapolated

The photo is made of 48 real 512 x 512 UAV concrete photos (shared data uav75) laid 8 x 6
and cropped to 4000 x 3000. GFLOP/s counts the fp32-equivalent work (2 FLOPs per
multiply-add, torch.utils.flop_counter) of the pixels the network computed, for int8 too.
Results: benchmarks/results/speed.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("CRACKINSPECTOR_SHARED_DATA", REPO.parent / "shared" / "data"))
RESULTS = REPO / "benchmarks" / "results" / "speed.json"
PHOTO = (3000, 4000)
CONFIGS = {
    "today": {"precision": "fp32", "tile_size": 448, "overlap": 112, "fit": False},
    "fp32 planned tiles": {"precision": "fp32", "tile_size": 448, "overlap": 32, "fit": True},
    "fp32 int8's tiles": {"precision": "fp32", "tile_size": 1024, "overlap": 64, "fit": True},
    "int8 today's tiles": {"precision": "int8", "tile_size": 448, "overlap": 112, "fit": False},
    "default": {},  # make_predictor(InferenceOptions()) as the commands and the GUI build it
}


def big_photo(height: int = PHOTO[0], width: int = PHOTO[1]) -> np.ndarray:
    """4000 x 3000 of real concrete: uav75 photos laid side by side, filled in place."""
    from crackinspector.core.io.imageio import read_image

    photos = sorted((SHARED / "uav75" / "images").glob("*.jpg"))
    if len(photos) < 48:
        raise SystemExit(f"need 48 photos in {SHARED / 'uav75' / 'images'}")
    out = np.empty((height, width, 3), np.uint8)
    k = 0
    for y in range(0, height, 512):
        for x in range(0, width, 512):
            im = read_image(photos[k])[:512, :512]
            k += 1
            h, w = min(im.shape[0], height - y), min(im.shape[1], width - x)
            out[y : y + h, x : x + w] = im[:h, :w]
    return out


def flops_per_pixel(weights: str, tile: int = 448) -> float:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from crackinspector.core.model.registry import load_model

    model = load_model(weights, "cpu")
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        model(torch.zeros(1, 3, tile, tile))
    return float(counter.get_total_flops()) / (tile * tile)


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def torch_cpu():
    import torch

    return torch.device("cpu")


def worker(spec: dict) -> dict:
    import warnings

    import torch

    threads = spec["threads"]
    torch.set_num_threads(threads)
    if spec["name"] == "sgemm":
        a = torch.randn(2048, 2048)
        b = torch.randn(2048, 2048)
        torch.mm(a, b)
        best = 1e9
        for _ in range(5):
            t0 = time.perf_counter()
            torch.mm(a, b)
            best = min(best, time.perf_counter() - t0)
        return {"seconds": best, "gflop_per_s": 2 * 2048**3 / best / 1e9, "threads": threads}

    from crackinspector.core.errors import Cancelled
    from crackinspector.core.infer.options import InferenceOptions, make_predictor
    from crackinspector.core.infer.tiling import plan_tiles

    photo = big_photo()
    cfg = CONFIGS[spec["name"]]
    options = InferenceOptions(
        model=spec["model"],
        device="cpu",
        precision=cfg.get("precision", "auto"),
        threads=threads,
        tile_size=cfg.get("tile_size"),
        overlap=cfg.get("overlap"),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = make_predictor(options)
    p.fit_tiles = cfg.get("fit", p.fit_tiles)
    p.predict(photo[:512, :512])  # warm-up
    grid = plan_tiles(*photo.shape[:2], p.tile_size, p.overlap, fit=p.fit_tiles)
    limit = max(1, round(grid.total * spec["fraction"]))
    done = {"n": 0}

    def progress(n: int, total: int) -> None:
        done["n"] = n

    rss_before = _rss_mb()
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak RSS to the current RSS
    t0 = time.perf_counter()
    with contextlib.suppress(Cancelled):
        p.predict(photo, progress=progress, cancel=lambda: done["n"] >= limit)
    seconds = (time.perf_counter() - t0) * grid.total / done["n"]
    return {
        "seconds": seconds,
        "tiles": grid.total,
        "tiles_run": done["n"],
        "tile_hw": [grid.tile_h, grid.tile_w],
        "overlap": p.overlap,
        "pixels_computed": grid.total * grid.tile_h * grid.tile_w,
        "precision": p.precision,
        "precision_reason": p.precision_reason,
        "description": p.description,
        "peak_rss_mb": _peak_rss_mb(),
        "rss_before_mb": rss_before,
        "threads": p.threads,
    }


def run_worker(spec: dict) -> dict:
    cmd = [sys.executable, __file__, "--worker", json.dumps(spec)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"worker {spec} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--model", default="unet-resnet34")
    parser.add_argument("--threads", type=int, default=0, help="0: physical cores")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--fraction", type=float, default=1.0, help="share of tiles run")
    parser.add_argument("--only", nargs="+", choices=list(CONFIGS), help="these configs only")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return

    from crackinspector.core.infer.hardware import describe_cpu, physical_cores
    from crackinspector.core.io.atomic import atomic_write_text
    from crackinspector.core.model.registry import resolve, weights_digest

    info = resolve(args.model)
    threads = args.threads or physical_cores()
    cpu = describe_cpu()
    load = list(os.getloadavg())
    print(f"{info.name}, {PHOTO[1]} x {PHOTO[0]}; {cpu['cpu']}, flags {cpu['flags']}, load {load}")
    gflop_px = flops_per_pixel(str(info.weights_path)) / 1e9
    from crackinspector.core.infer.precision import choose

    checks = info.card.precision_checks
    default = choose("auto", torch_cpu(), "auto", checks, weights_digest(info.weights_path))
    default_row = "default"
    names = ["sgemm", *(args.only or CONFIGS)]
    best: dict[str, dict] = {}
    for r in range(args.rounds):
        for name in names:
            spec = {"name": name, "model": str(info.weights_path), "threads": threads}
            spec["fraction"] = args.fraction
            res = run_worker(spec)
            print(f"round {r + 1}: {name:13s} {res['seconds']:8.2f} s", flush=True)
            if name not in best or res["seconds"] < best[name]["seconds"]:
                best[name] = res
    sgemm = best["sgemm"]["gflop_per_s"]
    base = best.get("today")
    header = ["config", "precision", "tiles", "tile", "s/photo", "x today", "GFLOP/s", "of sgemm"]
    header.append("peak RSS MB")
    rows = [header]
    for name in names[1:]:
        r = best[name]
        r["gflop_per_s"] = r["pixels_computed"] * gflop_px / r["seconds"]
        r["of_sgemm"] = r["gflop_per_s"] / sgemm
        r["speedup_vs_today"] = base["seconds"] / r["seconds"] if base else None
        r["is_default"] = name == default_row
        rows.append(
            [
                name,
                r["precision"],
                str(r["tiles"]),
                f"{r['tile_hw'][0]}x{r['tile_hw'][1]}/{r['overlap']}",
                f"{r['seconds']:.1f}",
                f"{r['speedup_vs_today']:.2f}" if base else "-",
                f"{r['gflop_per_s']:.1f}",
                f"{100 * r['of_sgemm']:.0f} %",
                f"{r['peak_rss_mb']:.0f}",
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    print(f"\n{cpu['cpu']}, {threads} threads, flags {cpu['flags']}, sgemm {sgemm:.1f} GFLOP/s")
    for k, row in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
        if k == 0:
            print("  ".join("-" * w for w in widths))
    out = {
        "model": info.name,
        "photo": list(PHOTO),
        "machine": cpu,
        "threads": threads,
        "load_average_at_start": load,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "fraction": args.fraction,
        "rounds": args.rounds,
        "gflop_per_megapixel": gflop_px * 1e6,
        "sgemm_gflop_per_s": sgemm,
        "default": {"config": default_row, "precision_reason": default.reason},
        "results": best,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS, json.dumps(out, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
