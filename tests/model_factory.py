"""The small untrained model that tests, the screenshot script and the GUI benchmark use.

Test-only: product code never builds models with random weights to hand to users.
"""

from __future__ import annotations

from pathlib import Path

import torch

from crackinspector.core.model.card import ModelCard
from crackinspector.core.model.registry import ModelInfo, build_model, save_model


def save_untrained_model(
    folder: str | Path,
    name: str = "tiny-resnet18",
    seed: int = 0,
    description: str = "randomly initialised; for tests, benchmarks and screenshots",
) -> ModelInfo:
    """A small, randomly initialised U-Net saved as a real model pair: it exercises every
    code path a trained model does (its maps are noise), in a fraction of the time."""
    torch.manual_seed(seed)
    card = ModelCard(
        name=name,
        encoder="resnet18",
        decoder_channels=(32, 16, 16, 8, 8),
        tile_size=128,
        description=description,
    )
    return save_model(build_model(card), card, folder, dtype=torch.float32)
