"""Crack width and length as reported by analyse(), against references of known width.

(a) Synthetic cracks of known geometry, 1 to 15 px wide (straight, curved, branched; see
    bench_width_data.py) on real crack-free textures, run through the real model: the
    reported mean width of the crack against the true width, per width band.
(b) CrackForest test (46 photos), masonry (every 4th of 192 crops) and uav75 val (10): per
    photo the reported length-weighted mean width and total length against the ground
    truth's (mask area / skeleton length of the truth mask, and that skeleton length):
    median ratio and spread (interquartile range).

Each width method of core/analysis/width.py is measured ("half": width at the level midway
between background and crack, the default; "area": profile area over the crack level) next
to "mask", the distance-transform width of the thresholded mask (the method before).

The model's probability maps are cached under scratch/width_cache/<model identity>/ (16-bit
PNG), so only the first run pays for inference (about 5 s a photo on a shared 2-core CPU,
15 min for all 164); a rerun takes about 1.5 min. A retrained model has another identity and
is predicted afresh:

    nice -n 2 .venv/bin/python benchmarks/bench_width.py [--model NAME] [--seeds 2]

Results go to benchmarks/results/width.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_width_data import (
    LABELLED_SETS,
    REPO,
    WIDTHS,
    ProbabilityCache,
    Sample,
    labelled,
    model_key,
    synthetic,
)

from crackinspector.core.analysis.analyse import AnalysisSettings, analyse
from crackinspector.core.analysis.measure import ImageMeasurement, measure_mask
from crackinspector.core.infer.hardware import cpu_model

RESULTS = REPO / "benchmarks" / "results" / "width.json"
ALL_METHODS = ("intensity", "probability", "mask")
BANDS = ((1, 2), (3, 5), (6, 9), (10, 15))
# a found crack longer than this times the true one has texture marks (joints) joined to it
JOINED_LENGTH_RATIO = 1.2


def measure(sample: Sample, prob: np.ndarray, threshold: float, method: str) -> ImageMeasurement:
    """analyse() as the app runs it (photo and probability map), widths from `method`."""
    settings = AnalysisSettings(threshold, width_method=method)
    return analyse(prob, settings, image=sample.image)


def weighted_width(m: ImageMeasurement) -> tuple[float, float]:
    """(length-weighted mean width, total length) of a measurement's listed cracks."""
    length = sum(c.length_px for c in m.cracks)
    if length <= 0:
        return float("nan"), 0.0
    return sum(c.mean_width_px * c.length_px for c in m.cracks) / length, length


def truth_of(sample: Sample) -> tuple[float, float]:
    """Ground truth (mean width, length): mask area / skeleton length, skeleton length."""
    m = measure_mask(sample.truth, min_area_px=1)
    length = m.total_length_px
    return (float(sample.truth.sum()) / length if length else float("nan")), length


def quartiles(values: list[float]) -> tuple[float, float, float]:
    v = np.asarray([x for x in values if np.isfinite(x)], float)
    if v.size == 0:
        return (float("nan"),) * 3  # type: ignore[return-value]
    q1, q2, q3 = np.percentile(v, [25, 50, 75])
    return float(q1), float(q2), float(q3)


