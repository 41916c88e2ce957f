"""Training checkpoints: written atomically every epoch, so a kill (even -9) loses at most
the epoch in progress, and `--resume` continues from the last complete one.

Checkpoints are our own files; they are still loaded with `weights_only=True`, so a
checkpoint can never run code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from crackinspector.core.io.atomic import atomic_path

LAST = "last.pt"
BEST = "best.pt"


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: Path) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=True)
