"""Where tiles go on a photo and how their predictions are blended back together.

A network sees a photo in overlapping tiles of the size it was trained on, at native
resolution (thin cracks vanish when a photo is shrunk). Each tile's prediction is weighted by
a separable window that is 1 in the middle and falls smoothly (raised cosine) towards the
edges, where a CNN sees least context, down to a small floor so that image borders, covered
by one tile only, still count. Because the tiles form a regular grid and the window is
separable, the sum of weights is separable too: the normalisation is folded into per-row and
per-column factors, so blending needs no full-size weight image; the output map itself is the
only full-size accumulator.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

ALIGN = 32  # U-Net with five down-samplings needs sides divisible by 2**5
WINDOW_FLOOR = 0.02


def round_up(n: int, multiple: int = ALIGN) -> int:
    return -(-int(n) // multiple) * multiple


def tile_starts(length: int, tile: int, stride: int) -> list[int]:
    """Starts of tiles covering [0, length); the last tile ends flush with the edge."""
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, stride))
    starts.append(length - tile)
    return starts


def blend_window(size: int, ramp: int, floor: float = WINDOW_FLOOR) -> np.ndarray:
    """1-D weights: `floor` at the ends, raised-cosine ramps of `ramp` pixels, 1 in between."""
    w = np.ones(size, np.float64)
    ramp = min(ramp, size // 2)
    if ramp > 0:
        t = (np.arange(ramp) + 0.5) / ramp
        edge = floor + (1.0 - floor) * 0.5 * (1.0 - np.cos(np.pi * t))
        w[:ramp] = edge
        w[size - ramp :] = edge[::-1]
    return w


def _axis_factors(length: int, tile: int, starts: list[int], ramp: int) -> list[np.ndarray]:
    """Per tile start, the window already divided by the total weight at each pixel,
    cropped to the image (a tile may reach past a short side, which is reflect-padded)."""
    window = blend_window(tile, ramp) if len(starts) > 1 else np.ones(tile)
    total = np.zeros(length, np.float64)
    for s in starts:
        end = min(s + tile, length)
        total[s:end] += window[: end - s]
    factors = []
    for s in starts:
        end = min(s + tile, length)
        factors.append((window[: end - s] / total[s:end]).astype(np.float32))
    return factors


@dataclass(frozen=True)
class TileGrid:
    """A regular grid of tiles over an image of `height` x `width`."""

    height: int
    width: int
    tile_h: int
    tile_w: int
    ys: tuple[int, ...]
    xs: tuple[int, ...]
    fy: tuple[np.ndarray, ...]  # normalised row weights per row start
    fx: tuple[np.ndarray, ...]  # normalised column weights per column start

    @property
    def total(self) -> int:
        return len(self.ys) * len(self.xs)

    def positions(self) -> Iterator[tuple[int, int]]:
        """(row index, column index) of each tile, in horizontal bands from the top."""
        for i in range(len(self.ys)):
            for j in range(len(self.xs)):
                yield i, j


def fitted_side(length: int, tile: int, overlap: int) -> int:
    """The smallest tile side (a multiple of 32, at most `tile`) that covers `length` with as
    many tiles as `tile` itself needs: the same number of forward passes, fewer pixels.

    E.g. 3000 px with 1024 px tiles overlapping by 64 needs 4 tiles; 800 px tiles do it too
    (4 x 800 - 3 x 64 >= 3000), a third fewer pixels than 1024 px tiles.
    """
    if length <= tile:
        return min(tile, round_up(length))
    n = len(tile_starts(length, tile, tile - overlap))
    side = round_up(-(-(length + (n - 1) * overlap) // n))
    return max(min(side, tile), overlap + ALIGN)


def plan_tiles(
    height: int, width: int, tile: int, overlap: int | None = None, fit: bool = False
) -> TileGrid:
    """The grid for an image: tiles of `tile` (a multiple of 32) overlapping by `overlap`
    (default a quarter tile). A side shorter than a tile gets one tile of that side rounded up
    to a multiple of 32, not a whole tile: small images cost what they need. With `fit`, each
    side's tile shrinks to the smallest that needs no more tiles (`fitted_side`), so a photo
    that is not a multiple of the stride is not overpaid for with a nearly redundant last
    row or column; every overlap stays at least `overlap`."""
    if height < 1 or width < 1:
        raise ValueError(f"empty image ({width} x {height})")
    tile = max(ALIGN, (int(tile) // ALIGN) * ALIGN)
    overlap = tile // 4 if overlap is None else max(0, min(int(overlap), tile - ALIGN))
    if fit:
        tile_h, tile_w = fitted_side(height, tile, overlap), fitted_side(width, tile, overlap)
    else:
        tile_h, tile_w = min(tile, round_up(height)), min(tile, round_up(width))
    return _grid(height, width, tile_h, tile_w, overlap)


def _grid(height: int, width: int, tile_h: int, tile_w: int, overlap: int) -> TileGrid:
    stride_h, stride_w = tile_h - overlap, tile_w - overlap
    ys = tile_starts(height, tile_h, stride_h)
    xs = tile_starts(width, tile_w, stride_w)
    return TileGrid(
        height,
        width,
        tile_h,
        tile_w,
        tuple(ys),
        tuple(xs),
        tuple(_axis_factors(height, tile_h, ys, overlap)),
        tuple(_axis_factors(width, tile_w, xs, overlap)),
    )


def extract_tile(image: np.ndarray, y: int, x: int, tile_h: int, tile_w: int) -> np.ndarray:
    """image[y:y+tile_h, x:x+tile_w], reflect-padded where it reaches past the image."""
    patch = image[y : y + tile_h, x : x + tile_w]
    ph, pw = patch.shape[:2]
    if (ph, pw) == (tile_h, tile_w):
        return patch
    pad = ((0, tile_h - ph), (0, tile_w - pw)) + ((0, 0),) * (image.ndim - 2)
    return np.pad(patch, pad, mode="reflect" if min(ph, pw) > 1 else "edge")


def accumulate(out: np.ndarray, grid: TileGrid, i: int, j: int, prob: np.ndarray) -> None:
    """Add tile (i, j)'s weighted prediction into the output map, in place."""
    y, x = grid.ys[i], grid.xs[j]
    fy, fx = grid.fy[i], grid.fx[j]
    h, w = len(fy), len(fx)
    out[y : y + h, x : x + w] += prob[:h, :w] * fy[:, None] * fx[None, :]
