"""Training checkpoints: written atomically every epoch, so a kill (even -9) loses at most
the epoch in progress, and `--resume` continues from the last complete one.

Checkpoints are our own files; they are still loaded with `weights_only=True`, so a
checkpoint can never run code. A kill during a write leaves the temporary sibling
(`.last.*.part.pt`); `remove_partial_files` clears them when the next trainer starts.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import torch

from crackinspector.core.io.atomic import atomic_path
from crackinspector.core.io.pairing import DataError

LAST = "last.pt"
BEST = "best.pt"


class CheckpointError(DataError):
    """A checkpoint that cannot be loaded; the message names it."""


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """The state saved by `save_checkpoint`, or CheckpointError in one line saying why not."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: checkpoint not found") from None
    except Exception as exc:  # torch raises RuntimeError, UnpicklingError, EOFError, ...
        text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        reason = text or type(exc).__name__
        raise CheckpointError(f"{path}: not a readable checkpoint ({reason})") from None
    if not isinstance(state, dict) or "model" not in state or "epoch" not in state:
        raise CheckpointError(f"{path}: not a checkpoint written by crackinspector-train")
    return state


def remove_partial_files(run_dir: Path) -> list[Path]:
    """Delete the temporary files of writes a kill cut short (call with the run's lock)."""
    removed = []
    for path in run_dir.glob(".*.part*"):
        with contextlib.suppress(OSError):
            path.unlink()
            removed.append(path)
    return removed
