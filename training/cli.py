"""`crackinspector-train`: train a crack segmentation model from image and mask folders."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from crackinspector.core.errors import CrackInspectorError

from .config import ENCODERS, EXPORTS, LOSSES, OPTIMISERS, SCHEDULES, TrainConfig
from .runlock import RunLock


def build_parser() -> argparse.ArgumentParser:
    d = TrainConfig()
    p = argparse.ArgumentParser(
        prog="crackinspector-train",
        description="Train a U-Net crack model. Image and mask folders are paired by file "
        "stem. --images/--masks (and --split, --oversample) may be repeated to combine sets.",
    )
    g = p.add_argument_group("data")
    g.add_argument("--images", action="append", default=[], metavar="DIR")
    g.add_argument("--masks", action="append", default=[], metavar="DIR")
    g.add_argument(
        "--split",
        dest="splits",
        action="append",
        default=[],
        metavar="FILE",
        help="JSON with 'train' and 'val' stem lists; stems under other keys "
        "(e.g. 'test') are never used",
    )
    g.add_argument(
        "--oversample",
        action="append",
        type=float,
        default=[],
        metavar="F",
        help="sampling weight of each --images folder (default 1)",
    )
    g.add_argument("--val-images", action="append", default=[], metavar="DIR")
    g.add_argument("--val-masks", action="append", default=[], metavar="DIR")
    g.add_argument("--val-fraction", type=float, default=d.val_fraction, metavar="F")
    g.add_argument(
        "--val-limit",
        type=int,
        default=d.val_limit,
        metavar="N",
        help="validate on a fixed seeded subset of N images (0: all)",
    )
    g = p.add_argument_group("model")
    g.add_argument("--encoder", choices=ENCODERS, default=d.encoder)
    g.add_argument(
        "--init",
        default=d.init,
        help="random, imagenet (needs internet on first use), or a model name/file to fine-tune",
    )
    g.add_argument("--tile-size", type=int, default=d.tile_size)
    g = p.add_argument_group("optimisation")
    g.add_argument("--epochs", type=int, default=d.epochs)
    g.add_argument(
        "--steps-per-epoch",
        type=int,
        default=d.steps_per_epoch,
        help="batches per epoch (0: one pass over the training images)",
    )
    g.add_argument("--batch-size", type=int, default=d.batch_size)
    g.add_argument("--lr", type=float, default=d.lr)
    g.add_argument("--momentum", type=float, default=d.momentum)
    g.add_argument("--weight-decay", type=float, default=d.weight_decay)
    g.add_argument("--optimiser", "--optimizer", choices=OPTIMISERS, default=d.optimiser)
    g.add_argument("--schedule", choices=SCHEDULES, default=d.schedule)
    g.add_argument("--loss", choices=LOSSES, default=d.loss)
    g.add_argument("--crop-size", type=int, default=d.crop_size)
    g.add_argument("--no-augment", dest="augment", action="store_false")
    g.add_argument("--amp", choices=("auto", "off", "bf16", "fp16"), default=d.amp)
    g.add_argument("--seed", type=int, default=d.seed)
    g.add_argument(
        "--ema",
        type=float,
        default=d.ema,
        metavar="DECAY",
        help="keep an exponential moving average of the weights (e.g. 0.999 per step); "
        "validation, the best epoch and the exported model use the average (default 0: off)",
    )
    g.add_argument(
        "--export",
        choices=EXPORTS,
        default=d.export,
        help="export the best validated epoch (default) or the last one (with --ema: the "
        "average at the end of the schedule)",
    )
    g.add_argument(
        "--teacher",
        default=d.teacher,
        metavar="MODEL",
        help="distil from this trained model (a name or file): the loss against the masks "
        "plus --distill-weight x the same loss against the teacher's probabilities",
    )
    g.add_argument("--distill-weight", type=float, default=d.distill_weight, metavar="W")
    g = p.add_argument_group("run")
    g.add_argument("--device", default=d.device, help="auto, cpu or cuda")
    g.add_argument("--threads", type=int, default=d.threads, help="CPU threads (0: default)")
    g.add_argument("--workers", type=int, default=d.workers, help="data-loading processes")
    g.add_argument("--out", required=True, metavar="RUN_DIR")
    g.add_argument("--name", default="", help="name of the exported model (default: run folder)")
    g.add_argument(
        "--export-dir",
        default="",
        metavar="DIR",
        help="where the final model pair goes (default: the user model folder)",
    )
    g.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in RUN_DIR from its last complete epoch, with its saved "
        "settings; --device, --threads and --workers given here apply",
    )
    g.add_argument(
        "--force",
        action="store_true",
        help="replace an existing model of the same name in the export folder",
    )
    g.add_argument(
        "--events",
        default=None,
        metavar="FILE|-",
        help="also write JSON-lines events to FILE or stdout (-)",
    )
    g.add_argument("--log-every", type=int, default=d.log_every, metavar="STEPS")
    return p


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    fields = TrainConfig.__dataclass_fields__
    return TrainConfig(**{k: v for k, v in vars(args).items() if k in fields})


def _lock(out: str) -> RunLock | None:
    """The run folder's lock, taken before torch is even imported (so a GUI looking for
    running runs sees this one at once); under torchrun only rank 0 writes and locks."""
    if os.environ.get("RANK", "0") != "0":
        return None
    return RunLock(out).acquire()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cfg = config_from_args(args)
    lock = None
    try:
        if not args.resume:
            cfg.validate()
        lock = _lock(args.out)
        from .loop import fit

        end = fit(cfg, resume=args.resume, events_to=args.events, force=args.force)
    except (CrackInspectorError, ValueError) as exc:
        print(f"crackinspector-train: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        if lock is not None:
            lock.release()
    print(f"{end['status']}: best epoch {end['best_epoch']}, model {end['model']}", file=sys.stderr)
    return 0 if end["status"] in ("finished", "stopped") else 1


if __name__ == "__main__":
    sys.exit(main())
