"""The headless pipeline with and without overlapping the work (decode the next photo and
analyse + write the last one while the model runs), `predict` on real CrackForest photos
with the bundled unet-resnet34 (default inference options).

Rounds alternate serial / overlapped so that a busy machine (training runs) affects both
alike; the best round of each is reported. Compare the ratio, not absolute numbers.

    .venv/bin/python benchmarks/bench_pipeline.py [--photos 5] [--rounds 2]

Results go to benchmarks/results/pipeline.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("CRACKINSPECTOR_SHARED_DATA", REPO.parent / "shared" / "data"))
RESULTS = REPO / "benchmarks" / "results" / "pipeline.json"


def main() -> int:
    from crackinspector.core.infer.hardware import cpu_flags, cpu_model
    from crackinspector.core.infer.options import InferenceOptions, make_predictor
    from crackinspector.core.pipeline.inputs import collect_inputs
    from crackinspector.core.pipeline.predict import PredictOptions, run_predict

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    test = json.loads((SHARED / "crackforest" / "split.json").read_text())["test"]
    paths = [SHARED / "crackforest" / "images" / f"{s}.jpg" for s in test[: args.photos]]
    photos, _ = collect_inputs(paths)
    predictor = make_predictor(InferenceOptions(model="unet-resnet34"))
    run_predict(photos[:1], predictor, PredictOptions(Path(tempfile.mkdtemp()) / "warm"))
    times: dict[str, list[float]] = {"serial": [], "overlapped": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for name in ("serial", "overlapped"):
                out = Path(tmp) / f"{name}-{r}"
                t0 = time.perf_counter()
                run_predict(photos, predictor, PredictOptions(out, overlap=name == "overlapped"))
                times[name].append(time.perf_counter() - t0)
    best = {k: min(v) for k, v in times.items()}
    doc = {
        "cpu": cpu_model(),
        "cpu_flags": sorted(f for f in cpu_flags() if f.startswith(("avx", "amx"))),
        "cores": os.cpu_count(),
        "load_average_at_start": list(os.getloadavg()),
        "model": predictor.description,
        "photos": len(photos),
        "photo_size": "480x320 (CrackForest test)",
        "seconds": times,
        "best_seconds_per_photo": {k: v / len(photos) for k, v in best.items()},
        "speedup": best["serial"] / best["overlapped"],
    }
    print(f"CPU: {doc['cpu']} ({doc['cores']} cores; {' '.join(doc['cpu_flags'])})")
    print(f"{doc['model']}; {len(photos)} photos; load {doc['load_average_at_start']}")
    print(f"{'mode':<12}{'best s':>9}{'s/photo':>9}  rounds")
    for k in ("serial", "overlapped"):
        rounds = " ".join(f"{t:.1f}" for t in times[k])
        print(f"{k:<12}{best[k]:>9.2f}{best[k] / len(photos):>9.2f}  {rounds}")
    print(f"speed-up of overlapping: {doc['speedup']:.2f}x")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
