#!/usr/bin/env bash
# GPU checks for issue 14, one prepared script for a CUDA machine:
#   1. CUDA inference against the CPU fp32 result (ONNX Runtime) at fp32 / fp16 / bf16, on
#      CrackForest test photos and a 2048 x 1536 crop of real UAV photos: mean and max
#      absolute probability difference and the F1 between the thresholded masks;
#   2. the out-of-memory fallback, with the process's GPU memory capped by
#      torch.cuda.set_per_process_memory_fraction: a cap that fits one tile but not a big
#      batch (the batch must halve), and a cap that fits nothing (the Predictor must move to
#      the CPU); both must still give the CPU's map;
#   3. one epoch of AMP training (crackinspector-train --amp auto, a few steps of crops);
#   4. throughput (tiles/s, megapixels/s) for a 4000 x 3000 photo at fp32 / fp16 / bf16.
# Exit status: 0 all passed, 1 a check failed, 2 no CUDA (nothing was checked).
#
#   bash benchmarks/gpu_check.sh                     # from the repository root
#   WHEELS=dist/wheels bash benchmarks/gpu_check.sh  # install missing packages from wheels
#
# segmentation-models-pytorch (and the project) must be importable; on a bare machine put
# their wheels in $WHEELS (pip download segmentation-models-pytorch timm ... -d dist/wheels)
# and they are installed from there without the network.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-}
if [[ -z "$PY" ]]; then
  if [[ -x .venv/bin/python ]]; then PY=.venv/bin/python; else PY=python3; fi
fi
if ! "$PY" -c "import segmentation_models_pytorch" 2>/dev/null; then
  if [[ -n "${WHEELS:-}" ]]; then
    "$PY" -m pip install -q --no-index --find-links "$WHEELS" segmentation-models-pytorch
  else
    echo "gpu_check: segmentation_models_pytorch is not importable; set WHEELS=<folder of wheels>" >&2
    exit 1
  fi
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export CRACKINSPECTOR_CACHE_DIR="${CRACKINSPECTOR_CACHE_DIR:-$(mktemp -d)/cache}"
OUT_DIR="${OUT:-benchmarks/results}"
mkdir -p "$OUT_DIR"

"$PY" - "$OUT_DIR" <<'PYCODE'
import json, os, sys, time, warnings
from pathlib import Path

import numpy as np
import torch

if not torch.cuda.is_available():
    print("gpu_check: no CUDA device (torch.cuda.is_available() is False): nothing was checked",
          file=sys.stderr)
    sys.exit(2)

sys.path.insert(0, "benchmarks")
from bench_speed import big_photo  # noqa: E402

from crackinspector.core.infer.predictor import FallbackWarning, Predictor  # noqa: E402
from crackinspector.core.io.imageio import read_image  # noqa: E402

out_dir = Path(sys.argv[1])
shared = Path(os.environ.get("CRACKINSPECTOR_SHARED_DATA", "../shared/data"))
MODEL = os.environ.get("GPU_CHECK_MODEL", "unet-resnet34")
TOL = {"fp32": (2e-3, 0.995), "fp16": (5e-3, 0.98), "bf16": (1e-2, 0.97)}  # mean diff, mask F1
failures: list[str] = []
report: dict = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "model": MODEL}
print(f"GPU: {report['gpu']}; torch {torch.__version__}; model {MODEL}")


def mask_f1(a, b, t):
    a, b = a >= t, b >= t
    inter = np.logical_and(a, b).sum()
    return float(2 * inter / max(1, a.sum() + b.sum())) if (a.any() or b.any()) else 1.0


def check(name, ok, detail):
    print(f"  {'PASS' if ok else 'FAIL'} {name}: {detail}", flush=True)
    if not ok:
        failures.append(f"{name}: {detail}")


photos = [read_image(shared / "crackforest" / "images" / f"{n:03d}.jpg") for n in (73, 90, 110)]
big = big_photo()
photos.append(np.ascontiguousarray(big[:1536, :2048]))
cpu = Predictor(MODEL, device="cpu", precision="fp32")
t = cpu.threshold
refs = [cpu.predict(p) for p in photos]

