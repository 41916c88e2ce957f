"""Small previews of training pairs with the mask drawn in red (Qt-free), so a user sees
that masks and photos really belong together: a shifted or inverted mask shows at a glance."""

from __future__ import annotations

import numpy as np

from crackinspector.core.errors import CrackInspectorError
from crackinspector.core.io.pairing import Pair, load_pair

PREVIEWS = 4
THUMB_HEIGHT = 96
RED = (235, 30, 40)


def make_previews(pairs: list[Pair], height: int = THUMB_HEIGHT) -> list[tuple[str, np.ndarray]]:
    """(stem, RGB uint8 thumbnail) per readable pair, read as training reads it; thin cracks
    stay visible because the mask is grown to the thumbnail's pixel size before shrinking."""
    import cv2

    out = []
    for pair in pairs:
        try:
            image, mask = load_pair(pair)
        except CrackInspectorError:
            continue
        h, w = image.shape[:2]
        scale = height / h
        size = (max(1, round(w * scale)), height)
        thumb = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        k = max(1, round(1 / scale))
        grown = cv2.dilate(mask.astype(np.uint8), np.ones((k, k), np.uint8)) if k > 1 else mask
        small = cv2.resize(grown.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
        tinted = thumb.astype(np.float32)
        tinted[small] = 0.35 * tinted[small] + 0.65 * np.array(RED, np.float32)
        out.append((pair.stem, tinted.astype(np.uint8)))
    return out
