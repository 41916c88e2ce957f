"""Skeletons of crack masks: thinning, clean-up, and the graph facts measurements need.

Why our own thinning and not scikit-image's `skeletonize` with `skan`'s skeleton graph:
measured with benchmarks/bench_width_skeleton.py (docs/BENCHMARKS.md, "Measurements"),
skan's branch lengths are Euclidean pixel steps, which make oblique and curved cracks up to
8 % too long (22.5 degrees: +7.8 %, an arc: +4.8 %, a Y: +3.2 %), where the direction-
corrected links here stay within 1 % on every shape. Speed was no reason to switch either:
on a 12 MP mask the two took 6.0 s and 5.6 s (per CrackForest mask 136 vs 44 ms, on a
shared 2-core machine under load 17), and skan brings numba, llvmlite, pandas, SciPy and
matplotlib (about 440 MB) into a desktop app. OpenCV's `ximgproc.thinning` lives only in
the contrib wheels. Zhang-Suen thinning is short, and done with a 256-entry lookup table
on the list of foreground pixels it costs time in proportion to the crack pixels, not to
the photo size.

Pipeline (`skeletonize`):
1. Zhang & Suen (CACM 27(3), 1984) two-sub-iteration thinning, plus a guarantee that every
   connected component keeps at least one pixel (plain Zhang-Suen erases 2x2 blocks).
2. Removal of redundant "staircase" pixels: Zhang-Suen leaves L-shaped corners where a
   diagonal step would do; they would make a 45-degree crack measure 2 instead of sqrt(2)
   per step. Simple points (removal keeps 8-connected topology) that are not end points
   are deleted in four interleaved passes, so no two neighbours go in the same pass.
3. Spur pruning: end branches shorter than the crack's local width at the junction they
   hang from are boundary noise of thick strokes, not side cracks (`prune_spurs`).
"""

from __future__ import annotations

import cv2
import numpy as np

# Neighbour order P2..P9 of Zhang & Suen: N, NE, E, SE, S, SW, W, NW as (dy, dx).
_OFFSETS = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))


def _bits(code: int) -> list[int]:
    return [(code >> i) & 1 for i in range(8)]


def _zhang_suen_luts() -> tuple[np.ndarray, np.ndarray]:
    first = np.zeros(256, bool)
    second = np.zeros(256, bool)
    for code in range(256):
        p = _bits(code)  # p[0]=P2 ... p[7]=P9
        b = sum(p)
        a = sum(1 for i in range(8) if p[i] == 0 and p[(i + 1) % 8] == 1)
        if not (2 <= b <= 6 and a == 1):
            continue
        p2, _p3, p4, _p5, p6, _p7, p8, _p9 = p
        first[code] = p2 * p4 * p6 == 0 and p4 * p6 * p8 == 0
        second[code] = p2 * p4 * p8 == 0 and p2 * p6 * p8 == 0
    return first, second


def _components(cells: set[tuple[int, int]], steps: tuple[tuple[int, int], ...]) -> list[set]:
    groups: list[set] = []
    todo = set(cells)
    while todo:
        stack = [todo.pop()]
        group = set(stack)
        while stack:
            y, x = stack.pop()
            for dy, dx in steps:
                q = (y + dy, x + dx)
                if q in todo:
                    todo.remove(q)
                    group.add(q)
                    stack.append(q)
        groups.append(group)
    return groups


_STEPS8 = tuple(o for o in _OFFSETS)
_STEPS4 = ((-1, 0), (0, 1), (1, 0), (0, -1))


def _removable_lut() -> np.ndarray:
    """Codes of non-end pixels whose deletion keeps the 8-connected topology (simple points)."""
    lut = np.zeros(256, bool)
    for code in range(256):
        p = _bits(code)
        if sum(p) < 2:
            continue  # end points and isolated pixels stay: they carry length
        fg = {_OFFSETS[i] for i in range(8) if p[i]}
        bg = {_OFFSETS[i] for i in range(8) if not p[i]}
        if len(_components(fg, _STEPS8)) != 1:
            continue
        # background: 4-components (inside the 3x3 ring) that touch a 4-neighbour of the centre
        touching = [g for g in _components(bg, _STEPS4) if g & set(_STEPS4)]
        lut[code] = len(touching) == 1
    return lut


