"""DistributedDataParallel set-up for `torchrun`: NCCL on GPUs, gloo on CPUs.

Every process reads its own shard of each epoch's samples and of the validation set; only
rank 0 writes files and events.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device_type: str) -> DistInfo:
    """Join the process group torchrun describes in the environment; single process if none."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    backend = "nccl" if device_type == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    info = DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))
    if device_type == "cuda":
        torch.cuda.set_device(info.local_rank)
    return info


def shard(order: np.ndarray, info: DistInfo) -> np.ndarray:
    """This process's share of an epoch; every process gets the same number of samples."""
    if not info.enabled:
        return order
    per = len(order) // info.world_size
    return order[info.rank :: info.world_size][:per]


def sum_across(values: np.ndarray, info: DistInfo) -> np.ndarray:
    """Element-wise sum over all processes (float64 so counts stay exact)."""
    if not info.enabled:
        return values
    t = torch.from_numpy(np.asarray(values, dtype=np.float64))
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.numpy()


def broadcast_flag(flag: bool, info: DistInfo) -> bool:
    """True on every process when rank 0 says so (used to stop all processes together)."""
    if not info.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], dtype=torch.float64)
    dist.broadcast(t, src=0)
    return bool(t.item())


def cleanup(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()
