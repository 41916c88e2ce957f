"""Inference speed and memory on the CPU: our Predictor (torch and ONNX backends) against the
original research approach, on a large photo and on a folder of CrackForest photos.

The original approach (the research script this project replaces) ran one 448 x 448 patch
per forward pass, sliding with a stride of 10 % of the window (44 px), averaging the overlaps,
in float32 with no batching. On a 2048 x 1536 photo that is 38 x 26 = 988 forward passes, so
it is timed on a sample of patches and extrapolated (the table says so).

Every configuration runs in its own subprocess (clean peak RSS, no warm caches shared), in
alternating rounds; the best round counts. The machine may be shared (training runs), so
compare the ratios measured side by side in one run rather than absolute numbers.

    .venv/bin/python benchmarks/bench_inference.py                 # main table
    .venv/bin/python benchmarks/bench_inference.py --micro         # backend/layout/thread variants
    .venv/bin/python benchmarks/bench_inference.py --huge          # peak RSS, 20000 x 15000 photo
    .venv/bin/python benchmarks/bench_inference.py --model unet-vgg16 --encoder vgg16

Results go to benchmarks/results/inference.json (each mode updates its own section).
The Predictor runs fp32 with its default tile plan here; precision, tile plan and the issue-14
targets are measured by bench_speed.py, bench_tiling.py and bench_precision.py.
Without --model, a U-Net of the bundled architecture with random weights is used (speed does
not depend on the weights); --model NAME uses a real one.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("CRACKINSPECTOR_SHARED_DATA", REPO.parent / "shared" / "data"))
RESULTS = REPO / "benchmarks" / "results" / "inference.json"
LARGE = (1536, 2048)  # height, width
HUGE = (15000, 20000)
WINDOW, STRIDE = 448, 44  # the original approach


# ------------------------------------------------------------------ inputs
def crackforest_photos(n: int) -> list[Path]:
    folder = SHARED / "crackforest" / "images"
    photos = sorted(folder.glob("*.jpg"))[:n]
    if len(photos) < n:
        raise SystemExit(f"need {n} CrackForest photos in {folder}")
    return photos


def large_photo(height: int, width: int) -> np.ndarray:
    """A large photo of real road surface: CrackForest photos upscaled 2x (as a higher
    resolution camera would see them) and laid side by side, filled in place (no temporary
    copies, so peak memory reflects inference, not the set-up)."""
    import cv2

    from crackinspector.core.io.imageio import read_image

    tiles = [
        cv2.resize(read_image(p), (960, 640), interpolation=cv2.INTER_CUBIC)
        for p in crackforest_photos(6)
    ]
    out = np.empty((height, width, 3), np.uint8)
    k = 0
    for y in range(0, height, 640):
        for x in range(0, width, 960):
            t = tiles[k % len(tiles)]
            k += 1
            h, w = min(640, height - y), min(960, width - x)
            out[y : y + h, x : x + w] = t[:h, :w]
    return out


def prepare_model(args: argparse.Namespace, workdir: Path) -> str:
    """Path of the model to benchmark: a named one, or a random U-Net saved as a real pair."""
    from crackinspector.core.model.registry import resolve

    if args.model:
        return str(resolve(args.model).weights_path)
    import torch

    from crackinspector.core.model.card import ModelCard
    from crackinspector.core.model.registry import build_model, save_model

    torch.manual_seed(0)
    card = ModelCard(name=f"random-unet-{args.encoder}", encoder=args.encoder)
    return str(save_model(build_model(card), card, workdir, dtype=torch.float32).weights_path)


def flops_per_tile(weights: str, tile: int = 448) -> float:
    """FLOPs (2 x multiply-adds) of one forward pass on a tile x tile RGB patch."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from crackinspector.core.model.registry import load_model

    model = load_model(weights, "cpu")
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        model(torch.zeros(1, 3, tile, tile))
    return float(counter.get_total_flops())


