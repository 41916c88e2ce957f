"""Editing a crack mask at the photo's native resolution, with undo and redo.

`MaskEditor` holds the model's mask and the edited one (bool, full resolution). Every tool
touches only the bounding rectangle of what it changes, so a brush dab on a 20-megapixel
photo costs as much as on a small one. Coordinates are image pixels as a viewer maps them:
pixel (col, row) covers [col, col + 1) x [row, row + 1); a tool covers the pixels whose
centres it covers.

Undo: each edit keeps, for every 256 x 256 tile it changed, the tile's before and after
(bit-packed: 8 pixels a byte). The history is capped in bytes (`max_undo_bytes`); the
oldest edits are forgotten first. Tools return the changed `Rect` (None: nothing changed)
for the caller to repaint and re-analyse.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

TILE = 256
DEFAULT_UNDO_BYTES = 64 * 1024 * 1024
MIN_RADIUS = 0.71  # a dab always covers the pixel under it (a corner is 0.707 from its centre)

Point = tuple[float, float]


@dataclass(frozen=True)
class Rect:
    """Pixel rectangle [x0, x1) x [y0, y1)."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    def union(self, other: Rect | None) -> Rect:
        if other is None:
            return self
        return Rect(
            min(self.x0, other.x0),
            min(self.y0, other.y0),
            max(self.x1, other.x1),
            max(self.y1, other.y1),
        )

    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)


def _union(a: Rect | None, b: Rect | None) -> Rect | None:
    if a is None:
        return b
    return a.union(b)


@dataclass(frozen=True)
class _Patch:
    y0: int
    x0: int
    h: int
    w: int
    before: np.ndarray  # packbits along rows
    after: np.ndarray

    @property
    def nbytes(self) -> int:
        return int(self.before.nbytes + self.after.nbytes)

    def rect(self) -> Rect:
        return Rect(self.x0, self.y0, self.x0 + self.w, self.y0 + self.h)

    def apply(self, mask: np.ndarray, which: np.ndarray) -> None:
        bits = np.unpackbits(which, axis=1, count=self.w).astype(bool)
        mask[self.y0 : self.y0 + self.h, self.x0 : self.x0 + self.w] = bits


@dataclass(frozen=True)
class _Edit:
    label: str
    patches: tuple[_Patch, ...]
    rect: Rect  # what the tool touched (within the patches' tiles)

    @property
    def nbytes(self) -> int:
        return sum(p.nbytes for p in self.patches)


