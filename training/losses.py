"""Losses for thin cracks (about 2 % of pixels), where plain BCE learns to predict nothing.

`cldice` is the centreline Dice of Shit et al. (CVPR 2021, "clDice - a novel topology-preserving
loss function for tubular structure segmentation"): it scores how much of the true crack's
centreline the prediction covers and how much of the prediction's centreline lies on a true
crack, so a missed thin segment costs as much as a missed wide one. Skeletons are the paper's
differentiable soft skeletons (iterated min / max pooling).
"""

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


def _soft_erode(img: torch.Tensor) -> torch.Tensor:
    across = -F.max_pool2d(-img, (3, 1), 1, (1, 0))
    along = -F.max_pool2d(-img, (1, 3), 1, (0, 1))
    return torch.minimum(across, along)


def _soft_dilate(img: torch.Tensor) -> torch.Tensor:
    return F.max_pool2d(img, 3, 1, 1)


def soft_skeleton(img: torch.Tensor, iterations: int = 5) -> torch.Tensor:
    """Differentiable skeleton of a (N, 1, H, W) map in [0, 1]; `iterations` should reach half
    the widest crack (5: cracks up to about 10 px, the 128 px training crops' widest)."""
    skeleton = F.relu(img - _soft_dilate(_soft_erode(img)))
    for _ in range(iterations):
        img = _soft_erode(img)
        delta = F.relu(img - _soft_dilate(_soft_erode(img)))
        skeleton = skeleton + F.relu(delta - skeleton * delta)
    return skeleton


def cldice(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """1 - centreline Dice over the whole batch (pooled like `soft_dice`)."""
    prob = torch.sigmoid(logits)
    skel_pred, skel_true = soft_skeleton(prob), soft_skeleton(target)
    precision = ((skel_pred * target).sum() + eps) / (skel_pred.sum() + eps)
    sensitivity = ((skel_true * prob).sum() + eps) / (skel_true.sum() + eps)
    return 1.0 - 2.0 * precision * sensitivity / (precision + sensitivity)


def make_loss(name: str):
    """Loss function by name; all take (logits, target) in float32."""
    bce = F.binary_cross_entropy_with_logits
    losses = {
        "bce_dice": lambda lo, t: bce(lo, t) + soft_dice(lo, t),
        "bce": bce,
        "dice": soft_dice,
        "focal_dice": lambda lo, t: 10.0 * focal(lo, t) + soft_dice(lo, t),
        "tversky": tversky,
        "bce_dice_cldice": lambda lo, t: bce(lo, t) + soft_dice(lo, t) + cldice(lo, t),
    }
    if name not in losses:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(losses)}")
    return losses[name]