print("1. CUDA against the CPU (fp32 ONNX Runtime)")
report["agreement"] = {}
for prec in ("fp32", "fp16", "bf16"):
    if prec == "bf16" and not torch.cuda.is_bf16_supported():
        print("  skip bf16: not supported by this GPU")
        continue
    gpu = Predictor(MODEL, device="cuda", precision=prec)
    maps = [gpu.predict(p) for p in photos]
    mean = max(float(np.abs(m - r).mean()) for m, r in zip(maps, refs))
    worst = max(float(np.abs(m - r).max()) for m, r in zip(maps, refs))
    f1 = min(mask_f1(m, r, t) for m, r in zip(maps, refs))
    report["agreement"][prec] = {"mean_abs_diff": mean, "max_abs_diff": worst, "mask_f1": f1,
                                 "precision_used": gpu.precision}
    check(f"cuda {prec}", gpu.precision == prec and mean <= TOL[prec][0] and f1 >= TOL[prec][1],
          f"mean |diff| {mean:.2e}, max {worst:.3f}, mask F1 {f1:.4f} (used {gpu.precision})")
    del gpu
    torch.cuda.empty_cache()

print("2. out-of-memory fallback")
total = torch.cuda.get_device_properties(0).total_memory
image = photos[-1]
for label, cap_gb, batch, expect_cpu in (("halve", 2.0, 64, False), ("to CPU", 0.05, 4, True)):
    torch.cuda.empty_cache()
    torch.cuda.set_per_process_memory_fraction(min(1.0, cap_gb * 2**30 / total), 0)
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            p = Predictor(MODEL, device="cuda", precision="fp16", batch_size=batch)
            got = p.predict(image)
        notes = [str(w.message) for w in seen if issubclass(w.category, FallbackWarning)]
        f1 = mask_f1(got, refs[-1], t)
        moved = p.device.type == "cpu"
        ok = bool(notes) and moved == expect_cpu and f1 >= 0.97
        check(f"OOM {label} (cap {cap_gb} GB, batch {batch})", ok,
              f"{len(notes)} fallback warnings, on {p.device.type}, batch now {p.batch_size}, "
              f"mask F1 vs CPU {f1:.4f}")
    except Exception as exc:  # an OOM that escaped the fallback is a failure, not a crash
        check(f"OOM {label}", False, f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0, 0)
        torch.cuda.empty_cache()

print("3. one epoch of AMP training")
import subprocess  # noqa: E402
import tempfile  # noqa: E402

with tempfile.TemporaryDirectory() as run:
    cmd = [sys.executable, "-m", "training.cli",
           "--images", str(shared / "crackpool" / "images"),
           "--masks", str(shared / "crackpool" / "masks"),
           "--split", str(shared / "crackpool" / "split.json"),
           "--encoder", "resnet34", "--epochs", "1", "--steps-per-epoch", "20",
           "--batch-size", "16", "--crop-size", "256", "--amp", "auto", "--device", "cuda",
           "--val-limit", "32", "--out", f"{run}/run", "--export-dir", f"{run}/models",
           "--name", "gpu-check"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    secs = time.perf_counter() - t0
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
    exported = list(Path(run, "models").glob("gpu-check.safetensors"))
    report["training"] = {"returncode": proc.returncode, "seconds": secs, "tail": tail}
    check("AMP training epoch", proc.returncode == 0 and bool(exported),
          f"rc {proc.returncode}, {secs:.0f} s, {' | '.join(tail)[:300]}")

print("4. throughput, 4000 x 3000 photo")
report["throughput"] = {}
for prec in ("fp32", "fp16", "bf16"):
    if prec == "bf16" and not torch.cuda.is_bf16_supported():
        continue
    p = Predictor(MODEL, device="cuda", precision=prec)
    p.predict(big[:1024, :1024])
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    n = {"tiles": 0}
    p.predict(big, progress=lambda d, tot: n.update(tiles=tot))
    torch.cuda.synchronize()
    secs = time.perf_counter() - t0
    report["throughput"][prec] = {"seconds": secs, "tiles": n["tiles"], "batch": p.batch_size,
                                  "megapixels_per_s": big.shape[0] * big.shape[1] / 1e6 / secs}
    print(f"  {prec}: {secs:.2f} s per photo, {n['tiles'] / secs:.1f} tiles/s "
          f"({p.tile_size} px, batch {p.batch_size}), "
          f"{big.shape[0] * big.shape[1] / 1e6 / secs:.1f} MPx/s")
    del p
    torch.cuda.empty_cache()

report["failures"] = failures
report["date"] = time.strftime("%Y-%m-%d %H:%M")
(out_dir / "gpu_check.json").write_text(json.dumps(report, indent=2) + "\n")
print(f"{'ALL PASSED' if not failures else f'{len(failures)} FAILED'}; wrote {out_dir / 'gpu_check.json'}")
sys.exit(1 if failures else 0)
PYCODE
