"""`crackinspector predict`: crack masks, overlays and a summary for photos and folders.

A thin shell over crackinspector.core.pipeline.predict (the one per-image engine): per
photo `<key>_mask.png`, `<key>_overlay.jpg` (and `<key>_prob.png` with --save-prob), plus
`summary.csv`. Reviews in the photos' inspection store count: a corrected photo's mask is its
edited one, a false alarm has none; the store's calibration gives mm_per_px.
A bad photo is reported (stderr and summary) and skipped. Exit codes: 0 done;
1 a file could not be written, the output folder is in use, or bad options (one line);
2 some inputs could not be read; 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys

from crackinspector.commands.common import (
    add_photo_arguments,
    photos_of,
    predictor_of,
    report_outcome,
    report_problems,
    with_progress,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict",
        help="find cracks in photos; write masks, overlays and summary.csv",
        description="Find cracks in photos at full resolution. Writes DIR/<key>_mask.png, "
        "DIR/<key>_overlay.jpg (and <key>_prob.png with --save-prob) per image, and "
        "DIR/summary.csv. <key> is the file stem; repeated stems get -2, -3, ... "
        "Exit code 1 when a file cannot be written, 2 when any input could not be processed.",
    )
    add_photo_arguments(p)
    p.add_argument(
        "--save-prob", action="store_true", help="also write <key>_prob.png (16-bit probability)"
    )
    p.add_argument(
        "--mm-per-px",
        type=float,
        default=None,
        metavar="X",
        help="scale of every image (default: the inspection store's calibration)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from crackinspector.core.pipeline.predict import PredictOptions, run_predict

    photos, problems = photos_of(args)
    predictor = predictor_of(args)
    options = PredictOptions(
        out_dir=args.out,
        threshold=args.threshold,
        min_area_px=args.min_area,
        min_confidence=args.min_confidence,
        save_prob=args.save_prob,
        mm_per_px=args.mm_per_px,
    )
    threshold = predictor.threshold if args.threshold is None else args.threshold
    print(
        f"{len(photos)} image(s) with {predictor.description}, threshold {threshold:g}",
        file=sys.stderr,
    )
    report_problems(problems)
    result = with_progress(
        len(photos),
        args.quiet,
        lambda bar: run_predict(photos, predictor, options, problems, progress=bar),
    )
    if report_outcome(result):
        return result.exit_code()
    done = sum(1 for r in result.records if r.ok)
    print(
        f"{done} of {len(photos) + len(problems)} input(s) done; summary: "
        f"{args.out / 'summary.csv'}",
        file=sys.stderr,
    )
    return result.exit_code()
