"""The training loop: plain functions reporting through events, checking a stop request
between steps, checkpointing atomically at every epoch end."""

from __future__ import annotations

import contextlib
import csv
import io
import math
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from crackinspector.core.analysis.metrics import SetMetrics
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
from .checkpoint import BEST, LAST, load_checkpoint, save_checkpoint
from .config import TrainConfig
from .distributed import DistInfo, broadcast_flag, cleanup, init_distributed, shard, sum_across
from .events import EventWriter
from .losses import make_loss

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


def gather_data(cfg: TrainConfig, log) -> tuple[list[tdata.Pair], np.ndarray, list[tdata.Pair]]:
    """Training pairs with their sampling weights, and validation pairs, from the config."""
    train: list[tdata.Pair] = []
    weights: list[float] = []
    val: list[tdata.Pair] = []
    for i, (images, masks) in enumerate(zip(cfg.images, cfg.masks, strict=True)):
        report = tdata.pair_folders(images, masks)
        log(f"{images}: {report.summary()}")
        for p in report.images_without_mask:
            log(f"{p}: no mask with this name in {masks}")
        for p in report.masks_without_image:
            log(f"{p}: no image with this name in {images}")
        for problem in report.problems:
            log(problem)
        pairs = report.pairs
        split_file = cfg.splits[i] if len(cfg.splits) > 1 else (cfg.splits or [None])[0]
        if split_file:
            pairs, val_part = tdata.apply_split(pairs, tdata.load_split(split_file))
            val += val_part
        train += pairs
        weights += [cfg.oversample[i] if cfg.oversample else 1.0] * len(pairs)
    for images, masks in zip(cfg.val_images, cfg.val_masks, strict=True):
        report = tdata.pair_folders(images, masks)
        log(f"{images} (validation): {report.summary()}")
        for problem in report.problems:
            log(problem)
        val += report.pairs
    if cfg.val_fraction > 0:
        idx = np.arange(len(train))
        rest, held = tdata.random_split(list(idx), cfg.val_fraction, cfg.seed)
        val += [train[i] for i in held]
        weights = [weights[i] for i in rest]
        train = [train[i] for i in rest]
    if not train:
        raise tdata.DataError(
            "no usable training pairs: check that image and mask files share their names "
            "and sizes (see the messages above)"
        )
    return train, np.asarray(weights, dtype=np.float64), val


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
        card = ModelCard(
            name="",
            encoder=info.card.encoder,
            mean=info.card.mean,
            std=info.card.std,
            decoder_channels=info.card.decoder_channels,
            # provenance: a fine-tuned model's card keeps how its parent was trained
            training={"parent": {"name": info.name, "training": info.card.training}},
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
    """Turn the best checkpoint into a model pair (float16 safetensors + card)."""
    best_path = run_dir / BEST
    if not best_path.exists():
        return None
    state = load_checkpoint(best_path)
    model = registry.build_model(card)
    model.load_state_dict(state["model"])
    best = state["metrics"]
    card.name = cfg.name or run_dir.name
    card.threshold = float(best.get("best_threshold") or 0.5)
    card.tile_size = cfg.tile_size
    card.description = f"U-Net {card.encoder} trained by crackinspector-train ({run_dir.name})"
    card.metrics = {"validation": {k: v for k, v in best.items() if v is not None}}
    card.training = {
        **card.training,
        "config": asdict(cfg),
        "best_epoch": state["epoch"],
        "epochs_run": len(history),
        "train_seconds": round(sum(r.get("seconds", 0.0) for r in history), 1),
        "hardware": hardware_summary(pick_device(cfg.device)),
    }
    folder = Path(cfg.export_dir) if cfg.export_dir else registry.user_models_dir()
    return registry.save_model(model, card, folder).weights_path


def fit(cfg: TrainConfig, resume: bool = False, events_to: str | None = None) -> dict[str, Any]:
    """Train as `cfg` says; returns the end event. Safe to kill at any point."""
    run_dir = Path(cfg.out)
    if resume:
        if not (run_dir / "config.json").exists():
            raise tdata.DataError(f"{run_dir}: nothing to resume (no config.json)")
        cfg = TrainConfig.load(run_dir / "config.json")
    cfg.validate()
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


def _fit(cfg, resume, run_dir, device, info, amp, events, log, stop) -> dict[str, Any]:
    torch.manual_seed(cfg.seed)
    train_pairs, weights, val_pairs = gather_data(cfg, log)
    if cfg.val_limit and len(val_pairs) > cfg.val_limit:
        keep = np.random.default_rng(cfg.seed).permutation(len(val_pairs))[: cfg.val_limit]
        val_pairs = [val_pairs[i] for i in sorted(keep)]
    log(f"loading {len(train_pairs)} training and {len(val_pairs)} validation pairs")
    if not cfg.steps_per_epoch and len(train_pairs) < cfg.batch_size:
        raise tdata.DataError(
            f"only {len(train_pairs)} training pairs for a batch size of {cfg.batch_size}: "
            "lower --batch-size or set --steps-per-epoch"
        )
    train_samples = [tdata.load_pair(p) for p in train_pairs]
    val_samples = [tdata.load_pair(p) for p in val_pairs]

    model, card = initial_model(cfg)
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
    per_epoch = cfg.steps_per_epoch * cfg.batch_size * info.world_size or len(train_samples)
    steps_per_epoch = max(1, (per_epoch // info.world_size) // cfg.batch_size)
    opt = make_optimiser(cfg, model)
    sched = make_scheduler(cfg, opt, steps_per_epoch * cfg.epochs)
    scaler = torch.amp.GradScaler(device.type, enabled=amp == torch.float16)
    loss_fn = make_loss(cfg.loss)

    start_epoch, history, best_score, best_epoch = 0, [], -1.0, None
    if resume and (run_dir / LAST).exists():
        state = load_checkpoint(run_dir / LAST)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimiser"])
        sched.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        start_epoch, history = state["epoch"], state["history"]
        best_score, best_epoch = state["best_score"], state["best_epoch"]
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
            steps_per_epoch=steps_per_epoch,
        )

    run = _Run(cfg, device, amp, info, events, stop, net, dataset, weights, steps_per_epoch,
               opt, sched, scaler, loss_fn)  # fmt: skip
    status, message = "finished", ""
    try:
        for epoch in range(start_epoch, cfg.epochs):
            row = _run_epoch(run, epoch)
            if val_samples:
                row.update(validate(model, val_samples, card, device, amp, loss_fn, info))
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


def _run_epoch(run: _Run, epoch: int) -> dict[str, Any]:
    """One pass of training steps; returns the epoch's row of metrics.csv (without validation)."""
    cfg, info = run.cfg, run.info
    order = tdata.epoch_order(
        run.weights, cfg.steps_per_epoch * cfg.batch_size * info.world_size, cfg.seed, epoch
    )
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
            logits = run.net(x)
        loss = run.loss_fn(logits.float(), y)
        run.opt.zero_grad(set_to_none=True)
        run.scaler.scale(loss).backward()
        run.scaler.step(run.opt)
        run.scaler.update()
        run.sched.step()
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
