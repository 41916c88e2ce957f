"""Joining the pieces of a crack that the mask broke at small gaps.

A model (or a threshold) often breaks one crack into pieces where it fades for a few
pixels. Two pieces are one crack when a free end of one faces a free end of the other
across a gap of at most GAP_MAX_PX: the line joining the two end points is within
GAP_MAX_ANGLE_DEG of the outward direction of both ends. An end's outward direction is
from the mean of its piece's skeleton pixels within END_RADIUS px to the end point; ends
of pieces with fewer than END_MIN_PIXELS skeleton pixels there have no direction and are
never joined (specks stay specks). Each end joins at most one other, shortest gaps first,
and never two pieces that are already one crack (no loops).

The gap is measured between the pieces' last crack pixels, found by walking from each
skeleton end along its outward direction to the last mask pixel, minus one: two pieces with
one missing pixel between them have a 1-px gap. The crack's length gains the distance
between the two skeleton ends less the two tip extensions already counted (measure.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

GAP_MAX_PX = 5.0
GAP_MAX_ANGLE_DEG = 30.0
END_RADIUS = 6
END_MIN_PIXELS = 4


@dataclass(frozen=True)
class Bridge:
    """A joined gap: the two components (labels) and the skeleton end points it joins."""

    a: int
    b: int
    join_px: float  # length added to the crack: end to end, less the tip extensions
    gap_px: float  # missing crack pixels along the line


def end_directions(
    skel_labels: np.ndarray, ys: np.ndarray, xs: np.ndarray, radius: int = END_RADIUS
) -> tuple[np.ndarray, np.ndarray]:
    """(unit outward direction (n, 2) as (dx, dy), has-direction flags) of end points."""
    pad = np.pad(skel_labels, radius)
    dy, dx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    patch = pad[(ys + radius)[:, None, None] + dy, (xs + radius)[:, None, None] + dx]
    own = patch == skel_labels[ys, xs][:, None, None]
    n = own.sum((1, 2))
    mx = (own * dx).sum((1, 2)) / np.maximum(n, 1)
    my = (own * dy).sum((1, 2)) / np.maximum(n, 1)
    vec = -np.stack([mx, my], 1).astype(np.float64)  # from the mean towards the end
    norm = np.hypot(vec[:, 0], vec[:, 1])
    ok = (n >= END_MIN_PIXELS) & (norm > 0.5)
    return vec / np.maximum(norm, 1e-9)[:, None], ok


def _tip_reach(
    mask: np.ndarray, ys: np.ndarray, xs: np.ndarray, direction: np.ndarray, limit: np.ndarray
) -> np.ndarray:
    """Distance from each end point along its direction to the last mask pixel (<= limit)."""
    h, w = mask.shape
    reach = np.zeros(ys.size)
    going = np.ones(ys.size, bool)
    for step in np.arange(0.5, float(limit.max(initial=0.0)) + 0.5, 0.5):
        x = np.rint(xs + direction[:, 0] * step).astype(int)
        y = np.rint(ys + direction[:, 1] * step).astype(int)
        inside = (x >= 0) & (x < w) & (y >= 0) & (y < h) & (step <= limit)
        inside[inside] = mask[y[inside], x[inside]]
        going &= inside
        reach[going] = step
    return reach


def find_bridges(
    mask: np.ndarray,
    skel_labels: np.ndarray,
    ys: np.ndarray,
    xs: np.ndarray,
    extension: np.ndarray,
    n_labels: int,
    max_gap: float = GAP_MAX_PX,
    max_angle_deg: float = GAP_MAX_ANGLE_DEG,
) -> list[Bridge]:
    """Gaps to join between the free ends (ys, xs) of the skeleton of `mask`.

    `skel_labels`: component label at skeleton pixels, 0 elsewhere; `extension`: each end's
    tip extension as measure.py counts it (distance value - 1).
    """
    if ys.size < 2:
        return []
    direction, has_dir = end_directions(skel_labels, ys, xs)
    lab = skel_labels[ys, xs]
    tip = _tip_reach(mask, ys, xs, direction, 2.0 * extension + 4.0)
    reach = max_gap + 1.0 + 2.0 * float(tip.max(initial=0.0))
    cos_max = math.cos(math.radians(max_angle_deg))
    cell = max(math.ceil(reach), 1)
    buckets: dict[tuple[int, int], list[int]] = {}
    for i in np.flatnonzero(has_dir).tolist():
        buckets.setdefault((int(ys[i]) // cell, int(xs[i]) // cell), []).append(i)
    candidates: list[tuple[float, float, int, int]] = []
    for (cy, cx), members in buckets.items():
        near = [
            j for oy in (-1, 0, 1) for ox in (-1, 0, 1) for j in buckets.get((cy + oy, cx + ox), ())
        ]
        for i in members:
            for j in near:
                if j <= i or lab[i] == lab[j]:
                    continue
                v = np.array([xs[j] - xs[i], ys[j] - ys[i]], np.float64)
                span = float(np.hypot(v[0], v[1]))
                if span == 0:
                    continue
                u = v / span
                if u @ direction[i] < cos_max or -u @ direction[j] < cos_max:
                    continue
                ti = np.array([xs[i], ys[i]]) + direction[i] * tip[i]
                tj = np.array([xs[j], ys[j]]) + direction[j] * tip[j]
                gap = float(np.hypot(*(tj - ti))) - 1.0
                if gap > max_gap:
                    continue
                join = max(span - float(extension[i] + extension[j]), 0.0)
                candidates.append((max(gap, 0.0), join, i, j))
    candidates.sort()
    parent = list(range(n_labels))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    used: set[int] = set()
    bridges = []
    for gap, join, i, j in candidates:
        if i in used or j in used:
            continue
        ra, rb = root(int(lab[i])), root(int(lab[j]))
        if ra == rb:
            continue
        parent[rb] = ra
        used.update((i, j))
        bridges.append(Bridge(int(lab[i]), int(lab[j]), join, gap))
    return bridges


def group_labels(n_labels: int, bridges: list[Bridge]) -> np.ndarray:
    """Per component label (0..n_labels-1), the smallest label of its joined group."""
    parent = np.arange(n_labels)

    def root(k: int) -> int:
        while parent[k] != k:
            k = int(parent[k])
        return k

    for br in bridges:
        ra, rb = root(br.a), root(br.b)
        parent[max(ra, rb)] = min(ra, rb)
    return np.array([root(k) for k in range(n_labels)], np.int64)
