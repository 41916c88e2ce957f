"""`crackinspector review status|set|info|export-training`: the inspection store, headless.

Exit codes: 0 done; 1 bad input or a store that cannot be written; 2 (export-training)
some reviewed photos could not be exported (each is listed).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from crackinspector.core.errors import CrackInspectorError
from crackinspector.core.review.records import (
    STATUS_LABELS,
    STATUSES,
    UNREVIEWED,
    InspectionInfo,
    ReviewSummary,
)

EPILOG = """\
examples:
  crackinspector review status photos/ --json
  crackinspector review set photos/ IMG_0012.jpg --status accepted --note "hairline only"
  crackinspector review set photos/ IMG_0013.jpg --mask corrected/IMG_0013.png
  crackinspector review info photos/ --project "Bridge 7" --inspector "A. Inspector"
  crackinspector review export-training photos/ --out training-data/

statuses: unreviewed, accepted, false_alarm, corrected, follow_up
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "review",
        help="review status, decisions and inspection details; reviewed photos as training data",
        description="Read and change the inspection store of a photo folder.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rsub = p.add_subparsers(dest="review_command", metavar="ACTION", required=True)

    sp = rsub.add_parser("status", help="counts by review status")
    sp.add_argument("folder", type=Path, metavar="FOLDER")
    sp.add_argument("--json", action="store_true", help="counts and every photo's review")
    sp.set_defaults(run=run_status)

    st = rsub.add_parser("set", help="record the decision on one photo")
    st.add_argument("folder", type=Path, metavar="FOLDER")
    st.add_argument("photo", type=Path, metavar="PHOTO", help="path, or name inside FOLDER")
    st.add_argument("--status", help=f"one of {', '.join(STATUSES)} (with --mask: corrected)")
    st.add_argument("--note", default=None, metavar="TEXT")
    st.add_argument("--mask", type=Path, default=None, metavar="FILE",
                    help="corrected mask (PNG, the photo's size; non-zero = crack)")  # fmt: skip
    st.add_argument("--reviewer", default=None, help="default: the inspection's inspector")
    st.add_argument("--model", default=None, help="model the decision was made on")
    st.add_argument("--threshold", type=float, default=None, help="threshold it was made at")
    st.set_defaults(run=run_set)

    ip = rsub.add_parser("info", help="show or change the inspection details")
    ip.add_argument("folder", type=Path, metavar="FOLDER")
    for name in InspectionInfo.field_names():
        ip.add_argument(f"--{name}", default=None, metavar="TEXT")
    ip.add_argument("--json", action="store_true")
    ip.set_defaults(run=run_info)

    ep = rsub.add_parser(
        "export-training",
        help="reviewed photos as image/mask pairs for crackinspector-train",
        description="Write images/ and masks/ (paired by stem): corrected photos with their "
        "edited masks, accepted ones with the model's mask at the decided threshold, false "
        "alarms with empty masks.",
    )
    ep.add_argument("folder", type=Path, metavar="FOLDER")
    ep.add_argument("--out", required=True, type=Path, metavar="DIR")
    ep.add_argument("--no-cache", action="store_true", help="do not reuse cached results")
    ep.add_argument("-q", "--quiet", action="store_true")
    from crackinspector.core.infer.options import add_inference_arguments

    add_inference_arguments(
        ep, "model for accepted photos whose review names none (default: the default model)"
    )
    ep.set_defaults(run=run_export_training)


def _folder(path: Path) -> Path:
    if not path.is_dir():
        raise CrackInspectorError(f"{path}: not a folder")
    return path


def _print_messages(messages: list[str]) -> None:
    for line in messages:
        print(f"crackinspector: {line}", file=sys.stderr)


def run_status(args: argparse.Namespace) -> int:
    from crackinspector.core.review.store import open_existing_store

    folder = _folder(args.folder)
    store = open_existing_store(folder)
    if store is None:  # nothing reviewed yet; make no store just to say so
        photos = _photos(folder)
        counts = dict.fromkeys(STATUSES, 0)
        counts[UNREVIEWED] = len(photos)
        summary, reviews, path = ReviewSummary(len(photos), counts), [], None
    else:
        with store:
            _print_messages(store.messages)
            summary, reviews, path = store.summary(), store.photos(), store.path
    if args.json:
        doc = {
            "folder": str(folder.resolve()),
            "store": str(path) if path else None,
            **summary.to_dict(),
            "photos": [
                {k: v for k, v in r.to_dict().items() if k not in ("path", "in_store")}
                for r in reviews
            ],
        }
        print(json.dumps(doc, indent=2))
        return 0
    print(f"{folder}: {summary.text()}")
    width = max(len(label) for label in STATUS_LABELS.values())
    for status in STATUSES:
        print(f"  {STATUS_LABELS[status]:<{width}}  {summary.counts[status]:>5}")
    if summary.changed:
        print(f"  {summary.changed} photo(s) changed since their review (counted as unreviewed)")
    if summary.missing:
        print(f"  {summary.missing} reviewed photo(s) no longer in the folder")
    print(f"store: {path}" if path else "store: none yet (nothing reviewed)")
    return 0


