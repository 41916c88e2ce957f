"""The training loop: plain functions reporting through events, checking a stop request
between steps, checkpointing atomically at every epoch end."""

from __future__ import annotations

import contextlib
import csv
import io
import math
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from crackinspector.core.analysis.metrics import SetMetrics
from crackinspector.core.errors import CrackInspectorError
from crackinspector.core.io.atomic import atomic_write_text
from crackinspector.core.model import registry
from crackinspector.core.model.card import ModelCard
from crackinspector.core.model.device import (
    autocast,
    hardware_summary,
    pick_device,
    training_autocast_dtype,
)

from . import data as tdata
from .card import portable_training
from .checkpoint import (
    BEST,
    LAST,
    CheckpointError,
    load_checkpoint,
    remove_partial_files,
    save_checkpoint,
)
from .config import TrainConfig
from .distill import Teacher, load_teacher
from .distributed import DistInfo, broadcast_flag, cleanup, init_distributed, shard, sum_across
from .ema import WeightAverage, make_average
from .events import EventWriter, read_events
from .losses import make_loss
from .plan import (
    DataPlan,
    plan_data,
    require_training_pairs,
    samples_per_epoch,
    steps_per_epoch,
    write_data_record,
)

Sample = tuple[np.ndarray, np.ndarray]

STOP_FILE = "STOP"
CSV_FIELDS = (
    "epoch",
    "train_loss",
    "val_loss",
    "precision",
    "recall",
    "f1",
    "iou",
    "f1_tol2",
    "iou_tol2",
    "best_threshold",
    "best_f1",
    "raw_f1",
    "raw_best_f1",
    "lr",
    "images_per_s",
    "seconds",
)


class StopRequested(Exception):
    """Raised between steps when the user asked the run to stop."""


class _StopFlag:
    """Set by SIGINT/SIGTERM or by a STOP file in the run folder (how the GUI asks)."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.signalled = False

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            # not possible outside the main thread (tests may drive fit() from threads)
            with contextlib.suppress(ValueError):
                signal.signal(sig, self._handler)

    def _handler(self, *_: object) -> None:
        self.signalled = True

    def __bool__(self) -> bool:
        return self.signalled or (self.run_dir / STOP_FILE).exists()


def load_data(
    cfg: TrainConfig, log: Callable[[str], None]
) -> tuple[DataPlan, list[Sample], list[Sample]]:
    """The run's data plan (training.plan) with every pair decoded once: the decode is the
    check, so a truncated photo or a mask of another size is skipped and named, never fatal."""
    loaded: dict[tuple[Path, Path], Sample] = {}

    def load(pair: tdata.Pair) -> str | None:
        try:
            loaded[(pair.image, pair.mask)] = tdata.load_pair(pair)
        except CrackInspectorError as exc:
            return str(exc)
        return None

    plan = plan_data(cfg, load)
    for line in plan.log_lines():
        log(line)
    require_training_pairs(plan, cfg.batch_size, cfg.steps_per_epoch)
    train = [loaded[(p.image, p.mask)] for p in plan.train]
    val = [loaded[(p.image, p.mask)] for p in plan.val]
    return plan, train, val


def model_target(cfg: TrainConfig, run_dir: Path) -> Path:
    """Where the run's model goes: <export dir>/<name>.safetensors."""
    folder = Path(cfg.export_dir) if cfg.export_dir else registry.user_models_dir()
    return folder / f"{cfg.name or run_dir.name}.safetensors"


def exported_by_run(run_dir: Path) -> set[Path]:
    """Models this run folder exported before (its end events say so)."""
    path = run_dir / "events.jsonl"
    if not path.exists():
        return set()
    return {
        Path(e["model"]).resolve()
        for e in read_events(path)
        if e.get("type") == "end" and e.get("model")
    }


def check_model_target(cfg: TrainConfig, run_dir: Path, force: bool) -> None:
    """The registry's rule for a new model's name (not a bundled model's, which would hide
    it; no existing model replaced without --force), except that a run may replace the
    model it exported itself (a stopped run resumed to its end)."""
    target = model_target(cfg, run_dir)
    own = target.exists() and target.resolve() in exported_by_run(run_dir)
    registry.check_import_name(target.stem, target.parent, force=force or own)


