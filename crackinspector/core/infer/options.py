"""How a command or the GUI asks for inference: one options object, one set of CLI flags.

`predict`, `export` and `evaluate` add the same flags with `add_inference_arguments` and
build their Predictor with `make_predictor(options_from_args(args))`; the GUI fills the
same `InferenceOptions` from its settings.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from crackinspector.core.infer.precision import PRECISIONS
from crackinspector.core.infer.predictor import BACKENDS, Predictor
from crackinspector.core.model.device import DEVICE_CHOICES

__all__ = [
    "BACKENDS",
    "PRECISIONS",
    "InferenceOptions",
    "add_inference_arguments",
    "make_predictor",
    "options_from_args",
]


@dataclass(frozen=True)
class InferenceOptions:
    model: str | Path | None = None  # a name or file; None: the default model
    device: str = "auto"
    backend: str = "auto"
    precision: str = "auto"  # auto | fp32 | bf16 | fp16 | int8 (core/infer/precision.py)
    threads: int = 0  # 0: this machine's physical cores
    batch_size: int | None = None
    tile_size: int | None = None  # None: the measured default (predictor.default_tiling)
    overlap: int | None = None  # None: the measured default
    tta: bool = False  # flip averaging (4 passes per tile)


def add_inference_arguments(parser: argparse.ArgumentParser, model_help: str = "") -> None:
    g = parser.add_argument_group("inference")
    g.add_argument("--model", metavar="NAME|FILE", help=model_help or "model name or file")
    g.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    g.add_argument("--backend", default="auto", choices=BACKENDS)
    g.add_argument(
        "--precision",
        default="auto",
        choices=PRECISIONS,
        help="auto: the fastest precision checked for this model on this machine "
        "(fp16 and bf16: CUDA autocast; bf16 on the CPU needs AMX or AVX-512 BF16)",
    )
    g.add_argument(
        "--threads", type=int, default=0, metavar="N", help="CPU threads (0: physical cores)"
    )
    g.add_argument("--batch-size", type=int, metavar="N", help="tiles per forward pass")
    g.add_argument("--tile-size", type=int, metavar="PX", help="largest tile side in pixels")
    g.add_argument("--overlap", type=int, metavar="PX", help="tile overlap in pixels")
    g.add_argument("--tta", action="store_true", help="average over flips (4x slower)")


def options_from_args(args: argparse.Namespace) -> InferenceOptions:
    return InferenceOptions(
        model=args.model,
        device=args.device,
        backend=args.backend,
        precision=args.precision,
        threads=args.threads,
        batch_size=args.batch_size,
        tile_size=args.tile_size,
        overlap=args.overlap,
        tta=args.tta,
    )


def make_predictor(options: InferenceOptions) -> Predictor:
    return Predictor(
        options.model,
        device=options.device,
        backend=options.backend,
        batch_size=options.batch_size,
        precision=options.precision,
        threads=options.threads,
        tile_size=options.tile_size,
        overlap=options.overlap,
        tta=options.tta,
    )
