"""`crackinspector models list|import`: what models there are, and legacy checkpoint import."""

from __future__ import annotations

import argparse

from crackinspector.core.model import registry as models


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list models or import a legacy PyTorch checkpoint")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    lp = msub.add_parser("list", help="show bundled and user models with their metrics")
    lp.set_defaults(run=run_list)
    ip = msub.add_parser(
        "import",
        help="convert a .pt/.pth checkpoint (the research scripts' UNet16 / UNetResNet, "
        "recognised by its keys, or an smp U-Net with --encoder) into a model pair",
    )
    ip.add_argument("checkpoint", metavar="FILE.pt")
    ip.add_argument(
        "--encoder",
        help="for a segmentation-models-pytorch U-Net: the encoder it was trained with, e.g. "
        "resnet34 (not needed for the research scripts' networks)",
    )
    ip.add_argument("--name", help="model name (default: file stem and encoder)")
    ip.add_argument(
        "--threshold",
        type=_threshold,
        help="crack threshold, between 0 and 1 (default: 0.2 for the research scripts' "
        "networks, as they used, else 0.5)",
    )
    ip.add_argument("--force", action="store_true", help="replace a user model of that name")
    ip.set_defaults(run=run_import)


def _threshold(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1 (exclusive)")
    return value


def run_list(args: argparse.Namespace) -> int:
    rows = [("NAME", "ENCODER", "SOURCE", "VERSION", "METRICS")]
    for m in models.list_models():
        arch = m.card.architecture
        encoder = m.card.encoder if arch == "Unet" else f"{arch} {m.card.encoder}"
        rows.append((m.name, encoder, m.source, m.card.version, m.card.summary_metrics()))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)), r[4], sep="  ")
    if len(rows) == 1:
        print("(no models found)")
    print(f"user models folder: {models.user_models_dir()}")
    for problem in models.unusable_models():
        print(f"skipped: {problem}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    info = models.import_checkpoint(
        args.checkpoint, args.encoder, name=args.name, threshold=args.threshold, force=args.force
    )
    card = info.card
    print(
        f"imported {info.name} ({card.architecture}, {card.encoder}, threshold "
        f"{card.threshold:g}) -> {info.weights_path}"
    )
    return 0
