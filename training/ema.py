"""An exponential moving average of a model's weights and batch-norm statistics (as timm's
ModelEma): a copy updated after every optimisation step, validated and exported in place of
the raw weights, which move about from step to step at a fine-tune's learning rates."""

from __future__ import annotations

import copy
from typing import Any

import torch


class WeightAverage:
    """`decay` per step, ramped up as (1 + n) / (10 + n) over the first updates so that the
    average of a run from random weights does not keep them for long."""

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        self.decay = decay
        self.updates = 0
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)

    def current_decay(self) -> float:
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        self.updates += 1
        keep = self.current_decay()
        model_state = model.state_dict()
        for name, averaged in self.module.state_dict().items():
            value = model_state[name].detach()
            if averaged.is_floating_point():
                averaged.lerp_(value.to(averaged.dtype), 1.0 - keep)
            else:  # batch-norm step counters
                averaged.copy_(value)

    def state_dict(self) -> dict[str, Any]:
        return {"decay": self.decay, "updates": self.updates, "model": self.module.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.module.load_state_dict(state["model"])
        self.updates = int(state["updates"])


def make_average(model: torch.nn.Module, decay: float) -> WeightAverage | None:
    return WeightAverage(model, decay) if decay > 0 else None