def _edge_lut() -> np.ndarray:
    """Length of the links a pixel starts, by neighbour code (see `edge_lengths`)."""
    lut = np.zeros(256)
    for code in range(256):
        p = _bits(code)  # N, NE, E, SE, S, SW, W, NW
        n_e, n_se, n_s, n_sw, n_w = p[2], p[3], p[4], p[5], p[6]
        lut[code] = n_e + n_s + np.sqrt(2.0) * (n_se and not n_e and not n_s)
        lut[code] += np.sqrt(2.0) * (n_sw and not n_w and not n_s)
    return lut


_ZS_FIRST, _ZS_SECOND = _zhang_suen_luts()
_REMOVABLE = _removable_lut()
_EDGES = _edge_lut()
_POPCOUNT = np.array([bin(c).count("1") for c in range(256)], np.int8)


def _codes(img: np.ndarray, flat: np.ndarray, width: int) -> np.ndarray:
    """Zhang-Suen neighbour codes of the pixels at flat indices of a zero-padded uint8 image."""
    ravel = img.ravel()
    code = np.zeros(flat.shape, np.uint8)
    for bit, (dy, dx) in enumerate(_OFFSETS):
        code |= ravel[flat + dy * width + dx] << bit
    return code


def thin(mask: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
    """Zhang-Suen thinning of a boolean mask; every 8-connected component keeps >= 1 pixel.

    Only contour pixels can be deleted, so each sub-iteration looks at the current contour
    (pixels next to background) instead of every crack pixel: the total cost follows the
    crack area even for thick blobs, which would otherwise need area x half-width steps.
    """
    mask = np.asarray(mask, bool)
    h, w = mask.shape
    img = np.zeros((h + 2, w + 2), np.uint8)
    img[1:-1, 1:-1] = mask
    width = w + 2
    ravel = img.ravel()
    offsets = np.array([dy * width + dx for dy, dx in _OFFSETS])
    flat = np.flatnonzero(img)
    flat = flat[_codes(img, flat, width) != 255]  # the contour
    stamp = np.zeros(ravel.size, np.int64)  # de-duplicates candidates without sorting
    idle = 0
    while flat.size and idle < 2:
        for lut in (_ZS_FIRST, _ZS_SECOND):
            delete = lut[_codes(img, flat, width)]
            if not delete.any():
                idle += 1
                continue
            idle = 0
            gone = flat[delete]
            ravel[gone] = 0
            # the next contour: survivors plus the crack pixels uncovered by the deletions
            exposed = (gone[:, None] + offsets[None, :]).ravel()
            exposed = exposed[ravel[exposed] > 0]
            cand = np.concatenate([flat[~delete], exposed])
            stamp[cand] = np.arange(cand.size)
            flat = cand[stamp[cand] == np.arange(cand.size)]
    out = img[1:-1, 1:-1].astype(bool)
    _keep_one_pixel_per_component(mask, out, labels)
    return out


def _keep_one_pixel_per_component(
    mask: np.ndarray, skel: np.ndarray, labels: np.ndarray | None = None
) -> None:
    """Give back the most interior pixel of any component that thinning erased entirely.

    `labels`: the mask's 8-connected component labels when the caller has them already.
    """
    if labels is None:
        n, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    else:
        n = int(labels.max()) + 1
    if n <= 1:
        return
    present = np.zeros(n, bool)
    present[labels[skel]] = True
    missing = np.flatnonzero(~present[1:]) + 1
    if missing.size == 0:
        return
    dist = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    for lab in missing:
        ys, xs = np.nonzero(labels == lab)
        k = int(np.argmax(dist[ys, xs]))
        skel[ys[k], xs[k]] = True


def remove_staircases(skel: np.ndarray) -> np.ndarray:
    """Delete redundant corner pixels so diagonal runs are single 8-connected steps."""
    h, w = skel.shape
    img = np.zeros((h + 2, w + 2), np.uint8)
    img[1:-1, 1:-1] = skel
    width = w + 2
    ys, xs = np.nonzero(img)
    for _ in range(8):  # converges in one or two rounds in practice
        changed = False
        for py in (0, 1):
            for px in (0, 1):
                sel = ((ys % 2) == py) & ((xs % 2) == px)
                if not sel.any():
                    continue
                flat = ys[sel] * width + xs[sel]
                drop = _REMOVABLE[_codes(img, flat, width)]
                if drop.any():
                    img.ravel()[flat[drop]] = 0
                    keep = np.ones(ys.shape, bool)
                    keep[np.flatnonzero(sel)[drop]] = False
                    ys, xs = ys[keep], xs[keep]
                    changed = True
        if not changed:
            break
    return img[1:-1, 1:-1].astype(bool)


def neighbour_codes(skel: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Zhang-Suen neighbour codes (bit i = neighbour P(i+2) set) of the pixels (ys, xs)."""
    h, w = skel.shape
    img = np.zeros((h + 2, w + 2), np.uint8)
    img[1:-1, 1:-1] = skel
    return _codes(img, (ys + 1) * (w + 2) + (xs + 1), w + 2)


def neighbour_count(skel: np.ndarray) -> np.ndarray:
    """Number of 8-neighbours of every pixel that are skeleton pixels (0 off the skeleton)."""
    ys, xs = np.nonzero(skel)
    out = np.zeros(skel.shape, np.int8)
    out[ys, xs] = _POPCOUNT[neighbour_codes(skel, ys, xs)]
    return out


def prune_spurs(skel: np.ndarray, dist: np.ndarray, slack: float = 1.0) -> np.ndarray:
    """Remove end branches shorter than the crack's local width where they join it.

    A branch's length runs from the junction to its end pixel plus the end's tip extension
    (distance value - 1: the skeleton stops that short of the branch's last crack pixel);
    the local width at the junction is 2 d - 1 (see measure.py). Thinning grows spurs into
    a thick stroke's corners and bumps, all shorter than its width; a real side crack
    leaves its parent's outline, so it is longer than the parent's half width plus its
    own reach beyond the edge. `slack` (px) absorbs the digital rounding of both lengths.
    """
    skel = skel.copy()
    count = neighbour_count(skel)
    h, w = skel.shape
    ends = np.argwhere(count == 1)
    limit = 2.0 * float(dist.max(initial=0)) + slack + 1
    for y0, x0 in ends:
        path = [(int(y0), int(x0))]
        prev = None
        y, x = int(y0), int(x0)
        length = max(float(dist[y, x]) - 1.0, 0.0)
        while True:
            nxt = None
            for dy, dx in _OFFSETS:
                q = (y + dy, x + dx)
                if q != prev and 0 <= q[0] < h and 0 <= q[1] < w and skel[q] and q not in path:
                    nxt = q
                    break
            if nxt is None:
                break  # an isolated segment: nothing to prune against
            length += 1.0 if (nxt[0] == y or nxt[1] == x) else np.sqrt(2.0)
            if count[nxt] >= 3:
                if length < 2.0 * float(dist[nxt]) - 1.0 + slack:
                    for p in path:
                        skel[p] = False
                break
            if length > limit:
                break
            prev = (y, x)
            path.append(nxt)
            y, x = nxt
    return skel


def skeletonize(
    mask: np.ndarray, dist: np.ndarray | None = None, labels: np.ndarray | None = None
) -> np.ndarray:
    """Thin, de-staircased, spur-pruned one-pixel skeleton of a boolean mask.

    `dist` (distance to background) and `labels` (8-connected components) save recomputing
    them when the caller has them.
    """
    mask = np.asarray(mask, bool)
    if not mask.any():
        return np.zeros_like(mask)
    if dist is None:
        dist = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    skel = remove_staircases(thin(mask, labels))
    skel = prune_spurs(skel, dist)
    return remove_staircases(skel)


def edge_lengths(skel: np.ndarray, direction_corrected: bool = True) -> np.ndarray:
    """Per pixel, the length of the skeleton edges it starts (each edge counted once).

    Axial neighbours count 1, diagonal neighbours sqrt(2); a diagonal link is skipped when
    the two pixels also meet through a shared axial neighbour (the little triangles at
    corners and junctions), so no stretch of crack is counted twice.

    Those weights are exact for runs at 0 and 45 degrees but a digital line in between is a
    staircase of both steps and comes out up to 8 % long (at 22.5 degrees). With
    `direction_corrected`, each pixel's edges are scaled by `direction_factor` of the local
    skeleton direction, which makes straight lines exact at every angle.
    """
    ys, xs = np.nonzero(skel)
    out = np.zeros(skel.shape)
    out[ys, xs] = skeleton_edge_lengths(skel, ys, xs, direction_corrected)
    return out


def skeleton_edge_lengths(
    skel: np.ndarray, ys: np.ndarray, xs: np.ndarray, direction_corrected: bool = True
) -> np.ndarray:
    """`edge_lengths` at the skeleton pixels (ys, xs) only: cost follows the skeleton."""
    lengths = _EDGES[neighbour_codes(skel, ys, xs)]
    if direction_corrected and ys.size:
        lengths = lengths * direction_factor(local_direction(skel, ys, xs))
    return lengths


def local_direction(
    skel: np.ndarray, ys: np.ndarray, xs: np.ndarray, radius: int = 7
) -> np.ndarray:
    """Direction (radians, image axes) of the skeleton around the pixels (ys, xs).

    The principal axis of the skeleton pixels in the (2r+1)^2 window around each pixel; a
    15-px window sees both step kinds of lines down to about 4 degrees off an axis. Rough
    at junctions, where the correction factor is bounded anyway. Only skeleton pixels are
    visited, so the cost follows the crack length, not the photo size.
    """
    h, w = skel.shape
    pad = np.zeros((h + 2 * radius, w + 2 * radius), np.uint8)
    pad[radius:-radius, radius:-radius] = skel
    width = w + 2 * radius
    ravel = pad.ravel()
    dy, dx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    dy, dx = dy.ravel(), dx.ravel()
    offsets = dy * width + dx
    # moments of every window = its 0/1 patch times this (patch, 6) matrix
    kernel = np.stack([np.ones_like(dx), dx, dy, dx * dx, dy * dy, dx * dy], 1).astype(np.float32)
    if ys.size * offsets.size > 8 * h * w:  # dense skeleton (noise): filter the whole image
        img = skel.astype(np.float32)
        moments = np.stack(
            [
                cv2.filter2D(img, cv2.CV_32F, k.reshape(2 * radius + 1, -1),
                             borderType=cv2.BORDER_CONSTANT)[ys, xs]
                for k in kernel.T
            ],
            1,
        )  # fmt: skip
        return _angle_from_moments(moments)
    flat = (ys + radius) * width + (xs + radius)
    moments = np.empty((flat.size, 6), np.float32)
    step = 16384  # pixels per chunk: bounds the (chunk, 225) patch array to ~15 MB
    for i in range(0, flat.size, step):
        patches = ravel[flat[i : i + step, None] + offsets[None, :]]
        moments[i : i + step] = patches.astype(np.float32) @ kernel
    return _angle_from_moments(moments)


def _angle_from_moments(moments: np.ndarray) -> np.ndarray:
    n, sx, sy, sxx, syy, sxy = (moments[:, k].astype(np.float64) for k in range(6))
    n = np.maximum(n, 1.0)
    mx, my = sx / n, sy / n
    cxx, cyy, cxy = sxx / n - mx * mx, syy / n - my * my, sxy / n - mx * my
    return 0.5 * np.arctan2(2.0 * cxy, cxx - cyy)


def direction_factor(theta: np.ndarray) -> np.ndarray:
    """True length / (1, sqrt 2) step length of an 8-connected digital line at angle theta.

    Along a line at phi in [0, 45] degrees off the nearest axis, every step advances one
    pixel along that axis: true length 1/cos(phi) per step, while the steps average
    1 + (sqrt 2 - 1) tan(phi). The ratio is 1 at 0 and 45 degrees, 0.924 at 22.5.
    """
    phi = np.abs(theta) % (np.pi / 2)
    phi = np.minimum(phi, np.pi / 2 - phi)
    t = np.tan(phi)
    return 1.0 / (np.cos(phi) * (1.0 + (np.sqrt(2.0) - 1.0) * t))
