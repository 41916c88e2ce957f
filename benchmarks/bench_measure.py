"""Measurement and report speed: measure_mask on real and synthetic masks, export throughput.

Cases
- CrackForest ground-truth masks (480 x 320), mean per mask, alone and with the photo
  (widths from the photo's intensity profiles, core/analysis/width.py);
- a 12-megapixel photo-sized mask with 60 random-walk cracks 1-15 px wide (3.6 % crack);
- worst cases: a mask that is crack everywhere (a bad threshold) and 50 % noise, 1.5 MP;
- the export engine on 20 CrackForest photos with their masks as predictions (no model):
  PDF + HTML + CSV + JSON + overlay PNGs, seconds per image.

The machine may be shared (training runs): compare ratios from one run, not absolute numbers.

    .venv/bin/python benchmarks/bench_measure.py

Results go to benchmarks/results/measure.json.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from crackinspector.core.infer.hardware import cpu_model

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("CRACKINSPECTOR_SHARED_DATA", REPO.parent / "shared" / "data"))
RESULTS = REPO / "benchmarks" / "results" / "measure.json"


def best_of(fn, rounds: int = 3) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def random_cracks(shape=(3000, 4000), n=60, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.zeros(shape, np.uint8)
    for _ in range(n):
        pts = np.cumsum(rng.normal(0, 40, (20, 2)), axis=0) + rng.uniform(0, shape[::-1])
        thickness = int(rng.integers(1, 15))
        cv2.polylines(img, [pts.astype(np.int32).reshape(-1, 1, 2)], False, 255, thickness)
    return img > 0


def main() -> int:
    from crackinspector.core.analysis.measure import measure_mask
    from crackinspector.core.io.imageio import read_image, read_mask
    from crackinspector.core.pipeline.engine import MaskFolderSource
    from crackinspector.core.pipeline.export import ExportOptions, run_export

    rows = []
    cf = SHARED / "crackforest"
    masks = [read_mask(p) for p in sorted((cf / "masks").glob("*.png"))]
    t = best_of(lambda: [measure_mask(m) for m in masks], rounds=2) / len(masks)
    rows.append(("CrackForest mask 480x320 (mean of 118)", t, ""))
    photos_cf = [
        read_image(cf / "images" / f"{p.stem}.jpg") for p in sorted((cf / "masks").glob("*.png"))
    ]
    pairs = list(zip(masks, photos_cf, strict=True))
    t = best_of(lambda: [measure_mask(m, image=im) for m, im in pairs], rounds=2) / len(pairs)
    rows.append(("CrackForest mask + photo (sub-pixel widths)", t, "intensity profiles"))

    big = random_cracks()
    m = measure_mask(big)
    t = best_of(lambda: measure_mask(big), rounds=2)
    rows.append(("12 MP mask, 60 cracks, 3.6 % crack", t, f"{m.n_cracks} cracks"))
    grey = np.random.default_rng(1).normal(150, 12, big.shape).clip(0, 255).astype(np.uint8)
    grey[big] //= 2
    t = best_of(lambda: measure_mask(big, image=grey), rounds=1)
    rows.append(("12 MP mask + photo (sub-pixel widths)", t, "intensity profiles"))

    full = np.ones((1000, 1500), bool)
    rows.append(("1.5 MP all crack (worst case)", best_of(lambda: measure_mask(full), 1), ""))
    noise = np.random.default_rng(0).random((1000, 1500)) > 0.5
    rows.append(("1.5 MP 50 % noise (worst case)", best_of(lambda: measure_mask(noise), 1), ""))

    photos = sorted((cf / "images").glob("*.jpg"))[:20]
    with tempfile.TemporaryDirectory() as tmp:
        opts = ExportOptions(Path(tmp) / "out", overlays=True)
        t0 = time.perf_counter()
        result = run_export(photos, MaskFolderSource(cf / "masks"), opts)
        t = (time.perf_counter() - t0) / len(photos)
        assert result.exit_code() == 0
    rows.append(("export, 20 photos, all formats + overlays", t, "per image, no model"))

    width = max(len(r[0]) for r in rows)
    print(f"CPU: {cpu_model()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print(f"{'case':<{width}}  seconds  note")
    for name, sec, note in rows:
        print(f"{name:<{width}}  {sec:7.3f}  {note}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "machine": f"{cpu_model()}, {os.cpu_count()} CPUs",
                "load_average": os.getloadavg()[0],
                "rows": [{"case": n, "seconds": round(s, 4), "note": note} for n, s, note in rows],
            },
            indent=2,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