def on_truth(m: ImageMeasurement, truth: np.ndarray) -> list:
    """The cracks lying on the synthetic crack: half their skeleton within 3 px of it (the
    model also marks joints of the texture; those are not the crack measured)."""
    near = cv2.dilate(truth.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    out = []
    for c in m.cracks:
        on = m.skeleton & (m.labels == c.label)
        if on.any() and near[on].mean() >= 0.5:
            out.append(c)
    return out


def run_synthetic(cache: ProbabilityCache, threshold: float, seeds: int) -> dict:
    rows: dict[str, list[dict]] = {m: [] for m in ALL_METHODS}
    for s in synthetic(seeds):
        prob = cache.probability(s)
        truth_length = truth_of(s)[1]
        for method in ALL_METHODS:
            cracks = on_truth(measure(s, prob, threshold, method), s.truth)
            length = sum(c.length_px for c in cracks)
            found = length >= 0.5 * truth_length
            width = sum(c.mean_width_px * c.length_px for c in cracks) / length if found else None
            widest = max((c.max_width_px for c in cracks), default=0.0)
            rows[method].append(
                {
                    "stem": s.stem,
                    "shape": s.shape,
                    "width": s.width,
                    "found": found,
                    "length_ratio": round(length / truth_length, 3),
                    "mean_width_px": None if width is None else round(width, 3),
                    "max_width_px": round(widest, 3) if found else None,
                    "error_px": None if width is None else round(width - s.width, 3),
                }
            )
    bands = {}
    for method, items in rows.items():
        for lo, hi in BANDS:
            band = [r for r in items if lo <= r["width"] <= hi]
            errs = [abs(r["error_px"]) for r in band if r["found"]]
            signed = [r["error_px"] for r in band if r["found"]]
            clean = [
                abs(r["error_px"])
                for r in band
                if r["found"] and r["length_ratio"] <= JOINED_LENGTH_RATIO
            ]
            bands[f"{method} {lo}-{hi}"] = {
                "method": method,
                "band": [lo, hi],
                "photos": len(band),
                "found": len(errs),
                "mean_abs_error_px": round(statistics.fmean(errs), 3) if errs else None,
                "median_abs_error_px": round(statistics.median(errs), 3) if errs else None,
                "max_abs_error_px": round(max(errs), 3) if errs else None,
                "mean_error_px": round(statistics.fmean(signed), 3) if signed else None,
                "clean": len(clean),
                "clean_mean_abs_error_px": round(statistics.fmean(clean), 3) if clean else None,
            }
    return {"bands": bands, "photos": rows}


def run_labelled(cache: ProbabilityCache, threshold: float, name: str) -> dict:
    per: dict[str, list[dict]] = {m: [] for m in ALL_METHODS}
    for s in labelled(name):
        prob = cache.probability(s)
        gt_w, gt_l = truth_of(s)
        for method in ALL_METHODS:
            w, length = weighted_width(measure(s, prob, threshold, method))
            per[method].append(
                {
                    "stem": s.stem,
                    "truth_width_px": round(gt_w, 3),
                    "truth_length_px": round(gt_l, 1),
                    "width_px": round(w, 3),
                    "length_px": round(length, 1),
                    "width_ratio": round(w / gt_w, 4) if gt_l and length else None,
                    "length_ratio": round(length / gt_l, 4) if gt_l else None,
                }
            )
    summary = {}
    for method, items in per.items():
        wq = quartiles([r["width_ratio"] for r in items if r["width_ratio"] is not None])
        lq = quartiles([r["length_ratio"] for r in items if r["length_ratio"] is not None])
        summary[method] = {
            "photos": len(items),
            "measured": sum(1 for r in items if r["width_ratio"] is not None),
            "width_ratio_median": round(wq[1], 3),
            "width_ratio_iqr": [round(wq[0], 3), round(wq[2], 3)],
            "length_ratio_median": round(lq[1], 3),
            "length_ratio_iqr": [round(lq[0], 3), round(lq[2], 3)],
        }
    return {"summary": summary, "photos": per}


def _ratio(median: float, iqr: list[float]) -> str:
    return f"{median:.2f} [{iqr[0]:.2f}-{iqr[1]:.2f}]"


def print_tables(result: dict) -> None:
    print(f"\nCPU: {result['cpu']}   model: {result['model']}   threshold {result['threshold']}")
    print("\n(a) synthetic cracks: |reported mean width - true width| in px, per width band")
    print("    (clean: without the photos where the model joined texture joints to the crack)")
    print(
        f"{'method':11} {'band px':>8} {'found':>7} {'mean |err|':>11} {'median':>7} "
        f"{'max':>6} {'mean err':>9} {'clean':>6} {'clean |err|':>12}"
    )
    fmt = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
    for b in result["synthetic"]["bands"].values():
        lo, hi = b["band"]
        print(
            f"{b['method']:11} {f'{lo}-{hi}':>8} {b['found']:>3}/{b['photos']:<3} "
            f"{fmt(b['mean_abs_error_px']):>11} {fmt(b['median_abs_error_px']):>7} "
            f"{fmt(b['max_abs_error_px']):>6} {fmt(b['mean_error_px']):>9} "
            f"{b['clean']:>6} {fmt(b['clean_mean_abs_error_px']):>12}"
        )
    print("\n(b) labelled sets: reported / ground truth, median [interquartile range]")
    print(f"{'set':12} {'method':11} {'photos':>7} {'mean width':>18} {'length':>18}")
    for name, data in result["labelled"].items():
        for method, s in data["summary"].items():
            w = _ratio(s["width_ratio_median"], s["width_ratio_iqr"])
            ln = _ratio(s["length_ratio_median"], s["length_ratio_iqr"])
            print(f"{name:12} {method:11} {s['measured']:>3}/{s['photos']:<3} {w:>18} {ln:>18}")
    print(f"\n{result['seconds']:.0f} s ({result['predicted']} photos predicted, rest cached)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="unet-resnet34")
    ap.add_argument("--seeds", type=int, default=2, help="synthetic photos per shape and width")
    ap.add_argument("--sets", nargs="*", default=["synthetic", *LABELLED_SETS])
    args = ap.parse_args()
    from crackinspector.core.model.registry import resolve

    t0 = time.perf_counter()
    cache = ProbabilityCache(args.model)
    threshold = float(resolve(args.model).card.threshold)
    result: dict = {
        "cpu": cpu_model(),
        "model": model_key(args.model),
        "threshold": threshold,
        "widths": list(WIDTHS),
        "labelled": {},
    }
    if "synthetic" in args.sets:
        result["synthetic"] = run_synthetic(cache, threshold, args.seeds)
    for name in LABELLED_SETS:
        if name in args.sets:
            result["labelled"][name] = run_labelled(cache, threshold, name)
    result["seconds"] = round(time.perf_counter() - t0, 1)
    result["predicted"] = cache.predicted
    result.setdefault("synthetic", {"bands": {}})
    print_tables(result)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(f"written {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
