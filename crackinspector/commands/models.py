"""`crackinspector models list|import`: what models there are, and legacy checkpoint import."""

from __future__ import annotations

import argparse

from crackinspector.core.model import registry as models


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list models or import a legacy PyTorch checkpoint")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    lp = msub.add_parser("list", help="show bundled and user models with their metrics")
    lp.set_defaults(run=run_list)
    ip = msub.add_parser("import", help="convert a legacy .pt/.pth checkpoint into a model pair")
    ip.add_argument("checkpoint", metavar="FILE.pt")
    ip.add_argument("--encoder", required=True, help="encoder it was trained with, e.g. resnet34")
    ip.add_argument("--name", help="model name (default: file stem and encoder)")
    ip.add_argument("--threshold", type=float, default=0.5)
    ip.set_defaults(run=run_import)


def run_list(args: argparse.Namespace) -> int:
    rows = [("NAME", "ENCODER", "SOURCE", "VERSION", "METRICS")]
    for m in models.list_models():
        rows.append((m.name, m.card.encoder, m.source, m.card.version, m.card.summary_metrics()))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)), r[4], sep="  ")
    if len(rows) == 1:
        print("(no models found)")
    print(f"user models folder: {models.user_models_dir()}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    info = models.import_checkpoint(
        args.checkpoint, args.encoder, name=args.name, threshold=args.threshold
    )
    print(f"imported {info.name} -> {info.weights_path}")
    return 0
