"""What `predict` and `export` share on the command line: the photo and output flags, the
shard split, the predictor, and the progress bar over the engine's progress reports."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crackinspector.core.analysis.measure import DEFAULT_MIN_AREA_PX
from crackinspector.core.errors import CrackInspectorError
from crackinspector.core.infer.options import (
    add_inference_arguments,
    make_predictor,
    options_from_args,
)
from crackinspector.core.model.registry import DEFAULT_MODEL
from crackinspector.core.pipeline.engine import Progress
from crackinspector.core.pipeline.inputs import Photo, Problem, Shard, collect_inputs


def probability(text: str) -> float:
    """argparse type: a number in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"threshold must be between 0 and 1, got {value}")
    return value


def add_photo_arguments(p: argparse.ArgumentParser) -> None:
    """Inputs, output folder, analysis settings, shard, inference flags, -q."""
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders (recursive)")
    p.add_argument("--out", "-o", required=True, metavar="DIR", type=Path, help="output folder")
    p.add_argument(
        "--threshold",
        type=probability,
        metavar="T",
        help="crack probability threshold in [0, 1] (default: the model card's)",
    )
    p.add_argument(
        "--min-area",
        type=int,
        default=DEFAULT_MIN_AREA_PX,
        metavar="N",
        help=f"marks smaller than N pixels are not cracks (default {DEFAULT_MIN_AREA_PX})",
    )
    p.add_argument(
        "--min-confidence",
        type=probability,
        default=0.0,
        metavar="C",
        help="cracks whose mean probability is under C are not listed (default 0)",
    )
    p.add_argument(
        "--shard",
        type=Shard.parse,
        default=Shard(),
        metavar="I/N",
        help="work on part I of N of the photo list (every N-th photo); combine the parts' "
        "output folders with `crackinspector merge`",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_inference_arguments(p, model_help=f"model name or .safetensors file ({DEFAULT_MODEL})")


def photos_of(args: argparse.Namespace) -> tuple[list[Photo], list[Problem]]:
    """The photos of this run (this shard's share; names from the whole list) and the
    inputs that gave none (reported by the first shard only, so a merge lists them once)."""
    photos, problems = collect_inputs(args.inputs, args.out)
    shard: Shard = args.shard
    return shard.select(photos), (problems if shard.index == 1 else [])


def predictor_of(args: argparse.Namespace) -> Any:
    try:
        return make_predictor(options_from_args(args))
    except ValueError as exc:  # e.g. --device cuda without a GPU
        raise CrackInspectorError(str(exc)) from None


def report_problems(problems: list[Problem]) -> None:
    for problem in problems:
        print(f"crackinspector: {problem}", file=sys.stderr)


class ProgressBar:
    """A tqdm bar over the engine's progress (photos done, the current photo's name);
    made at the first report, so checks that fail before any work print no bar."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.total, self.quiet = total, quiet
        self.bar: Any = None

    def __call__(self, p: Progress) -> None:
        if self.bar is None:
            from tqdm import tqdm

            disable = True if self.quiet else None  # None: only on a terminal
            self.bar = tqdm(
                total=self.total, unit="img", file=sys.stderr, dynamic_ncols=True, disable=disable
            )
        self.bar.n = p.done
        self.bar.set_postfix_str(p.path.name if p.path else p.stage, refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def with_progress(total: int, quiet: bool, work: Callable[[ProgressBar], Any]) -> Any:
    bar = ProgressBar(total, quiet)
    try:
        return work(bar)
    finally:
        bar.close()


def report_outcome(result: Any) -> bool:
    """Print each failed photo and a stopping write error (one line each); True when the
    run stopped on a write error."""
    for rec in result.failed:
        print(f"crackinspector: {rec.path}: {rec.error}", file=sys.stderr)
    if result.fatal_error:
        print(f"crackinspector: error: {result.fatal_error}", file=sys.stderr)
        print(
            f"crackinspector: stopped; the {len(result.written)} file(s) written before are "
            "complete",
            file=sys.stderr,
        )
    return bool(result.fatal_error)
