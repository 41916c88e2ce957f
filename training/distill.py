"""Knowledge distillation: a trained model (the teacher) whose probability maps the student
learns from beside the masks.

Crack masks are thin, hand-drawn lines; a good teacher's probabilities also say where a faint
crack continues and how sure a pixel is. The student's loss becomes

    loss(logits, mask) + weight * loss(logits, teacher probabilities)

with the run's own loss (BCE + Dice takes soft targets as they are). The teacher sees the
same augmented crop in eval mode, without gradients, renormalised when its card's mean and
std differ from the student's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from crackinspector.core.model import registry
from crackinspector.core.model.card import ModelCard
from crackinspector.core.model.device import autocast


@dataclass
class Teacher:
    model: torch.nn.Module
    scale: torch.Tensor  # student-normalised input -> teacher-normalised: x * scale + shift
    shift: torch.Tensor

    @torch.no_grad()
    def probabilities(self, x: torch.Tensor, amp: torch.dtype | None) -> torch.Tensor:
        with autocast(x.device, amp):
            logits = self.model(x * self.scale + self.shift)
        return torch.sigmoid(logits.float())


def load_teacher(name_or_path: str, student: ModelCard, device: torch.device) -> Teacher:
    """The teacher model (a name or file, as --init takes), frozen, on `device`."""
    info = registry.resolve(name_or_path)
    if info.card.classes != student.classes:
        raise ValueError(
            f"teacher {info.name}: {info.card.classes} output classes, the student has "
            f"{student.classes}"
        )
    model = registry.load_model(info, device).eval()
    for p in model.parameters():
        p.requires_grad_(False)

    def column(values: Sequence[float]) -> torch.Tensor:
        return torch.tensor(values, dtype=torch.float32, device=device).view(1, -1, 1, 1)

    s_mean, s_std = column(student.mean), column(student.std)
    t_mean, t_std = column(info.card.mean), column(info.card.std)
    # x_student = (raw - s_mean) / s_std; x_teacher = (raw - t_mean) / t_std
    scale = s_std / t_std
    return Teacher(model, scale, (s_mean - t_mean) / t_std)
