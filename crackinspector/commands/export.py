"""`crackinspector export`: analyse photos and write reports (PDF, HTML, CSV, JSON) and images.

A thin shell over crackinspector.core.pipeline.export (the one per-image engine). Exit
codes: 0 done; 1 a file could not be written, the output folder is in use, or bad options;
2 some inputs could not be read (they are listed in the reports as failed); 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from crackinspector.commands.common import (
    add_photo_arguments,
    photos_of,
    predictor_of,
    report_outcome,
    with_progress,
)
from crackinspector.core.errors import CrackInspectorError

EPILOG = """\
examples:
  crackinspector export photos/ --out report/
  crackinspector export a.jpg b.jpg --out report/ --mm-per-px 0.1 --severity-preset concrete
  crackinspector export photos/ --out report/ --formats csv,json --masks --only-cracked
  crackinspector export photos/ --out report/ --from-masks labels/   (report on existing masks)
  crackinspector export photos/ --out part1/ --shard 1/2   (and 2/2 elsewhere; then merge)

calibration: --mm-per-px applies to every image; otherwise the inspection store's
(.crackinspector/inspection.sqlite, made in the app), per image where set there, or an
older calibration.json.
reviews: a corrected photo is measured on its edited mask, a false alarm has no cracks;
every report states each photo's review and the review progress. --reviewed-only reports
accepted and corrected photos only.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    from crackinspector.core.analysis.severity import PRESETS
    from crackinspector.core.pipeline.export import FORMATS
    from crackinspector.core.pipeline.outputs import EXISTING_POLICIES

    p = sub.add_parser(
        "export",
        help="analyse photos and write PDF/HTML/CSV/JSON reports and annotated images",
        description="Analyse photos and write reports and per-image files into a folder.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_photo_arguments(p)
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
    p.add_argument("--from-masks", type=Path, default=None, metavar="DIR",
                   help="use existing masks DIR/<stem>.png instead of a model")  # fmt: skip
    p.add_argument("--no-cache", action="store_true", help="do not reuse or store results")
    p.add_argument(
        "--reviewed-only",
        action="store_true",
        help="accepted and corrected findings only (photos with another review status are "
        "left out of the reports)",
    )
    p.set_defaults(run=run)


def _source(args: argparse.Namespace) -> tuple[Any, Any]:
    from crackinspector.core.pipeline.engine import MaskFolderSource

    if args.from_masks is not None:
        if not args.from_masks.is_dir():
            raise CrackInspectorError(f"{args.from_masks}: mask folder not found")
        return MaskFolderSource(args.from_masks), None
    from crackinspector.core.io.cache import ResultCache

    return predictor_of(args), (None if args.no_cache else ResultCache())


def run(args: argparse.Namespace) -> int:
    from crackinspector.core.pipeline.export import ExportOptions, run_export

    photos, problems = photos_of(args)
    if not photos and args.shard.count == 1:
        raise CrackInspectorError("no images found in " + ", ".join(args.inputs))
    options = ExportOptions(
        out_dir=args.out,
        formats=[f.strip() for f in args.formats.split(",") if f.strip()],
        # a shard keeps its overlays, so the merged PDF and HTML have their pictures
        overlays=args.overlays or args.shard.count > 1,
        masks=args.masks,
        prob=args.prob,
        only_cracked=args.only_cracked,
        existing=args.existing,
        threshold=args.threshold,
        mm_per_px=args.mm_per_px,
        severity=args.severity_preset,
        min_area_px=args.min_area,
        min_confidence=args.min_confidence,
        reviewed_only=args.reviewed_only,
    )
    source, cache = _source(args)
    result = with_progress(
        len(photos),
        args.quiet,
        lambda bar: run_export(photos, source, options, bar, cache=cache, problems=problems),
    )
    stopped = report_outcome(result)
    for line in result.report_errors:
        print(f"crackinspector: error: {line}", file=sys.stderr)
    if not stopped:
        ok = [r for r in result.records if r.ok]
        cracked = sum(1 for r in ok if r.cracked)
        print(
            f"{len(ok)} of {len(result.records)} images analysed, {cracked} with cracks; "
            f"{len(result.written)} files written"
            + (f", {len(result.skipped)} existing left alone" if result.skipped else "")
            + f" in {result.out_dir}"
        )
    return result.exit_code()
