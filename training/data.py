"""Training data: pairs loaded into memory, split, and sampled as augmented crops.

Pairing and checking live in crackinspector.core.io.pairing (shared with evaluate), which
pairs are used in training.plan (shared with the GUI wizard).
"""

from __future__ import annotations

import numpy as np
import torch

from crackinspector.core.io import pairing
from crackinspector.core.io.pairing import DataError, Pair

__all__ = ["CrackDataset", "DataError", "Pair", "epoch_order", "load_pair", "to_tensor"]

from .augment import augment_pair


def load_pair(pair: Pair) -> tuple[np.ndarray, np.ndarray]:
    """Image RGB uint8 (EXIF orientation applied) and mask uint8 0/1, as read for training;
    a CrackInspectorError naming the file when the pair cannot be used."""
    image, mask = pairing.load_pair(pair)
    return image, mask.astype(np.uint8)


def to_tensor(image: np.ndarray, mean: np.ndarray, std: np.ndarray) -> torch.Tensor:
    """HxWx3 uint8 -> 3xHxW float32, normalised."""
    x = (image.astype(np.float32) / 255.0 - mean) / std
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))


class CrackDataset(torch.utils.data.Dataset):
    """Random crops from preloaded pairs, deterministic per (seed, epoch, index).

    Each sample's randomness comes from its own generator seeded by the run seed, the epoch
    and the sample index, so a resumed run or a run with data-loader workers draws exactly
    the same crops as an uninterrupted one.
    """

    def __init__(
        self,
        samples: list[tuple[np.ndarray, np.ndarray]],
        crop_size: int,
        augment: bool,
        mean: tuple[float, ...],
        std: tuple[float, ...],
        seed: int = 0,
    ) -> None:
        self.samples = samples
        self.crop_size = crop_size
        self.augment = augment
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)
        self.seed = seed
        self.epoch = 0
        self.order = np.arange(len(samples))

    def set_epoch(self, epoch: int, order: np.ndarray) -> None:
        self.epoch = epoch
        self.order = order

    def __len__(self) -> int:
        return len(self.order)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([self.seed, self.epoch, index])
        image, mask = self.samples[int(self.order[index])]
        image, mask = augment_pair(image, mask, self.crop_size, rng, self.augment)
        return to_tensor(image, self.mean, self.std), torch.from_numpy(
            mask.astype(np.float32)
        ).unsqueeze(0)


def epoch_order(weights: np.ndarray, samples_per_epoch: int, seed: int, epoch: int) -> np.ndarray:
    """Indices of the samples an epoch visits: a weighted draw when any weight differs from 1
    or a fixed epoch size is asked, else a plain permutation."""
    rng = np.random.default_rng([seed, epoch, 7919])
    n = len(weights)
    if samples_per_epoch <= 0 and np.allclose(weights, 1.0):
        return rng.permutation(n)
    size = samples_per_epoch if samples_per_epoch > 0 else n
    p = weights / weights.sum()
    return rng.choice(n, size=size, replace=True, p=p)
