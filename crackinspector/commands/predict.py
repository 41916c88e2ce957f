"""`crackinspector predict`: crack masks, overlays and a summary for photos and folders.

For every image: `<stem>_mask.png` (8-bit, 255 = crack, the photo's size), `<stem>_overlay.jpg`
(the photo with cracks tinted) and, with --save-prob, `<stem>_prob.png` (16-bit probability
x 65535); plus `summary.csv` for the whole run, rewritten after each image so an interrupted
run still says what was done. All files are written atomically. A bad image is reported
(stderr and summary) and skipped; the exit code is 2 when any input failed, else 0.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from crackinspector.core.errors import CrackInspectorError, FileProblem
from crackinspector.core.io.atomic import atomic_write_text
from crackinspector.core.io.imageio import IMAGE_EXTENSIONS, find_images, read_image, write_image
from crackinspector.core.model.device import DEVICE_CHOICES
from crackinspector.core.model.registry import DEFAULT_MODEL

SUMMARY_FIELDS = (
    "file",
    "width",
    "height",
    "crack_pixel_percent",
    "seconds",
    "status",
    "mask",
)


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"threshold must be between 0 and 1, got {value}")
    return value


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict",
        help="find cracks in photos; write masks, overlays and summary.csv",
        description="Find cracks in photos at full resolution. Writes DIR/<stem>_mask.png, "
        "DIR/<stem>_overlay.jpg (and <stem>_prob.png with --save-prob) per image, and "
        "DIR/summary.csv. Exit code 2 when any input could not be processed.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders (recursive)")
    p.add_argument("--out", "-o", required=True, metavar="DIR", type=Path, help="output folder")
    p.add_argument(
        "--model", metavar="NAME|FILE", help=f"model name or .safetensors file ({DEFAULT_MODEL})"
    )
    p.add_argument(
        "--threshold",
        type=_probability,
        metavar="T",
        help="crack probability threshold in [0, 1] (default: the model card's)",
    )
    p.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    p.add_argument("--backend", default="auto", choices=("auto", "torch", "onnx"))
    p.add_argument("--batch-size", type=int, metavar="N", help="tiles per forward pass")
    p.add_argument(
        "--save-prob", action="store_true", help="also write <stem>_prob.png (16-bit probability)"
    )
    p.set_defaults(run=run)


def output_stems(paths: Sequence[Path]) -> list[str]:
    """File stems for outputs, unique even when two folders hold `001.jpg` (or `a.jpg` and
    `A.png` on a case-insensitive disk): later ones get `_2`, `_3`, ..."""
    used: set[str] = set()
    stems = []
    for path in paths:
        base = path.stem or "image"
        stem, n = base, 2
        while stem.casefold() in used:
            stem, n = f"{base}_{n}", n + 1
        used.add(stem.casefold())
        stems.append(stem)
    return stems


def _is_inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder)
        return True
    except (ValueError, OSError):
        return False


def _collect(inputs: Sequence[str], out_dir: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """Images to process, and (input, reason) for inputs that yield none. Files under the
    output folder are skipped, so writing results into a photo folder is safe to re-run."""
    problems = []
    out_resolved = out_dir.resolve()
    for item in inputs:
        p = Path(item)
        if p.is_dir() and not any(not _is_inside(q, out_resolved) for q in find_images([p])):
            problems.append((item, f"no images found (looked for {', '.join(IMAGE_EXTENSIONS)})"))
    images = [q for q in find_images(inputs) if not _is_inside(q, out_resolved)]
    return images, problems


def _summary_text(rows: list[dict[str, object]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=SUMMARY_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, FileProblem):
        return exc.reason
    if isinstance(exc, MemoryError):
        return "not enough memory for this image"
    text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _probability_u16(prob: np.ndarray) -> np.ndarray:
    from crackinspector.core.io.cache import to_u16

    return to_u16(prob)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from crackinspector.core.infer.predictor import Predictor, threshold_map
    from crackinspector.core.report.mask_overlay import overlay

    out_dir: Path = args.out
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FileProblem(out_dir, f"cannot create output folder ({exc.strerror or exc})") from None
    images, problems = _collect(args.inputs, out_dir)
    try:
        predictor = Predictor(
            args.model, device=args.device, backend=args.backend, batch_size=args.batch_size
        )
    except ValueError as exc:  # e.g. --device cuda without a GPU
        raise CrackInspectorError(str(exc)) from None
    threshold = predictor.threshold if args.threshold is None else args.threshold
    print(
        f"{len(images)} image(s) with {predictor.description}, threshold {threshold:g}",
        file=sys.stderr,
    )

    rows: list[dict[str, object]] = []
    for item, reason in problems:
        tqdm.write(f"{item}: {reason}", file=sys.stderr)
        rows.append({"file": item, "status": f"error: {reason}"})
    summary = out_dir / "summary.csv"
    atomic_write_text(summary, _summary_text(rows))

    failed = len(problems)
    bar = tqdm(total=len(images), unit="image", file=sys.stderr, dynamic_ncols=True, disable=None)
    for path, stem in zip(images, output_stems(images), strict=True):
        bar.set_postfix_str(path.name, refresh=False)
        row: dict[str, object] = {"file": str(path)}
        t0 = time.perf_counter()
        tiles_bar = None

        def on_tiles(done: int, total: int) -> None:
            nonlocal tiles_bar
            if tiles_bar is None and total > 1:
                tiles_bar = tqdm(
                    total=total,
                    unit="tile",
                    leave=False,
                    file=sys.stderr,
                    dynamic_ncols=True,
                    disable=None,  # bars only on a terminal, not in logs
                )
            if tiles_bar is not None:
                tiles_bar.update(done - tiles_bar.n)

        try:
            image = read_image(path)
            row["width"], row["height"] = image.shape[1], image.shape[0]
            prob = predictor.predict(image, progress=on_tiles)
            mask = threshold_map(prob, threshold)
            write_image(out_dir / f"{stem}_mask.png", mask.view(np.uint8) * np.uint8(255))
            write_image(out_dir / f"{stem}_overlay.jpg", overlay(image, mask), quality=90)
            if args.save_prob:
                write_image(out_dir / f"{stem}_prob.png", _probability_u16(prob))
            row["crack_pixel_percent"] = f"{100.0 * float(mask.mean()):.4f}"
            row["status"] = "ok"
            row["mask"] = f"{stem}_mask.png"
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # one bad photo never stops the batch
            failed += 1
            reason = _reason(exc)
            row["status"] = f"error: {reason}"
            tqdm.write(f"{path}: {reason}", file=sys.stderr)
        finally:
            if tiles_bar is not None:
                tiles_bar.close()
            image = prob = mask = None  # free the large arrays before the next photo
        row["seconds"] = f"{time.perf_counter() - t0:.3f}"
        rows.append(row)
        atomic_write_text(summary, _summary_text(rows))
        bar.update(1)
    bar.close()
    ok = len(images) - (failed - len(problems))
    print(
        f"{ok} of {len(images) + len(problems)} input(s) done; summary: {summary}", file=sys.stderr
    )
    return 2 if failed else 0
