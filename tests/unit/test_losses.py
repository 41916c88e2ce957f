"""The training losses on drawn cracks: they must rank a prediction that misses a thin crack
below one that finds it, and the centreline term must see thin cracks as much as wide ones."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from training.config import LOSSES
from training.losses import cldice, make_loss, soft_dice, soft_skeleton


def _crack(width: int, rows: slice = slice(None)) -> torch.Tensor:
    """A (1, 1, 64, 64) mask with one horizontal crack `width` px wide across `rows`' columns."""
    mask = torch.zeros(1, 1, 64, 64)
    top = 32 - width // 2
    mask[0, 0, top : top + width, rows] = 1.0
    return mask


def _logits(mask: torch.Tensor) -> torch.Tensor:
    return (mask * 2.0 - 1.0) * 8.0  # confident: sigmoid 0.9997 on the crack, 0.0003 off it


def test_soft_skeleton_of_a_wide_crack_is_a_thin_line_on_its_centre() -> None:
    skeleton = soft_skeleton(_crack(7)).numpy()[0, 0]
    rows = np.nonzero(skeleton[:, 20:44].max(axis=1) > 0.5)[0]
    assert len(rows) <= 2 and all(abs(r - 32) <= 1 for r in rows)
    assert skeleton[:, 20:44].max() <= 1.0 + 1e-6


def test_cldice_is_near_zero_for_a_perfect_prediction_and_high_for_a_miss() -> None:
    truth = _crack(3)
    assert float(cldice(_logits(truth), truth)) < 0.01
    assert float(cldice(_logits(torch.zeros_like(truth)), truth)) > 0.9


def test_cldice_charges_a_missed_thin_crack_as_much_as_a_missed_wide_one() -> None:
    """Two cracks in one batch, 1 px and 9 px wide; missing either costs alike in clDice,
    while Dice (pixel overlap) barely notices the thin one."""
    thin, wide = _crack(1), _crack(9)
    truth = torch.cat([thin, wide])
    miss_thin = torch.cat([torch.zeros_like(thin), wide])
    miss_wide = torch.cat([thin, torch.zeros_like(wide)])
    cl_thin, cl_wide = (float(cldice(_logits(p), truth)) for p in (miss_thin, miss_wide))
    dice_thin, dice_wide = (float(soft_dice(_logits(p), truth)) for p in (miss_thin, miss_wide))
    assert dice_thin < 0.1 < dice_wide  # pixel overlap: the thin crack is ~10 % of the pixels
    assert cl_thin > 0.3 and cl_thin > 0.5 * cl_wide


def test_cldice_gradient_pushes_up_the_missed_segment() -> None:
    truth = _crack(3)
    logits = _logits(_crack(3, slice(0, 32))).requires_grad_(True)  # left half found
    cldice(logits, truth).backward()
    assert logits.grad is not None
    on_missed = logits.grad[0, 0, 31:34, 36:60]
    assert float(on_missed.mean()) < 0  # descent raises the logits where the crack was missed


@pytest.mark.parametrize("name", LOSSES)
def test_every_named_loss_ranks_a_found_crack_below_a_missed_one(name: str) -> None:
    loss = make_loss(name)
    truth = torch.cat([_crack(3), torch.zeros(1, 1, 64, 64)])  # one crack crop, one crack-free
    found, missed = _logits(truth), _logits(torch.zeros_like(truth))
    assert float(loss(found, truth)) < float(loss(missed, truth))
    assert torch.isfinite(loss(found, truth))


def test_unknown_loss_names_the_choices() -> None:
    with pytest.raises(ValueError, match="bce_dice_cldice"):
        make_loss("l2")
