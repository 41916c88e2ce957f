"""Edited masks as lossless 1-bit PNG, full resolution.

A 20-megapixel mask takes about 0.1-0.2 s to encode on one CPU core, so the store encodes
off the caller's thread (see store.InspectionStore.save_mask).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def encode_mask(mask: np.ndarray) -> bytes:
    """PNG bytes (mode '1') of a boolean mask (H, W)."""
    if mask.ndim != 2:
        raise ValueError(f"a mask must be two-dimensional, got shape {mask.shape}")
    h, w = mask.shape
    bits = np.packbits(np.asarray(mask, dtype=bool), axis=1)
    img = Image.frombytes("1", (w, h), bits.tobytes())
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def decode_mask(data: bytes) -> np.ndarray:
    """The boolean mask of PNG bytes written by `encode_mask` (any PNG: non-zero is crack)."""
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        if img.mode == "1":
            return np.array(img, dtype=bool)
        return np.asarray(img.convert("L")) > 0