def _photos(folder: Path) -> list[Path]:
    from crackinspector.core.io.imageio import find_images
    from crackinspector.core.review.location import DATA_DIR

    return [p for p in find_images([folder]) if DATA_DIR not in p.relative_to(folder).parts]


def _photo_path(folder: Path, photo: Path) -> Path:
    for candidate in (photo, folder / photo):
        if candidate.is_file():
            return candidate.absolute()  # the store reads relative paths as inside FOLDER
    raise CrackInspectorError(f"{photo}: photo not found (neither as given nor in {folder})")


def _open_for_writing(folder: Path):
    from crackinspector.core.review.store import open_store

    store = open_store(folder)
    _print_messages(store.messages)
    if store.read_only:
        store.close()
        raise CrackInspectorError(f"{store.path}: {store.read_only_reason}; nothing changed")
    return store


def run_set(args: argparse.Namespace) -> int:
    from crackinspector.core.io.imageio import read_image, read_mask
    from crackinspector.core.review.records import CORRECTED, check_status

    folder = _folder(args.folder)
    photo = _photo_path(folder, args.photo)
    if args.status is None and args.mask is None:
        raise CrackInspectorError("give --status, --mask or both")
    status = check_status(args.status) if args.status is not None else CORRECTED
    mask = None
    if args.mask is not None:
        if status != CORRECTED:
            raise CrackInspectorError(f"--mask makes the photo corrected, not {status}")
        mask = read_mask(args.mask)
        h, w = read_image(photo).shape[:2]
        if mask.shape != (h, w):
            raise CrackInspectorError(
                f"{args.mask}: mask is {mask.shape[1]}x{mask.shape[0]} but the photo "
                f"{photo.name} is {w}x{h}"
            )
    with _open_for_writing(folder) as store:
        if mask is not None:
            store.save_mask(photo, mask, model=args.model, threshold=args.threshold,
                            reviewer=args.reviewer, note=args.note)  # fmt: skip
            store.flush()
        else:
            if status == CORRECTED and store.mask(photo) is None:
                raise CrackInspectorError(f"{photo}: corrected needs --mask (it has no edit)")
            store.set_status(photo, status, note=args.note, reviewer=args.reviewer,
                             model=args.model, threshold=args.threshold)  # fmt: skip
        review = store.photo(photo)
    who = f" by {review.reviewer}" if review.reviewer else ""
    note = f" - {review.note}" if review.note else ""
    print(f"{review.key}: {STATUS_LABELS[review.status]}{who}{note}")
    return 0


def run_info(args: argparse.Namespace) -> int:
    from crackinspector.core.review.store import open_existing_store

    folder = _folder(args.folder)
    changes = {
        k: getattr(args, k) for k in InspectionInfo.field_names() if getattr(args, k) is not None
    }
    if changes:
        with _open_for_writing(folder) as store:
            info = store.set_info(**changes)
    else:
        existing = open_existing_store(folder)
        if existing is None:
            info = InspectionInfo()
        else:
            with existing:
                info = existing.info()
    if args.json:
        print(json.dumps(info.to_dict(), indent=2))
    else:
        for name, value in dataclasses.asdict(info).items():
            print(f"{name:<10} {value}")
    return 0


def run_export_training(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from crackinspector.core.infer.options import make_predictor, options_from_args
    from crackinspector.core.io.cache import ResultCache
    from crackinspector.core.review.store import open_existing_store
    from crackinspector.core.review.training_export import export_training

    folder = _folder(args.folder)
    store = open_existing_store(folder)
    if store is None:
        raise CrackInspectorError(f"{folder}: no inspection store (nothing reviewed yet)")
    options = options_from_args(args)

    def predictor_for(name: str | None):
        chosen = dataclasses.replace(options, model=name or options.model)
        try:
            return make_predictor(chosen)
        except ValueError as exc:
            raise CrackInspectorError(str(exc)) from None

    bar = tqdm(unit="photo", disable=args.quiet, file=sys.stderr)

    def progress(done: int, total: int, path: Path) -> None:
        bar.total = total
        bar.n = done
        bar.set_postfix_str(path.name, refresh=False)
        bar.refresh()

    with store:
        _print_messages(store.messages)
        try:
            result = export_training(
                store,
                args.out,
                predictor_for,
                cache=None if args.no_cache else ResultCache(),
                progress=progress,
            )
        finally:
            bar.close()
    for line in result.skipped:
        print(f"crackinspector: {line}", file=sys.stderr)
    if not result.pairs:
        raise CrackInspectorError(f"{folder}: no reviewed photos could be exported")
    by_status: dict[str, int] = {}
    for pair in result.pairs:
        by_status[pair["status"]] = by_status.get(pair["status"], 0) + 1
    counts = ", ".join(f"{n} {STATUS_LABELS[s]}" for s, n in sorted(by_status.items()))
    print(f"{len(result.pairs)} pairs ({counts}) in {result.images_dir} and {result.masks_dir}")
    return 2 if result.skipped else 0