class _Snapshot:
    """The before-state of every tile an edit touches, taken just before it is touched."""

    def __init__(self, mask: np.ndarray) -> None:
        self.mask = mask
        self.before: dict[tuple[int, int], np.ndarray] = {}

    def touch(self, rect: Rect) -> None:
        for ty in range(rect.y0 // TILE, (rect.y1 - 1) // TILE + 1):
            for tx in range(rect.x0 // TILE, (rect.x1 - 1) // TILE + 1):
                if (ty, tx) not in self.before:
                    self.before[ty, tx] = self._tile(ty, tx).copy()

    def _tile(self, ty: int, tx: int) -> np.ndarray:
        return self.mask[ty * TILE : (ty + 1) * TILE, tx * TILE : (tx + 1) * TILE]

    def finish(self, label: str, rect: Rect | None) -> _Edit | None:
        patches = []
        for (ty, tx), before in sorted(self.before.items()):
            after = self._tile(ty, tx)
            if np.array_equal(before, after):
                continue
            h, w = before.shape
            patches.append(
                _Patch(
                    ty * TILE,
                    tx * TILE,
                    h,
                    w,
                    np.packbits(before, axis=1),
                    np.packbits(after, axis=1),
                )
            )
        if not patches or rect is None:
            return None
        return _Edit(label, tuple(patches), rect)


def _clip_rect(x0: float, y0: float, x1: float, y1: float, w: int, h: int) -> Rect | None:
    """Pixels whose centres lie in [x0, x1] x [y0, y1], clipped to the image."""
    c0 = max(0, math.ceil(x0 - 0.5))
    c1 = min(w, math.floor(x1 - 0.5) + 1)
    r0 = max(0, math.ceil(y0 - 0.5))
    r1 = min(h, math.floor(y1 - 0.5) + 1)
    if c0 >= c1 or r0 >= r1:
        return None
    return Rect(c0, r0, c1, r1)


def capsule(rect: Rect, a: Point, b: Point, radius: float) -> np.ndarray:
    """Pixels of `rect` whose centres are within `radius` of the segment a-b."""
    xs = np.arange(rect.x0, rect.x1, dtype=np.float32) + np.float32(0.5 - a[0])
    ys = np.arange(rect.y0, rect.y1, dtype=np.float32) + np.float32(0.5 - a[1])
    px, py = xs[None, :], ys[:, None]
    dx, dy = np.float32(b[0] - a[0]), np.float32(b[1] - a[1])
    length2 = float(dx * dx + dy * dy)
    if length2 == 0.0:
        d2 = px * px + py * py
    else:
        t = np.clip((px * dx + py * dy) / np.float32(length2), 0.0, 1.0)
        ex, ey = px - t * dx, py - t * dy
        d2 = ex * ex + ey * ey
    return d2 <= np.float32(radius * radius)


def polygon_fill(rect: Rect, polygon: np.ndarray) -> np.ndarray:
    """Pixels of `rect` whose centres are inside `polygon` (N x 2, x y), even-odd rule."""
    h, w = rect.height, rect.width
    xa, ya = polygon[:, 0], polygon[:, 1]
    xb, yb = np.roll(xa, -1), np.roll(ya, -1)
    yc = (np.arange(rect.y0, rect.y1, dtype=np.float64) + 0.5)[:, None]
    crosses = (ya <= yc) != (yb <= yc)  # half-open: a vertex is counted once
    rows, edges = np.nonzero(crosses)
    if rows.size == 0:
        return np.zeros((h, w), bool)
    y = yc[rows, 0]
    xi = xa[edges] + (y - ya[edges]) * (xb[edges] - xa[edges]) / (yb[edges] - ya[edges])
    # every crossing flips inside/outside for the pixels whose centres lie right of it
    first = np.clip(np.floor(xi - 0.5).astype(np.int64) + 1 - rect.x0, 0, w)
    flips = np.zeros((h, w + 1), np.int32)
    np.add.at(flips, (rows, first), 1)
    return (np.cumsum(flips[:, :w], axis=1) & 1).astype(bool)


class MaskEditor:
    """The mask of one photo being reviewed: the model's, the edited one, and the history."""

    def __init__(
        self,
        model_mask: np.ndarray,
        edited: np.ndarray | None = None,
        max_undo_bytes: int = DEFAULT_UNDO_BYTES,
    ) -> None:
        model = np.ascontiguousarray(model_mask, dtype=bool)
        if model.ndim != 2:
            raise ValueError(f"a mask must be two-dimensional, got shape {model.shape}")
        self.model = model
        if edited is not None and edited.shape != model.shape:
            raise ValueError(f"edited mask {edited.shape} does not match the photo {model.shape}")
        self.mask = np.array(edited if edited is not None else model, dtype=bool, copy=True)
        self.max_undo_bytes = int(max_undo_bytes)
        self.version = 0  # +1 on every change, undo and redo included
        self.history_truncated = False  # some edits can no longer be undone
        self._undo: list[_Edit] = []
        self._redo: list[_Edit] = []
        self._stroke: _Snapshot | None = None
        self._stroke_last: Point | None = None
        self._stroke_radius = 0.0
        self._stroke_value = True
        self._stroke_rect: Rect | None = None
        self._stroke_label = ""
        self._edited_at: tuple[int, bool] | None = None

    # ------------------------------------------------------------------ state
    @property
    def shape(self) -> tuple[int, int]:
        h, w = self.mask.shape
        return h, w

    @property
    def edited(self) -> bool:
        """The mask differs from the model's."""
        if self._edited_at is None or self._edited_at[0] != self.version:
            self._edited_at = (self.version, not np.array_equal(self.mask, self.model))
        return self._edited_at[1]

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_label(self) -> str:
        return self._undo[-1].label if self._undo else ""

    @property
    def history_bytes(self) -> int:
        return sum(e.nbytes for e in self._undo) + sum(e.nbytes for e in self._redo)

    def set_model(self, model_mask: np.ndarray) -> bool:
        """A new model mask (another threshold or model). An unedited mask follows it and
        the history is cleared; an edited one is kept (only reset brings the model's back).
        Returns True when the shown mask changed."""
        model = np.ascontiguousarray(model_mask, dtype=bool)
        if model.shape != self.model.shape:
            raise ValueError(f"model mask {model.shape} does not match the photo {self.shape}")
        was_edited = self.edited
        self.model = model
        if was_edited:
            self._edited_at = None
            return False
        self.mask = model.copy()
        self._undo.clear()
        self._redo.clear()
        self.version += 1
        return True

    # ------------------------------------------------------------------ history
    def _push(self, edit: _Edit | None) -> Rect | None:
        if edit is None:
            return None
        self.version += 1
        self._redo.clear()
        self._undo.append(edit)
        total = self.history_bytes
        while total > self.max_undo_bytes and self._undo:
            total -= self._undo.pop(0).nbytes
            self.history_truncated = True
        return edit.rect

    def undo(self) -> Rect | None:
        """Take back the last edit; returns the rectangle that changed (None: nothing)."""
        if self._stroke is not None:
            self.end_stroke()
        if not self._undo:
            return None
        edit = self._undo.pop()
        for p in edit.patches:
            p.apply(self.mask, p.before)
        self._redo.append(edit)
        self.version += 1
        return edit.rect

    def redo(self) -> Rect | None:
        if not self._redo:
            return None
        edit = self._redo.pop()
        for p in edit.patches:
            p.apply(self.mask, p.after)
        self._undo.append(edit)
        self.version += 1
        return edit.rect

    # ------------------------------------------------------------------ brush / eraser
    def begin_stroke(self, point: Point, radius: float, erase: bool = False) -> Rect | None:
        """Start a brush (or, with erase, eraser) stroke with a dab at `point`."""
        if self._stroke is not None:
            self.end_stroke()
        self._stroke = _Snapshot(self.mask)
        self._stroke_radius = max(float(radius), MIN_RADIUS)
        self._stroke_value = not erase
        self._stroke_label = "eraser" if erase else "brush"
        self._stroke_rect = None
        self._stroke_last = (float(point[0]), float(point[1]))
        return self._paint(self._stroke_last, self._stroke_last)

    def extend_stroke(self, point: Point) -> Rect | None:
        """Continue the stroke to `point` (dabs all along the way); returns what to repaint."""
        if self._stroke is None or self._stroke_last is None:
            raise RuntimeError("extend_stroke without begin_stroke")
        p = (float(point[0]), float(point[1]))
        rect = self._paint(self._stroke_last, p)
        self._stroke_last = p
        return rect

    def end_stroke(self) -> Rect | None:
        """Finish the stroke as one undoable edit; returns the whole changed rectangle."""
        snap, self._stroke = self._stroke, None
        self._stroke_last = None
        if snap is None:
            return None
        return self._push(snap.finish(self._stroke_label, self._stroke_rect))

    def stroke(self, points: Sequence[Point], radius: float, erase: bool = False) -> Rect | None:
        """A whole stroke along a polyline in one call."""
        if not points:
            return None
        self.begin_stroke(points[0], radius, erase)
        for p in points[1:]:
            self.extend_stroke(p)
        return self.end_stroke()

    def _paint(self, a: Point, b: Point) -> Rect | None:
        assert self._stroke is not None
        r = self._stroke_radius
        h, w = self.shape
        length = math.hypot(b[0] - a[0], b[1] - a[1])
        # Long segments go in pieces so each piece's box stays small (work ~ length x r).
        pieces = max(1, math.ceil(length / max(2.0 * r, 8.0)))
        changed: Rect | None = None
        for i in range(pieces):
            p = (a[0] + (b[0] - a[0]) * i / pieces, a[1] + (b[1] - a[1]) * i / pieces)
            q = (
                a[0] + (b[0] - a[0]) * (i + 1) / pieces,
                a[1] + (b[1] - a[1]) * (i + 1) / pieces,
            )
            rect = _clip_rect(
                min(p[0], q[0]) - r, min(p[1], q[1]) - r, max(p[0], q[0]) + r,
                max(p[1], q[1]) + r, w, h,
            )  # fmt: skip
            if rect is None:
                continue
            hit = capsule(rect, p, q, r)
            self._stroke.touch(rect)
            region = self.mask[rect.slices()]
            if self._stroke_value:
                region |= hit
            else:
                region &= ~hit
            changed = _union(changed, rect)
        if changed is not None:
            self.version += 1
            self._stroke_rect = _union(self._stroke_rect, changed)
        return changed

    # ------------------------------------------------------------------ other tools
    def lasso(self, polygon: Sequence[Point], erase: bool = False) -> Rect | None:
        """Fill (or erase) the inside of a closed polygon in one undoable edit."""
        poly = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
        if len(poly) < 3:
            return None
        h, w = self.shape
        x0, y0 = poly.min(axis=0)
        x1, y1 = poly.max(axis=0)
        rect = _clip_rect(float(x0), float(y0), float(x1), float(y1), w, h)
        if rect is None:
            return None
        inside = polygon_fill(rect, poly)
        snap = _Snapshot(self.mask)
        snap.touch(rect)
        region = self.mask[rect.slices()]
        if erase:
            region &= ~inside
        else:
            region |= inside
        return self._push(snap.finish("lasso erase" if erase else "lasso fill", rect))

    def crack_at(self, point: Point, tolerance: float = 4.0) -> tuple[int, int] | None:
        """(row, col) of the crack pixel under `point`, or the nearest within `tolerance`."""
        h, w = self.shape
        col, row = math.floor(point[0]), math.floor(point[1])
        if 0 <= row < h and 0 <= col < w and self.mask[row, col]:
            return row, col
        rect = _clip_rect(
            point[0] - tolerance, point[1] - tolerance, point[0] + tolerance,
            point[1] + tolerance, w, h,
        )  # fmt: skip
        if rect is None:
            return None
        rows, cols = np.nonzero(self.mask[rect.slices()])
        if rows.size == 0:
            return None
        d2 = (cols + rect.x0 + 0.5 - point[0]) ** 2 + (rows + rect.y0 + 0.5 - point[1]) ** 2
        i = int(np.argmin(d2))
        if d2[i] > tolerance * tolerance:
            return None
        return int(rows[i] + rect.y0), int(cols[i] + rect.x0)

    def delete_crack(self, point: Point, tolerance: float = 4.0) -> Rect | None:
        """Remove the whole crack (8-connected, as the measurement counts cracks) under
        `point` or nearest to it within `tolerance` pixels."""
        seed = self.crack_at(point, tolerance)
        if seed is None:
            return None
        rect, region = self._component(seed)
        snap = _Snapshot(self.mask)
        snap.touch(rect)
        self.mask[rect.slices()] &= ~region
        return self._push(snap.finish("delete crack", rect))

    def _component(self, seed: tuple[int, int]) -> tuple[Rect, np.ndarray]:
        """Bounding rectangle and pixels of the 8-connected crack through `seed`.

        Flood-fills a window around the seed, doubling it while the crack reaches its
        edge, so a short crack on a 20-megapixel mask costs what it would on a small one.
        """
        h, w = self.shape
        half = 512
        flags = 8 | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (1 << 8)
        while True:
            win = Rect(
                max(0, seed[1] - half), max(0, seed[0] - half),
                min(w, seed[1] + half), min(h, seed[0] + half),
            )  # fmt: skip
            image = np.ascontiguousarray(self.mask[win.slices()]).view(np.uint8)
            fill = np.zeros((win.height + 2, win.width + 2), np.uint8)
            seed_xy = (seed[1] - win.x0, seed[0] - win.y0)
            _, _, _, (x, y, fw, fh) = cv2.floodFill(image, fill, seed_xy, 1, 0, 0, flags)
            touches = (
                (x == 0 and win.x0 > 0)
                or (y == 0 and win.y0 > 0)
                or (x + fw == win.width and win.x1 < w)
                or (y + fh == win.height and win.y1 < h)
            )
            if not touches:
                rect = Rect(win.x0 + x, win.y0 + y, win.x0 + x + fw, win.y0 + y + fh)
                return rect, fill[y + 1 : y + 1 + fh, x + 1 : x + 1 + fw].astype(bool)
            half *= 2

    def reset(self) -> Rect | None:
        """Back to the model's mask, as one undoable edit."""
        diff = self.mask != self.model
        rows = np.flatnonzero(diff.any(axis=1))
        if rows.size == 0:
            return None
        cols = np.flatnonzero(diff[rows[0] : rows[-1] + 1].any(axis=0))
        rect = Rect(int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
        snap = _Snapshot(self.mask)
        snap.touch(rect)
        self.mask[rect.slices()] = self.model[rect.slices()]
        return self._push(snap.finish("reset to model", rect))