def make_optimiser(cfg: TrainConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    if cfg.optimiser == "sgd":
        return torch.optim.SGD(
            model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
        )
    return torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)


def make_scheduler(cfg: TrainConfig, opt: torch.optim.Optimizer, total_steps: int):
    """Stepped once per optimisation step."""
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, total_steps))
    if cfg.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=cfg.lr, total_steps=max(2, total_steps), pct_start=0.15
        )
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)


def initial_model(cfg: TrainConfig) -> tuple[torch.nn.Module, ModelCard]:
    """The network to start from: random, ImageNet encoder weights, or an existing model."""
    if cfg.init not in ("random", "imagenet"):
        info = registry.resolve(cfg.init)
        cfg.encoder = info.card.encoder
        parent = info.card
        card = ModelCard(
            name="",
            # the fields that define the network: an imported research-script model
            # (UNet16 / UNetResNet) stays one when fine-tuned
            encoder=parent.encoder,
            architecture=parent.architecture,
            in_channels=parent.in_channels,
            classes=parent.classes,
            decoder_channels=parent.decoder_channels,
            mean=parent.mean,
            std=parent.std,
            # provenance: a fine-tuned model's card keeps how its parent was trained
            training={"parent": {"name": info.name, "training": parent.training}},
        )
        model = registry.load_model(info, "cpu").train()
        return model, card
    card = ModelCard(name="", encoder=cfg.encoder, tile_size=cfg.tile_size)
    if cfg.init == "random":
        return registry.build_model(card), card
    import segmentation_models_pytorch as smp

    try:
        model = smp.Unet(cfg.encoder, encoder_weights="imagenet", classes=1)
    except Exception as exc:  # urllib, requests and hub errors all mean "could not fetch"
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise tdata.DataError(
            f"ImageNet weights for {cfg.encoder} could not be downloaded ({reason}). "
            "They need an internet connection on first use; start from random weights "
            "(--init random) or from an existing model instead."
        ) from None
    return model, card


