"""`crackinspector export`: analyse photos and write reports (PDF, HTML, CSV, JSON) and images.

Exit codes: 0 done; 1 a file could not be written (or bad options); 2 some inputs could not
be read (they are listed in the reports as failed); 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from crackinspector.core.errors import CrackInspectorError

EPILOG = """\
examples:
  crackinspector export photos/ --out report/
  crackinspector export a.jpg b.jpg --out report/ --mm-per-px 0.1 --severity-preset concrete
  crackinspector export photos/ --out report/ --formats csv,json --masks --only-cracked
  crackinspector export photos/ --out report/ --from-masks labels/   (report on existing masks)

calibration: --mm-per-px applies to every image; otherwise each folder's
.crackinspector/calibration.json is used (made in the app), per image where set there.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    from crackinspector.core.analysis.measure import DEFAULT_MIN_AREA_PX
    from crackinspector.core.analysis.severity import PRESETS
    from crackinspector.core.report.export import EXISTING_POLICIES, FORMATS

    p = sub.add_parser(
        "export",
        help="analyse photos and write PDF/HTML/CSV/JSON reports and annotated images",
        description="Analyse photos and write reports and per-image files into a folder.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files and/or folders")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    p.add_argument("--model", default=None, help="model name or .safetensors file")
    p.add_argument("--threshold", type=float, default=None, help="default: the model's")
    p.add_argument("--mm-per-px", type=float, default=None, metavar="X")
    p.add_argument(
        "--formats", default=",".join(FORMATS), help=f"comma list of {','.join(FORMATS)}"
    )
    p.add_argument("--overlays", action="store_true", help="annotated PNGs (always with html)")
    p.add_argument("--masks", action="store_true", help="binary mask PNGs")
    p.add_argument("--prob", action="store_true", help="16-bit probability PNGs")
    p.add_argument("--only-cracked", action="store_true", help="files only for cracked images")
    p.add_argument("--existing", choices=EXISTING_POLICIES, default="overwrite")
    p.add_argument(
        "--severity-preset",
        choices=["auto", *PRESETS],
        default="auto",
        help="auto: concrete when every image is calibrated, else pixels",
    )
    p.add_argument("--min-area", type=int, default=DEFAULT_MIN_AREA_PX, metavar="N")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N, mps")
    p.add_argument("--backend", default="auto", choices=["auto", "torch", "onnx"])
    p.add_argument("--from-masks", type=Path, default=None, metavar="DIR",
                   help="use existing masks DIR/<stem>.png instead of a model")  # fmt: skip
    p.add_argument("--no-cache", action="store_true", help="do not reuse or store results")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def _source(args: argparse.Namespace):
    from crackinspector.core.report.export import MaskFolderSource

    if args.from_masks is not None:
        if not args.from_masks.is_dir():
            raise CrackInspectorError(f"{args.from_masks}: mask folder not found")
        return MaskFolderSource(args.from_masks), None
    from crackinspector.core.infer.predictor import Predictor
    from crackinspector.core.io.cache import ResultCache

    try:
        predictor = Predictor(args.model, device=args.device, backend=args.backend)
    except ValueError as exc:
        raise CrackInspectorError(str(exc)) from None
    return predictor, (None if args.no_cache else ResultCache())


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from crackinspector.core.io.imageio import find_images
    from crackinspector.core.report.export import ExportOptions, run_export

    paths = find_images(args.inputs)
    if not paths:
        raise CrackInspectorError("no images found in " + ", ".join(args.inputs))
    options = ExportOptions(
        out_dir=args.out,
        formats=[f.strip() for f in args.formats.split(",") if f.strip()],
        overlays=args.overlays,
        masks=args.masks,
        prob=args.prob,
        only_cracked=args.only_cracked,
        existing=args.existing,
        threshold=args.threshold,
        mm_per_px=args.mm_per_px,
        severity=args.severity_preset,
        min_area_px=args.min_area,
    )
    source, cache = _source(args)
    bars: list = []  # made at the first progress report, after the checks that can fail

    def progress(p) -> None:
        if not bars:
            bars.append(tqdm(total=len(paths), unit="img", disable=args.quiet, file=sys.stderr))
        bars[0].n = p.done
        bars[0].set_postfix_str(p.path.name if p.path else p.stage, refresh=False)
        bars[0].refresh()

    try:
        result = run_export(paths, source, options, progress=progress, cache=cache)
    finally:
        for bar in bars:
            bar.close()
    for rec in result.failed:
        print(f"crackinspector: {rec.path}: {rec.error}", file=sys.stderr)
    if result.fatal_error:
        print(f"crackinspector: error: {result.fatal_error}", file=sys.stderr)
        print(f"crackinspector: export stopped; {len(result.written)} files written before "
              "are complete", file=sys.stderr)  # fmt: skip
    for line in result.report_errors:
        print(f"crackinspector: error: {line}", file=sys.stderr)
    if not result.fatal_error:
        ok = [r for r in result.records if r.ok]
        cracked = sum(1 for r in ok if r.cracked)
        print(
            f"{len(ok)} of {len(result.records)} images analysed, {cracked} with cracks; "
            f"{len(result.written)} files written"
            + (f", {len(result.skipped)} existing left alone" if result.skipped else "")
            + f" in {result.out_dir}"
        )
    return result.exit_code()