# ------------------------------------------------------------------ the original approach
def original_positions(length: int, window: int = WINDOW, stride: int = STRIDE) -> list[int]:
    if length <= window:
        return [0]
    starts = list(range(0, length - window + 1, stride))
    if starts[-1] != length - window:
        starts.append(length - window)
    return starts


def original_predict(model, card, image: np.ndarray, sample: int | None = None) -> dict:
    """One 448 patch per forward pass, stride 44, overlaps averaged, float32 NCHW, no batching.
    With `sample`, only that many patches (spread over the photo) run; the time of the rest
    is extrapolated from them."""
    import torch

    h, w = image.shape[:2]
    ph, pw = max(h, WINDOW), max(w, WINDOW)
    if (ph, pw) != (h, w):
        image = np.pad(image, ((0, ph - h), (0, pw - w), (0, 0)), mode="reflect")
    mean = np.asarray(card.mean, np.float32)
    std = np.asarray(card.std, np.float32)
    positions = [(y, x) for y in original_positions(ph) for x in original_positions(pw)]
    run = positions
    if sample is not None and sample < len(positions):
        run = [positions[i] for i in np.linspace(0, len(positions) - 1, sample).astype(int)]
    acc = np.zeros((ph, pw), np.float32)
    count = np.zeros((ph, pw), np.float32)
    t0 = time.perf_counter()
    with torch.no_grad():
        for y, x in run:
            patch = (image[y : y + WINDOW, x : x + WINDOW].astype(np.float32) / 255 - mean) / std
            tensor = torch.from_numpy(patch.transpose(2, 0, 1).copy())[None]
            prob = torch.sigmoid(model(tensor))[0, 0].numpy()
            acc[y : y + WINDOW, x : x + WINDOW] += prob
            count[y : y + WINDOW, x : x + WINDOW] += 1
    seconds = time.perf_counter() - t0
    _ = acc / np.maximum(count, 1)
    return {
        "patches": len(positions),
        "patches_run": len(run),
        "seconds": seconds * len(positions) / len(run),
        "pixels": len(positions) * WINDOW * WINDOW,
    }


# ------------------------------------------------------------------ workers (subprocesses)
def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # Linux: reset VmHWM to current RSS
        return True
    except OSError:
        return False


