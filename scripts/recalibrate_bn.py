"""Re-estimate the batch-norm statistics that a model file lost to float16 overflow.

    python scripts/recalibrate_bn.py MODEL.safetensors --name NAME --out runs/candidates

unet-vgg16 1.0 was saved in float16 before registry.save_model kept out-of-range tensors
in float32: two decoder batch norms behind its unnormalised VGG16 encoder had running
variances above 65504, stored as inf (all 256 channels of decoder.blocks.0.conv1, 424 of
512 of decoder.center). At inference an inf variance sends the channel to its bias alone,
so that part of the decoder computed nothing; training (batch statistics) never saw it and
the inf survived every fine-tune (an average with inf is inf).

Only the batch norms with a non-finite running mean or variance are re-estimated: they are
put in training mode with a cumulative average (momentum None), the rest of the network
stays in eval mode, and random crops of the training photos of the mix (CrackForest train,
crackpool, masonry, uav75, negatives; never a validation or test photo) are run through it.
Everything else in the model is unchanged. The output is saved through the registry (so
the re-estimated variances stay float32 where float16 cannot hold them).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from score_models import PREP, crack_free_pairs, labelled_pairs  # the prepared splits' photos

from crackinspector.core.io.imageio import read_image
from crackinspector.core.model import registry
from training.data import to_tensor

LABELLED = ("crackforest", "crackpool", "masonry", "uav75")


def training_photos(per_set: int, rng: np.random.Generator) -> list[Path]:
    """`per_set` random training photos of each set of the mix, negatives last."""
    photos = []
    for pairs in [labelled_pairs(n, PREP / f"{n}.split.json", "train") for n in LABELLED] + [
        crack_free_pairs("train")
    ]:
        photos += [pairs[i][0] for i in rng.permutation(len(pairs))[:per_set]]
    return photos


def broken_norms(model: torch.nn.Module) -> dict[str, torch.nn.BatchNorm2d]:
    return {
        name: m
        for name, m in model.named_modules()
        if isinstance(m, torch.nn.BatchNorm2d)
        and m.running_var is not None
        and m.running_mean is not None
        and not (torch.isfinite(m.running_var).all() and torch.isfinite(m.running_mean).all())
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("--name", required=True)
    ap.add_argument("--out", type=Path, default=Path("runs/candidates"))
    ap.add_argument("--per-set", type=int, default=40, help="training photos per set")
    ap.add_argument("--crops", type=int, default=4, help="256 px crops per photo")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    info = registry.resolve(args.model)
    model = registry.load_model(info, "cpu").eval()
    broken = broken_norms(model)
    print("non-finite statistics:", ", ".join(broken) or "none")
    momentum = {name: m.momentum for name, m in broken.items()}
    for m in broken.values():
        m.reset_running_stats()
        m.momentum = None  # cumulative average over every batch
        m.train()
    mean = np.asarray(info.card.mean, np.float32)
    std = np.asarray(info.card.std, np.float32)
    photos = training_photos(args.per_set, rng)
    with torch.no_grad():
        for path in photos:
            image = read_image(path)
            h, w = image.shape[:2]
            side = min(256, h, w) // 32 * 32
            crops = []
            for _ in range(args.crops):
                y, x = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
                crops.append(to_tensor(image[y : y + side, x : x + side], mean, std))
            model(torch.stack(crops))
    for name, m in broken.items():
        m.momentum = momentum[name]
        m.eval()
    assert not broken_norms(model), "statistics still not finite"
    card = info.card
    card.name = args.name
    card.training["recalibrated_bn"] = {
        "layers": list(broken),
        "photos": len(photos),
        "crops_per_photo": args.crops,
        "from": args.model.name,
    }
    saved = registry.save_model(model, card, args.out)
    print(f"{len(photos)} training photos x {args.crops} crops -> {saved.weights_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
