"""How long an epoch will take, measured rather than guessed (Qt-free; runs in a thread).

Times real forward+backward+SGD steps of the chosen encoder at the chosen batch size and
crop on the chosen device, with the trainer's own loss and mixed precision: one untimed
warm-up step (allocations, kernel selection), then two timed ones. The epoch estimate adds
validation as forward passes over whole images (about a third of a training step per pixel).
It runs in the GUI process while the GUI is idle, so it is a fair guide, not a promise: the
trainer in its own process also loads data and writes checkpoints.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from crackinspector.core.errors import Cancelled

TIMED_STEPS = 2


@dataclass(frozen=True)
class StepTiming:
    seconds_per_step: float
    device: str


def measure_step(
    cancel: threading.Event, encoder: str, batch: int, crop: int, device: str
) -> StepTiming:
    import torch

    from crackinspector.core.device import autocast, pick_device, training_autocast_dtype
    from crackinspector.core.modelcard import ModelCard
    from crackinspector.core.models import build_model
    from training.losses import make_loss

    dev = pick_device(device)
    amp = training_autocast_dtype(dev, "auto")
    model = build_model(ModelCard(name="estimate", encoder=encoder)).to(dev).train()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    loss_fn = make_loss("bce_dice")
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 3, crop, crop, generator=gen).to(dev)
    y = (torch.rand(batch, 1, crop, crop, generator=gen) > 0.97).float().to(dev)

    def step() -> None:
        if cancel.is_set():
            raise Cancelled("time estimate cancelled")
        with autocast(dev, amp):
            logits = model(x)
        loss = loss_fn(logits.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    step()
    started = time.perf_counter()
    for _ in range(TIMED_STEPS):
        step()
    return StepTiming((time.perf_counter() - started) / TIMED_STEPS, str(dev))


def steps_per_epoch(n_train: int, batch: int, fixed_steps: int) -> int:
    """As the trainer counts them: a fixed number, else one pass over the training pairs."""
    return fixed_steps if fixed_steps > 0 else max(1, n_train // batch)


def epoch_seconds(
    timing: StepTiming, steps: int, n_val: int, val_pixels: float, batch: int, crop: int
) -> float:
    val = timing.seconds_per_step / 3 * n_val * val_pixels / (batch * crop * crop)
    return timing.seconds_per_step * steps + val
