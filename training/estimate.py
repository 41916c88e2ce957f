"""How long an epoch will take, measured rather than guessed (Qt-free; the wizard runs it in
a background task).

Times real forward+backward+SGD steps of the chosen encoder at the chosen batch size and
crop on the chosen device, with the trainer's own loss and mixed precision (and the
teacher's forward pass when the run distils from one): one untimed
warm-up step (allocations, kernel selection), then two timed ones. Validation runs whole
images, so one real forward pass at a typical validation image size is timed too (images
above 4 MP are timed at 1 MP and scaled by their pixel count).
It runs in the GUI process while the GUI is idle, so it is a fair guide, not a promise: the
trainer in its own process also loads data and writes checkpoints.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from crackinspector.core.errors import Cancelled

TIMED_STEPS = 2
MAX_TIMED_PIXELS = 4_000_000


@dataclass(frozen=True)
class StepTiming:
    seconds_per_step: float
    seconds_per_val_image: float
    device: str


def measure_step(
    encoder: str,
    batch: int,
    crop: int,
    device: str,
    val_size: tuple[int, int] = (0, 0),
    teacher_encoder: str = "",
    cancel: threading.Event | None = None,
) -> StepTiming:
    """Seconds per training step and per validation image, on `device`; with a
    `teacher_encoder` (distillation) each step also runs that teacher's forward pass, as the
    trainer does. `cancel` is checked before every step (Cancelled is raised)."""
    import torch

    from crackinspector.core.model.card import ModelCard
    from crackinspector.core.model.device import autocast, pick_device, training_autocast_dtype
    from crackinspector.core.model.registry import build_model
    from training.distill import Teacher
    from training.losses import make_loss

    dev = pick_device(device)
    amp = training_autocast_dtype(dev, "auto")
    model = build_model(ModelCard(name="estimate", encoder=encoder)).to(dev).train()
    teacher = None
    if teacher_encoder:  # the trainer's Teacher; its weights do not change its cost
        net = build_model(ModelCard(name="teacher", encoder=teacher_encoder)).to(dev).eval()
        teacher = Teacher(net, torch.ones(1, device=dev), torch.zeros(1, device=dev))
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    loss_fn = make_loss("bce_dice")
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 3, crop, crop, generator=gen).to(dev)
    y = (torch.rand(batch, 1, crop, crop, generator=gen) > 0.97).float().to(dev)

    cancel = cancel or threading.Event()

    def step() -> None:
        if cancel.is_set():
            raise Cancelled("time estimate cancelled")
        with autocast(dev, amp):
            logits = model(x).float()
        loss = loss_fn(logits, y)
        if teacher is not None:
            loss = loss + loss_fn(logits, teacher.probabilities(x, amp))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    step()
    started = time.perf_counter()
    for _ in range(TIMED_STEPS):
        step()
    per_step = (time.perf_counter() - started) / TIMED_STEPS
    return StepTiming(per_step, _time_forward(model, dev, amp, val_size, cancel), str(dev))


def _time_forward(
    model: Any, dev: Any, amp: Any, size: tuple[int, int], cancel: threading.Event
) -> float:
    """Seconds of one validation forward pass on a (w, h) image; 0 without a size."""
    import torch

    from crackinspector.core.model.device import autocast

    w, h = size
    if w <= 0 or h <= 0 or cancel.is_set():
        return 0.0
    scale = min(1.0, (1_000_000 / (w * h)) ** 0.5) if w * h > MAX_TIMED_PIXELS else 1.0
    tw, th = (max(32, round(v * scale / 32) * 32) for v in (w, h))
    model.eval()
    x = torch.zeros(1, 3, th, tw, device=dev)
    with torch.inference_mode(), autocast(dev, amp):
        started = time.perf_counter()
        model(x)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        seconds = time.perf_counter() - started
    model.train()
    return seconds * (w * h) / (tw * th)


def epoch_seconds(timing: StepTiming, steps: int, n_val: int) -> float:
    """An epoch: its training steps plus one forward pass per validation image."""
    return timing.seconds_per_step * steps + timing.seconds_per_val_image * n_val


def training_devices() -> list[tuple[str, str]]:
    """(label, --device value), the GPU first when there is one."""
    import torch

    devices = []
    if torch.cuda.is_available():
        devices.append((f"GPU: {torch.cuda.get_device_name(0)}", "cuda"))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append(("Apple GPU (MPS)", "mps"))
    devices.append(("CPU", "cpu"))
    return devices


def format_duration(seconds: float | None) -> str:
    """H:MM:SS or M:SS; "–" when unknown."""
    if seconds is None or seconds < 0:
        return "–"
    s = round(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
