"""Losses for thin cracks (about 2 % of pixels), where plain BCE learns to predict nothing."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def soft_dice(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """1 - Dice over the whole batch (one pooled score, so crack-free crops don't dominate)."""
    prob = torch.sigmoid(logits)
    inter = (prob * target).sum()
    return 1.0 - (2.0 * inter + eps) / (prob.sum() + target.sum() + eps)


def tversky(
    logits: torch.Tensor, target: torch.Tensor, alpha: float = 0.3, beta: float = 0.7
) -> torch.Tensor:
    """Tversky loss: beta > alpha weighs missed crack pixels above false alarms."""
    prob = torch.sigmoid(logits)
    tp = (prob * target).sum()
    fp = (prob * (1 - target)).sum()
    fn = ((1 - prob) * target).sum()
    return 1.0 - (tp + 1.0) / (tp + alpha * fp + beta * fn + 1.0)


def focal(logits: torch.Tensor, target: torch.Tensor, gamma: float = 2.0) -> torch.Tensor:
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    p_t = torch.exp(-bce)
    return ((1 - p_t) ** gamma * bce).mean()


def make_loss(name: str):
    """Loss function by name; all take (logits, target) in float32."""
    bce = F.binary_cross_entropy_with_logits
    losses = {
        "bce_dice": lambda lo, t: bce(lo, t) + soft_dice(lo, t),
        "bce": bce,
        "dice": soft_dice,
        "focal_dice": lambda lo, t: 10.0 * focal(lo, t) + soft_dice(lo, t),
        "tversky": tversky,
    }
    if name not in losses:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(losses)}")
    return losses[name]
