"""Augmentations applied identically to an image and its mask (numpy + OpenCV).

Geometric steps move image and mask together (nearest-neighbour for the mask, so labels
stay 0/1); photometric steps touch the image only.
"""

from __future__ import annotations

import cv2
import numpy as np


def pad_to(image: np.ndarray, mask: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Reflect-pad image and mask alike (labels follow their pixels) to at least size x size."""
    h, w = mask.shape
    ph, pw = max(0, size - h), max(0, size - w)
    if not ph and not pw:
        return image, mask
    pads = ((ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2))
    image = np.pad(image, (*pads, (0, 0)), mode="reflect")
    mask = np.pad(mask, pads, mode="reflect")
    return image, mask


def random_crop(
    image: np.ndarray, mask: np.ndarray, size: int, rng: np.random.Generator, scale: bool
) -> tuple[np.ndarray, np.ndarray]:
    """A size x size crop; with `scale`, from a region 0.75..1.33 x size, resized to size."""
    src = size
    if scale:
        src = round(size * float(np.exp(rng.uniform(np.log(0.75), np.log(1.333)))))
    image, mask = pad_to(image, mask, src)
    h, w = mask.shape
    y = int(rng.integers(0, h - src + 1))
    x = int(rng.integers(0, w - src + 1))
    image = image[y : y + src, x : x + src]
    mask = mask[y : y + src, x : x + src]
    if src != size:
        image = cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR)
        mask = cv2.resize(mask, (size, size), interpolation=cv2.INTER_NEAREST)
    return image, mask


def flip_rotate(
    image: np.ndarray, mask: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Random horizontal/vertical flip and 90-degree rotation (the 8 symmetries of a square)."""
    if rng.random() < 0.5:
        image, mask = image[:, ::-1], mask[:, ::-1]
    if rng.random() < 0.5:
        image, mask = image[::-1], mask[::-1]
    k = int(rng.integers(0, 4))
    if k:
        image, mask = np.rot90(image, k), np.rot90(mask, k)
    return np.ascontiguousarray(image), np.ascontiguousarray(mask)


def photometric(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Brightness, contrast and gamma jitter, sometimes blur, sometimes Gaussian noise."""
    img = image.astype(np.float32) / 255.0
    contrast = rng.uniform(0.75, 1.25)
    brightness = rng.uniform(-0.12, 0.12)
    img = (img - img.mean()) * contrast + img.mean() + brightness
    img = np.clip(img, 0.0, 1.0) ** float(np.exp(rng.uniform(np.log(0.7), np.log(1.4))))
    if rng.random() < 0.2:
        img = cv2.GaussianBlur(img, (0, 0), sigmaX=float(rng.uniform(0.3, 1.2)))
    if rng.random() < 0.2:
        img = img + rng.normal(0.0, rng.uniform(0.01, 0.04), img.shape).astype(np.float32)
    return (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def augment_pair(
    image: np.ndarray, mask: np.ndarray, size: int, rng: np.random.Generator, enabled: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """One training sample: always a crop of `size`; with `enabled`, every augmentation."""
    image, mask = random_crop(image, mask, size, rng, scale=enabled)
    if enabled:
        image, mask = flip_rotate(image, mask, rng)
        image = photometric(image, rng)
    return image, mask