def _pad32(x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
    h, w = x.shape[-2:]
    ph, pw = (-h) % 32, (-w) % 32
    if ph or pw:
        mode = "reflect" if h > ph and w > pw else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    return x, h, w


@torch.inference_mode()
def validate(
    model: torch.nn.Module,
    samples: list[tuple[np.ndarray, np.ndarray]],
    card: ModelCard,
    device: torch.device,
    amp: torch.dtype | None,
    loss_fn,
    info: DistInfo | None = None,
    threshold: float = 0.5,
) -> dict[str, float]:
    """Loss and crack metrics (strict and 2 px, with a threshold sweep) over whole images."""
    info = info or DistInfo()
    model.eval()
    mean = np.asarray(card.mean, dtype=np.float32)
    std = np.asarray(card.std, dtype=np.float32)
    metrics = SetMetrics(threshold=threshold)
    loss_sum = 0.0
    for i in range(info.rank, len(samples), info.world_size):
        image, mask = samples[i]
        x, h, w = _pad32(tdata.to_tensor(image, mean, std).unsqueeze(0).to(device))
        with autocast(device, amp):
            logits = model(x)[..., :h, :w].float()
        target = torch.from_numpy(mask.astype(np.float32))[None, None].to(device)
        loss_sum += float(loss_fn(logits, target))
        metrics.add(torch.sigmoid(logits)[0, 0].cpu().numpy(), mask.astype(bool))
    totals = sum_across(np.concatenate([[loss_sum], metrics.as_array()]), info)
    metrics.load_array(totals[1:].astype(np.int64))
    out = metrics.result()
    out["val_loss"] = float(totals[0] / max(1, metrics.images))
    model.train()
    return out


def _write_metrics_csv(path: Path, history: list[dict[str, Any]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for row in history:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in CSV_FIELDS})
    atomic_write_text(path, buf.getvalue())


def export_model(
    cfg: TrainConfig, run_dir: Path, card: ModelCard, history: list[dict[str, Any]]
) -> Path | None:
    """Turn the best checkpoint (or with `cfg.export == "last"` the last one) into a model
    pair (float16 safetensors + card)."""
    path = run_dir / (LAST if cfg.export == "last" else BEST)
    if not path.exists():
        return None
    state = load_checkpoint(path)
    model = registry.build_model(card)
    # a run with --ema exports the average, which is what validation chose the epoch by
    model.load_state_dict(state["ema"]["model"] if state.get("ema") else state["model"])
    best = state["metrics"]
    card.name = cfg.name or run_dir.name
    card.threshold = float(best.get("best_threshold") or 0.5)
    card.tile_size = cfg.tile_size
    card.description = f"U-Net {card.encoder} trained by crackinspector-train ({run_dir.name})"
    card.metrics = {"validation": {k: v for k, v in best.items() if v is not None}}
    # datasets and splits by name, never this machine's paths (training.card)
    card.training = portable_training(
        {
            **card.training,
            "config": asdict(cfg),
            "best_epoch": max(
                (int(r["epoch"]) for r in history if r.get("is_best")), default=state["epoch"]
            ),
            "exported_epoch": state["epoch"],
            "epochs_run": len(history),
            "train_seconds": round(sum(r.get("seconds", 0.0) for r in history), 1),
            "hardware": hardware_summary(pick_device(cfg.device)),
        }
    )
    target = model_target(cfg, run_dir)
    return registry.save_model(model, card, target.parent).weights_path


def fit(
    cfg: TrainConfig, resume: bool = False, events_to: str | None = None, force: bool = False
) -> dict[str, Any]:
    """Train as `cfg` says; returns the end event. Safe to kill at any point.

    The caller holds the run folder's lock (training.runlock; the CLI takes it)."""
    run_dir = Path(cfg.out)
    if resume:
        if not (run_dir / "config.json").exists():
            raise tdata.DataError(f"{run_dir}: nothing to resume (no config.json)")
        try:
            cfg = TrainConfig.load(run_dir / "config.json").resumed_with(cfg)
        except (OSError, ValueError, TypeError) as exc:
            raise tdata.DataError(f"{run_dir / 'config.json'}: cannot be read ({exc})") from None
    cfg.validate()
    check_model_target(cfg, run_dir, force)
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    device = pick_device(cfg.device)
    info = init_distributed(device.type)
    if info.enabled and device.type == "cuda":
        device = torch.device("cuda", info.local_rank)
    amp = training_autocast_dtype(device, cfg.amp)
    run_dir.mkdir(parents=True, exist_ok=True)
    events = EventWriter(run_dir, run_dir.name, events_to) if info.is_main else None

    def log(message: str) -> None:
        if events:
            events.emit("log", message=message)
            tqdm.write(message)

    stop = _StopFlag(run_dir)
    stop.install()
    if info.is_main:
        (run_dir / STOP_FILE).unlink(missing_ok=True)
        for path in remove_partial_files(run_dir):
            log(f"removed {path.name}, left by a write that was cut short")
    try:
        return _fit(cfg, resume, run_dir, device, info, amp, events, log, stop)
    except BaseException as exc:
        if events and not isinstance(exc, StopRequested):
            events.emit(
                "end",
                status="failed",
                message=f"{type(exc).__name__}: {exc}",
                best_epoch=None,
                best_f1=None,
                model=None,
            )
        raise
    finally:
        if events:
            events.close()
        cleanup(info)


@dataclass
class _Run:
    """What a training run carries from epoch to epoch."""

    cfg: TrainConfig
    device: torch.device
    amp: torch.dtype | None
    info: DistInfo
    events: EventWriter | None
    stop: _StopFlag
    net: torch.nn.Module
    dataset: tdata.CrackDataset
    weights: np.ndarray
    steps_per_epoch: int
    opt: torch.optim.Optimizer
    sched: Any
    scaler: torch.amp.GradScaler
    loss_fn: Any
    average: WeightAverage | None
    teacher: Teacher | None


def _fit(cfg, resume, run_dir, device, info, amp, events, log, stop) -> dict[str, Any]:
    torch.manual_seed(cfg.seed)
    # the models first (loading the data takes minutes on a big mix): a wrong --init or
    # --teacher is reported at once; the data plan draws no torch random numbers, so a
    # seeded run starts from the same weights either way
    model, card = initial_model(cfg)
    teacher = load_teacher(cfg.teacher, card, device) if cfg.teacher else None
    plan, train_samples, val_samples = load_data(cfg, log)
    weights = np.asarray(plan.weights, dtype=np.float64)
    log(f"loading {len(train_samples)} training and {len(val_samples)} validation pairs")
    if info.is_main:
        write_data_record(run_dir, plan)

    model.to(device)
    if device.type == "cuda":
        model.to(memory_format=torch.channels_last)
    net = model
    if info.enabled:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    dataset = tdata.CrackDataset(
        train_samples, cfg.crop_size, cfg.augment, card.mean, card.std, cfg.seed
    )
    n_steps = steps_per_epoch(
        len(train_samples), cfg.batch_size, cfg.steps_per_epoch, info.world_size
    )
    opt = make_optimiser(cfg, model)
    sched = make_scheduler(cfg, opt, n_steps * cfg.epochs)
    scaler = torch.amp.GradScaler(device.type, enabled=amp == torch.float16)
    loss_fn = make_loss(cfg.loss)
    average = make_average(model, cfg.ema)
    if teacher is not None:
        log(f"distilling from {cfg.teacher} at weight {cfg.distill_weight}")

    start_epoch, history, best_score, best_epoch = 0, [], -1.0, None
    if resume and (run_dir / LAST).exists():
        state = load_checkpoint(run_dir / LAST)
        try:
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimiser"])
            sched.load_state_dict(state["scheduler"])
            scaler.load_state_dict(state["scaler"])
            start_epoch, history = state["epoch"], state["history"]
            best_score, best_epoch = state["best_score"], state["best_epoch"]
            if average is not None and state.get("ema"):
                average.load_state_dict(state["ema"])
        except (KeyError, RuntimeError, ValueError) as exc:
            reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else repr(exc)
            raise CheckpointError(
                f"{run_dir / LAST}: does not fit this run's model and settings ({reason})"
            ) from None
        log(f"resuming after epoch {start_epoch}")
    elif info.is_main:
        cfg.save(run_dir / "config.json")
    if events:
        events.emit(
            "start",
            config=asdict(cfg),
            device=str(device),
            amp=str(amp),
            train_images=len(train_samples),
            val_images=len(val_samples),
            world_size=info.world_size,
            resumed_from_epoch=start_epoch,
            steps_per_epoch=n_steps,
        )

    run = _Run(cfg, device, amp, info, events, stop, net, dataset, weights, n_steps,
               opt, sched, scaler, loss_fn, average, teacher)  # fmt: skip
    status, message = "finished", ""
    try:
        for epoch in range(start_epoch, cfg.epochs):
            row = _run_epoch(run, epoch)
            if val_samples:
                row.update(_validate_run(run, model, val_samples, card))
            score = row.get("best_f1", -row["train_loss"]) if val_samples else -row["train_loss"]
            row["is_best"] = bool(score > best_score)
            history.append(row)
            if row["is_best"]:
                best_score, best_epoch = score, epoch + 1
            if info.is_main:
                state = {
                    "model": model.state_dict(),
                    "optimiser": opt.state_dict(),
                    "scheduler": sched.state_dict(),
                    "scaler": scaler.state_dict(),
                    "epoch": epoch + 1,
                    "history": history,
                    "best_score": best_score,
                    "best_epoch": best_epoch,
                    "metrics": row,
                    "ema": average.state_dict() if average is not None else None,
                }
                if row["is_best"]:
                    save_checkpoint(run_dir / BEST, state)
                save_checkpoint(run_dir / LAST, state)
                _write_metrics_csv(run_dir / "metrics.csv", history)
                remaining = (cfg.epochs - epoch - 1) * row["seconds"]
                events.emit(
                    "epoch", epochs=cfg.epochs, eta_s=remaining, **{k: v for k, v in row.items()}
                )
            if broadcast_flag(bool(stop), info):
                raise StopRequested
    except StopRequested:
        status, message = "stopped", "stopped on request; the best checkpoint is kept"
    model_path = export_model(cfg, run_dir, card, history) if info.is_main else None
    best = history[best_epoch - 1] if best_epoch else {}
    end = {
        "status": status,
        "best_epoch": best_epoch,
        "best_f1": best.get("best_f1"),
        "model": str(model_path) if model_path else None,
        "message": message,
    }
    if events:
        events.emit("end", **end)
        log(f"model written to {model_path}" if model_path else "no model written")
    return end


def _validate_run(
    run: _Run, model: torch.nn.Module, samples: list[Sample], card: ModelCard
) -> dict[str, Any]:
    """Validation of the weights the run exports: the average with --ema, whose row also
    keeps the raw weights' F1 (raw_f1, raw_best_f1) to show what averaging gained."""

    def of(net: torch.nn.Module) -> dict[str, Any]:
        return validate(net, samples, card, run.device, run.amp, run.loss_fn, run.info)

    if run.average is None:
        return of(model)
    raw = of(model)
    return {**of(run.average.module), "raw_f1": raw["f1"], "raw_best_f1": raw["best_f1"]}


def _run_epoch(run: _Run, epoch: int) -> dict[str, Any]:
    """One pass of training steps; returns the epoch's row of metrics.csv (without validation)."""
    cfg, info = run.cfg, run.info
    order = tdata.epoch_order(run.weights, samples_per_epoch(cfg, info.world_size), cfg.seed, epoch)
    run.dataset.set_epoch(epoch, shard(order, info)[: run.steps_per_epoch * cfg.batch_size])
    loader = torch.utils.data.DataLoader(
        run.dataset,
        batch_size=cfg.batch_size,
        shuffle=False,
        num_workers=cfg.workers,
        drop_last=True,
        persistent_workers=False,
    )
    run.net.train()
    started = time.perf_counter()
    losses: list[float] = []
    bar = tqdm(
        total=run.steps_per_epoch,
        desc=f"epoch {epoch + 1}/{cfg.epochs}",
        disable=not info.is_main,
        leave=False,
        dynamic_ncols=True,
    )
    for step, (x, y) in enumerate(loader, start=1):
        if run.stop and info.is_main and not info.enabled:
            raise StopRequested
        x, y = x.to(run.device, non_blocking=True), y.to(run.device, non_blocking=True)
        if run.device.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast(run.device, run.amp):
            logits = run.net(x).float()  # losses in float32
        loss = run.loss_fn(logits, y)
        if run.teacher is not None:
            soft = run.teacher.probabilities(x, run.amp)
            loss = loss + cfg.distill_weight * run.loss_fn(logits, soft)
        run.opt.zero_grad(set_to_none=True)
        run.scaler.scale(loss).backward()
        run.scaler.step(run.opt)
        run.scaler.update()
        run.sched.step()
        if run.average is not None:
            run.average.update(getattr(run.net, "module", run.net))
        losses.append(float(loss.detach()))
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
        if run.events and (step % cfg.log_every == 0 or step == run.steps_per_epoch):
            elapsed = time.perf_counter() - started
            ips = step * cfg.batch_size * info.world_size / elapsed
            left = (run.steps_per_epoch - step) + (cfg.epochs - epoch - 1) * run.steps_per_epoch
            run.events.emit(
                "step",
                epoch=epoch + 1,
                step=step,
                steps_per_epoch=run.steps_per_epoch,
                global_step=epoch * run.steps_per_epoch + step,
                train_loss=float(np.mean(losses[-cfg.log_every :])),
                lr=run.opt.param_groups[0]["lr"],
                images_per_s=ips,
                eta_s=left * cfg.batch_size * info.world_size / max(ips, 1e-9),
            )
    bar.close()
    seconds = time.perf_counter() - started
    train_loss = float(sum_across(np.array([sum(losses), len(losses)]), info)[0]) / max(
        1, len(losses) * info.world_size
    )
    n = len(losses) * cfg.batch_size * info.world_size
    return {
        "epoch": epoch + 1,
        "train_loss": train_loss if math.isfinite(train_loss) else None,
        "lr": run.opt.param_groups[0]["lr"],
        "images_per_s": n / seconds,
        "seconds": seconds,
    }
