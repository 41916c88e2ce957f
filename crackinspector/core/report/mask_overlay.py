"""Cracks drawn over the photo: the picture people look at in the app, the CLI and reports."""

from __future__ import annotations

import numpy as np

CRACK_RED = (255, 0, 0)


def overlay(
    image: np.ndarray,
    mask: np.ndarray,
    color: tuple[int, int, int] = CRACK_RED,
    alpha: float = 0.5,
) -> np.ndarray:
    """RGB uint8 copy of `image` with the pixels of `mask` tinted towards `color`.

    Only crack pixels are blended (a few percent of a photo), so this stays cheap and needs
    no float copy of the whole photo, even for very large images.
    """
    image = np.asarray(image)
    mask = np.asarray(mask, dtype=bool)
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {image.dtype}")
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    image = image[..., :3]
    if mask.shape != image.shape[:2]:
        raise ValueError(f"mask {mask.shape} does not match image {image.shape[:2]}")
    alpha = float(np.clip(alpha, 0.0, 1.0))
    out = image.copy()
    picked = out[mask].astype(np.float32)
    tint = np.asarray(color, np.float32)[None, :]
    out[mask] = np.clip(picked * (1.0 - alpha) + tint * alpha + 0.5, 0, 255).astype(np.uint8)
    return out