def _rss_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _peak_rss_mb() -> float:
    hwm = _rss_mb("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(spec: dict) -> dict:
    """Run one configuration on one workload; returns timings and memory."""
    import torch

    if spec.get("threads"):
        torch.set_num_threads(spec["threads"])  # ONNX Runtime follows torch's count

    from crackinspector.core.infer.predictor import Predictor
    from crackinspector.core.io.imageio import read_image
    from crackinspector.core.model.registry import load_model, resolve

    if spec["workload"] == "large":
        images = [large_photo(*LARGE)]
    elif spec["workload"] == "huge":
        images = [large_photo(*HUGE)]
    else:
        images = [read_image(p) for p in crackforest_photos(spec["n_photos"])]
    result: dict = {"threads": torch.get_num_threads()}
    if spec["config"] == "original":
        info = resolve(spec["weights"])
        model = load_model(info, "cpu")
        original_predict(model, info.card, images[0], sample=2)  # warm-up
        rss_before = _rss_mb("VmRSS")
        _reset_peak_rss()
        runs = [original_predict(model, info.card, im, spec.get("sample")) for im in images]
        result.update(
            seconds=sum(r["seconds"] for r in runs),
            tiles=sum(r["patches"] for r in runs),
            tiles_run=sum(r["patches_run"] for r in runs),
            pixels=sum(r["pixels"] for r in runs),
        )
    else:
        predictor = Predictor(
            spec["weights"],
            device="cpu",
            backend=spec["backend"],
            precision=spec.get("precision", "fp32"),
            threads=spec.get("threads") or 0,
        )
        if spec.get("batch_size"):
            predictor.batch_size = spec["batch_size"]
        if spec.get("channels_last") is False:
            predictor.channels_last = False
            predictor._place_model(predictor.device)
        if spec["workload"] != "huge":
            predictor.predict(images[0][:448, :448])  # warm-up (allocators, kernels)
        rss_before = _rss_mb("VmRSS")
        _reset_peak_rss()
        counts = {"tiles": 0, "pixels": 0}

        def count(done: int, total: int) -> None:
            counts["last"] = (done, total)

        fraction = spec.get("fraction")
        t0 = time.perf_counter()
        for im in images:
            from crackinspector.core.infer.tiling import plan_tiles

            grid = plan_tiles(
                im.shape[0],
                im.shape[1],
                predictor.tile_size,
                predictor.overlap,
                fit=predictor.fit_tiles,
            )
            counts["tiles"] += grid.total
            counts["pixels"] += grid.total * grid.tile_h * grid.tile_w
            if fraction:
                limit = max(1, int(grid.total * fraction))
                done_ref = {"n": 0}

                def progress(done: int, total: int, ref=done_ref) -> None:
                    ref["n"] = done

                from crackinspector.core.errors import Cancelled

                with contextlib.suppress(Cancelled):
                    predictor.predict(
                        im,
                        progress=progress,
                        cancel=lambda ref=done_ref, limit=limit: ref["n"] >= limit,
                    )
                result["tiles_run"] = done_ref["n"]
            else:
                predictor.predict(im, progress=count)
        seconds = time.perf_counter() - t0
        if fraction:
            seconds *= counts["tiles"] / max(1, result["tiles_run"])
        result.update(seconds=seconds, tiles=counts["tiles"], pixels=counts["pixels"])
        result["description"] = predictor.description
    result["peak_rss_mb"] = _peak_rss_mb()
    result["rss_before_mb"] = rss_before
    result["image_mb"] = sum(im.nbytes for im in images) / 2**20
    result["images"] = len(images)
    return result


def run_worker(spec: dict, env: dict) -> dict:
    cmd = [sys.executable, __file__, "--worker", json.dumps(spec)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"worker {spec} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ reporting
def save_section(name: str, data: dict) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    from crackinspector.core.io.atomic import atomic_write_text

    existing = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    existing[name] = data
    atomic_write_text(RESULTS, json.dumps(existing, indent=2) + "\n")


def machine() -> dict:
    import onnxruntime
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "load_average_at_start": list(os.getloadavg()),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }


def print_table(rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for k, r in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
        if k == 0:
            print("  ".join("-" * w for w in widths))


def main_table(args: argparse.Namespace, weights: str, env: dict) -> None:
    gflop_tile = flops_per_tile(weights) / 1e9
    photo_sample = args.sample
    specs = {
        ("large", "original"): {"config": "original", "workload": "large", "sample": photo_sample},
        ("large", "torch"): {"config": "predictor", "backend": "torch", "workload": "large"},
        ("large", "onnx"): {"config": "predictor", "backend": "onnx", "workload": "large"},
        ("folder", "original"): {"config": "original", "workload": "folder"},
        ("folder", "torch"): {"config": "predictor", "backend": "torch", "workload": "folder"},
        ("folder", "onnx"): {"config": "predictor", "backend": "onnx", "workload": "folder"},
    }
    best: dict = {}
    for r in range(args.rounds):
        for key, spec in specs.items():
            spec = {**spec, "weights": weights, "n_photos": args.photos, "threads": args.threads}
            res = run_worker(spec, env)
            print(f"round {r + 1}: {key[0]:6s} {key[1]:8s} {res['seconds']:8.2f} s", flush=True)
            if key not in best or res["seconds"] < best[key]["seconds"]:
                best[key] = res
    rows = [
        [
            "workload",
            "approach",
            "seconds",
            "images/s",
            "tiles/s",
            "GFLOP/s",
            "peak RSS MB",
            "x original",
            "x torch",
            "note",
        ]
    ]
    out: dict = {"gflop_per_448_tile": gflop_tile, "rounds": args.rounds, "results": {}}
    for (workload, config), res in best.items():
        secs = res["seconds"]
        gflops = gflop_tile * res["pixels"] / (448 * 448) / secs
        vs_orig = best[(workload, "original")]["seconds"] / secs
        vs_torch = best[(workload, "torch")]["seconds"] / secs
        note = ""
        if config == "original":
            note = f"{res['tiles']} patches of 448, stride 44"
            if res.get("tiles_run", res["tiles"]) < res["tiles"]:
                note += f"; time extrapolated from {res['tiles_run']}"
        else:
            note = f"{res['tiles']} tiles, {res['description']}"
        rows.append(
            [
                workload,
                config,
                f"{secs:.2f}",
                f"{res['images'] / secs:.3g}",
                f"{res['tiles'] / secs:.2f}",
                f"{gflops:.1f}",
                f"{res['peak_rss_mb']:.0f}",
                f"{vs_orig:.1f}",
                f"{vs_torch:.2f}",
                note,
            ]
        )
        out["results"][f"{workload}/{config}"] = {
            **res,
            "images_per_s": res["images"] / secs,
            "tiles_per_s": res["tiles"] / secs,
            "gflop_per_s": gflops,
            "speedup_vs_original": vs_orig,
            "speedup_vs_torch": vs_torch,
        }
    print(f"\nmodel: {Path(weights).stem}, {gflop_tile:.1f} GFLOP per 448x448 tile")
    print_table(rows)
    out["table"] = rows
    out["machine"] = machine()
    out["model"] = Path(weights).stem
    threads = best[("large", "torch")]["threads"]
    save_section(f"main/{Path(weights).stem}/threads={threads}", out)


# ------------------------------------------------------------------ micro benchmark
def micro(args: argparse.Namespace, weights: str) -> None:
    """Forward-pass time per 448 tile for backend, layout, batch, thread and ORT variants."""
    import onnxruntime as ort
    import torch

    from crackinspector.core.infer.onnx_backend import load_onnx, onnx_cache_path
    from crackinspector.core.model.device import autocast
    from crackinspector.core.model.registry import load_model, resolve

    info = resolve(weights)
    load_onnx(info)  # make sure the export exists
    path = onnx_cache_path(info)
    threads = torch.get_num_threads()

    def timeit(fn, batch: int, repeat: int) -> float:
        fn()
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return min(times) / batch

    rng = np.random.default_rng(0)
    variants: dict[str, float] = {}
    model = load_model(info, "cpu")
    for batch in args.micro_batches:
        x = torch.from_numpy(rng.standard_normal((batch, 3, 448, 448), dtype=np.float32))
        xn = x.numpy()
        with torch.inference_mode():
            m = model.to(memory_format=torch.contiguous_format)
            variants[f"torch NCHW b{batch}"] = timeit(lambda m=m, x=x: m(x), batch, args.repeat)
            m = model.to(memory_format=torch.channels_last)
            xc = x.contiguous(memory_format=torch.channels_last)
            variants[f"torch channels_last b{batch}"] = timeit(
                lambda m=m, x=xc: m(x), batch, args.repeat
            )
            if args.bf16:

                def bf16(m=m, x=xc):
                    with autocast(torch.device("cpu"), torch.bfloat16):
                        return m(x)

                variants[f"torch channels_last bf16 b{batch}"] = timeit(bf16, batch, args.repeat)
        for level_name, level in (
            ("all", ort.GraphOptimizationLevel.ORT_ENABLE_ALL),
            ("extended", ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED),
            ("basic", ort.GraphOptimizationLevel.ORT_ENABLE_BASIC),
        ):
            for spin in ("1", "0") if threads > 1 else ("1",):
                so = ort.SessionOptions()
                so.intra_op_num_threads = threads
                so.inter_op_num_threads = 1
                so.graph_optimization_level = level
                so.add_session_config_entry("session.intra_op.allow_spinning", spin)
                s = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
                key = f"onnx opt={level_name} spin={spin} b{batch}"
                variants[key] = timeit(
                    lambda s=s, x=xn: s.run(None, {"image": x}), batch, args.repeat
                )
    base = variants[f"torch NCHW b{args.micro_batches[0]}"]
    rows = [["variant", "s per 448 tile", "x torch NCHW"]]
    for k, v in variants.items():
        rows.append([k, f"{v:.3f}", f"{base / v:.2f}"])
    print(f"\nmodel {info.name}, {threads} threads")
    print_table(rows)
    save_section(
        f"micro/{info.name}/threads={threads}",
        {"seconds_per_tile": variants, "machine": machine()},
    )


# ------------------------------------------------------------------ huge photo
def huge(args: argparse.Namespace, weights: str, env: dict) -> None:
    spec = {
        "config": "predictor",
        "backend": args.huge_backend,
        "workload": "huge",
        "weights": weights,
        "fraction": args.huge_fraction,
        "threads": args.threads,
    }
    res = run_worker(spec, env)
    h, w = HUGE
    beyond = res["peak_rss_mb"] - res["rss_before_mb"]
    print(f"\n{w} x {h} photo ({res['image_mb']:.0f} MB decoded), {res['description']}")
    print(f"  tiles: {res['tiles']} (run: {res.get('tiles_run', res['tiles'])})")
    print(f"  RSS before predict (photo, model, runtime): {res['rss_before_mb']:.0f} MB")
    print(f"  peak RSS during predict: {res['peak_rss_mb']:.0f} MB  (+{beyond:.0f} MB)")
    print(f"  output map float32: {h * w * 4 / 2**20:.0f} MB")
    label = "extrapolated" if args.huge_fraction else "measured"
    print(f"  time ({label}): {res['seconds'] / 60:.1f} min")
    res["beyond_photo_mb"] = res["peak_rss_mb"] - res["image_mb"]
    res["beyond_rss_before_mb"] = beyond
    res["time_is"] = label
    res["machine"] = machine()
    save_section("huge", res)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--model", help="registered model name or .safetensors file")
    parser.add_argument("--encoder", default="resnet34", help="encoder of the random model")
    parser.add_argument("--photos", type=int, default=20, help="CrackForest photos in the folder")
    parser.add_argument("--sample", type=int, default=30, help="original-approach patches timed")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--micro", action="store_true", help="forward-pass variants only")
    parser.add_argument("--micro-batches", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--bf16", action="store_true", help="also time CPU bf16 autocast")
    parser.add_argument("--huge", action="store_true", help="peak memory on a 20000x15000 photo")
    parser.add_argument("--huge-fraction", type=float, help="run this fraction of the tiles only")
    parser.add_argument("--huge-backend", default="auto")
    parser.add_argument(
        "--threads", type=int, help="CPU threads for torch and ONNX Runtime (default: torch's)"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="bench-inference-") as tmp:
        env = {**os.environ, "CRACKINSPECTOR_CACHE_DIR": str(Path(tmp) / "cache")}
        os.environ.update(env)
        weights = prepare_model(args, Path(tmp))
        from crackinspector.core.infer.onnx_backend import load_onnx
        from crackinspector.core.model.registry import resolve

        t = time.perf_counter()
        load_onnx(resolve(weights))  # export once; workers reuse the cached file
        print(f"ONNX export of {Path(weights).stem}: {time.perf_counter() - t:.1f} s", flush=True)
        if args.micro:
            micro(args, weights)
        elif args.huge:
            huge(args, weights, env)
        else:
            main_table(args, weights, env)


if __name__ == "__main__":
    main()
