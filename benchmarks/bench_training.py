"""Training throughput and peak memory: our pipeline against a plain research-style loop.

The plain loop is what the original research script did: batch 4, float32, no channels-last,
no mixed precision, no augmentation pipeline (a random crop only), SGD. Ours is
`crackinspector-train` itself (training.loop.fit: bf16 autocast where the CPU does it
natively, channels-last and AMP on CUDA, batch 16, full augmentation). Both see the same
crop size, so images/s compare like with like. Each configuration runs in its own process
so peak memory (max RSS) is its own.

    python benchmarks/bench_training.py [--encoders resnet34,vgg16] [--steps 6] [--crop 256]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "crackforest"
RESULTS = REPO / "benchmarks" / "results" / "training.json"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_plain(encoder: str, steps: int, crop: int, device: str) -> dict:
    """The research script's loop, written out plainly (this is the baseline, on purpose)."""
    import numpy as np
    import segmentation_models_pytorch as smp
    import torch

    from crackinspector.core.io.imageio import read_image, read_mask

    torch.manual_seed(0)
    model = smp.Unet(encoder, encoder_weights=None, classes=1).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, weight_decay=1e-4)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    stems = [f"{i:03d}" for i in range(1, 73)]
    pairs = [(read_image(DATA / "images" / f"{s}.jpg"), read_mask(DATA / "masks" / f"{s}.png"))
             for s in stems]  # fmt: skip
    rng = np.random.default_rng(0)
    batch = 4

    def sample():
        img, msk = pairs[int(rng.integers(len(pairs)))]
        y, x = (
            int(rng.integers(img.shape[0] - crop + 1)),
            int(rng.integers(img.shape[1] - crop + 1)),
        )
        return img[y : y + crop, x : x + crop], msk[y : y + crop, x : x + crop]

    def step():
        items = [sample() for _ in range(batch)]
        x = torch.tensor(np.stack([i for i, _ in items]), dtype=torch.float32).permute(0, 3, 1, 2)
        x = (x / 255.0).to(device)
        y = torch.tensor(np.stack([m for _, m in items]), dtype=torch.float32)[:, None].to(device)
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    for _ in range(2):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t
    return {"images_per_s": steps * batch / seconds, "batch": batch, "amp": "off"}


def run_ours(encoder: str, steps: int, crop: int, device: str) -> dict:
    from training.config import TrainConfig
    from training.events import read_events
    from training.loop import fit

    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig(
            images=[str(DATA / "images")], masks=[str(DATA / "masks")],
            splits=[str(DATA / "split.json")], out=f"{tmp}/run", export_dir=f"{tmp}/models",
            encoder=encoder, epochs=2, steps_per_epoch=steps, batch_size=16, crop_size=crop,
            optimiser="adamw", schedule="onecycle", device=device, log_every=10**6,
        )  # fmt: skip
        fit(cfg)
        epochs = [e for e in read_events(f"{tmp}/run/events.jsonl") if e["type"] == "epoch"]
        start = next(e for e in read_events(f"{tmp}/run/events.jsonl") if e["type"] == "start")
    # epoch 2 is warm (epoch 1 pays for start-up)
    return {"images_per_s": epochs[-1]["images_per_s"], "batch": 16, "amp": start["amp"]}


def one(args: argparse.Namespace) -> None:
    fn = run_plain if args.one == "plain" else run_ours
    out = fn(args.encoder, args.steps, args.crop, args.device)
    out["peak_rss_mb"] = _peak_rss_mb()
    print(json.dumps(out))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--encoders", default="resnet34,vgg16")
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--crop", type=int, default=256)
    p.add_argument("--device", default="cpu")
    p.add_argument("--one", choices=("plain", "ours"), help=argparse.SUPPRESS)
    p.add_argument("--encoder", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        one(args)
        return
    rows = []
    for encoder in args.encoders.split(","):
        result = {}
        for kind in ("plain", "ours"):
            # ours runs 4x the images per step; give both a similar number of images
            steps = args.steps * (4 if kind == "plain" else 1)
            cmd = [
                sys.executable,
                __file__,
                "--one",
                kind,
                "--encoder",
                encoder,
                "--steps",
                str(steps),
                "--crop",
                str(args.crop),
                "--device",
                args.device,
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
            result[kind] = json.loads(proc.stdout.strip().splitlines()[-1])
        rows.append(
            {
                "encoder": encoder,
                **{f"{k}_{m}": v for k, r in result.items() for m, v in r.items()},
                "speedup": result["ours"]["images_per_s"] / result["plain"]["images_per_s"],
            }
        )
    print(
        f"\nTraining throughput on {args.device}, {args.crop}x{args.crop} crops "
        f"({platform.processor() or platform.machine()})"
    )
    print(
        f"{'encoder':<10}{'plain img/s':>12}{'ours img/s':>12}{'ratio':>7}"
        f"{'plain MB':>10}{'ours MB':>10}  ours amp"
    )
    for r in rows:
        print(
            f"{r['encoder']:<10}{r['plain_images_per_s']:>12.2f}{r['ours_images_per_s']:>12.2f}"
            f"{r['speedup']:>7.2f}{r['plain_peak_rss_mb']:>10.0f}{r['ours_peak_rss_mb']:>10.0f}"
            f"  {r['ours_amp']}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "device": args.device,
        "crop": args.crop,
        "steps": args.steps,
        "rows": rows,
        "machine": platform.platform(),
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    RESULTS.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
