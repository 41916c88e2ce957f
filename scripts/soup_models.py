"""Weight averages of two fine-tunings of one model (a "model soup"): w = (1 - a) A + a B.

    python scripts/soup_models.py A.safetensors B.safetensors|run/last.pt --alphas 0.5 \\
        --name unet-resnet34-soup --out runs/candidates [--run runs/B-RUN]

A fine-tuned model and the model it started from usually lie in one basin, so their average
works as a model too and often keeps what each is good at (Wortsman et al., "Model soups",
ICML 2022): here the 1.x model's recall on CrackForest-like asphalt and the mix fine-tune's
silence on joints and mortar. B may be a training checkpoint (`last.pt`, `best.pt`). The card
is B's (or A's, when B is a checkpoint), with the recipe recorded under training.soup. Its
`metrics.validation` is the average's own: scored on the validation photos of B's training run
(`--run`, as the run validated, so the training wizard can compare a new model with it), or,
without `--run`, left out (B's own is kept as `validation_of_b`). Batch norm running
statistics are averaged like the weights. Choose `a` on the validation sets
(scripts/score_models.py --sets validation), never on a test split.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import torch

from crackinspector.core.model import registry
from crackinspector.core.model.card import ModelCard
from training.compare import score_on_run


def state_of(path: Path) -> tuple[dict[str, torch.Tensor], ModelCard | None]:
    """A model's state dict (float32) and its card (None for a training checkpoint)."""
    if path.suffix == ".pt":
        state = torch.load(path, map_location="cpu", weights_only=True)["model"]
        return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}, None
    info = registry.resolve(path)
    state = registry.load_state_dict(info.weights_path)
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}, info.card


def average(a: dict, b: dict, alpha: float) -> dict[str, torch.Tensor]:
    if a.keys() != b.keys():
        raise SystemExit(f"the models differ: {sorted(a.keys() ^ b.keys())[:4]}")
    shapes = [k for k in a if a[k].shape != b[k].shape]
    if shapes:
        raise SystemExit(f"the models differ in the shapes of {shapes[:4]}")
    return {k: torch.lerp(a[k], b[k], alpha) if a[k].is_floating_point() else b[k] for k in a}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", type=Path)
    ap.add_argument("b", type=Path)
    ap.add_argument("--alphas", type=float, nargs="+", default=[0.5], help="weight of B")
    ap.add_argument("--name", required=True, help="models are NAME-a<alpha>")
    ap.add_argument("--out", type=Path, default=Path("runs/candidates"))
    ap.add_argument("--run", type=Path, help="B's training run: score each average on its val")
    args = ap.parse_args()
    state_a, card_a = state_of(args.a)
    state_b, card_b = state_of(args.b)
    card = card_b or card_a
    if card is None:
        raise SystemExit("one of the two must be a model file with a card")
    metrics = dict(card.metrics)  # B's run validated B, not an average
    if "validation" in metrics:
        metrics["validation_of_b"] = metrics.pop("validation")
    for alpha in args.alphas:
        soup = average(state_a, state_b, alpha)
        model = registry.build_model(card)
        model.load_state_dict(soup)
        soup_of = {"a": args.a.name, "b": args.b.name, "alpha_b": alpha}
        out = dataclasses.replace(
            card,
            name=f"{args.name}-a{alpha:g}",
            training={**card.training, "soup": soup_of},
            metrics=dict(metrics),  # each average its own (--run adds to it)
        )
        saved = registry.save_model(model, out, args.out)
        if args.run is not None:
            scored = score_on_run(saved.weights_path, args.run)
            saved.card.metrics["validation"] = {k: v for k, v in scored.items() if k != "failures"}
            saved.card.save(saved.card_path)
        print(f"written {saved.weights_path} ({1 - alpha:g} x {args.a.name} + {alpha:g} x "
              f"{args.b.name})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
