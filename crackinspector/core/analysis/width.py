"""Sub-pixel crack width from the evidence across the crack, not from the thresholded mask.

The thresholded mask is a poor ruler: its width moves with the threshold and with how far
the model's evidence spreads, and it comes in whole pixels. Here the width is read from a
profile across the crack. At every skeleton pixel an evidence image is sampled (bilinear,
every PROFILE_STEP px) along the normal of the local skeleton direction, out to
PROFILE_REACH mask widths on either side (MIN_REACH..MAX_REACH px), and measured:

- the profile is the mean of ALONG parallel profiles 1 px apart along the crack (the crack
  is the same along them, the surface texture is not);
- the crack level is the profile's peak within the mask's half width (+1 px) of the
  skeleton; the background level on each side is the profile's minimum between the peak
  and the end of the profile, and the background is the mean of the two sides;
- the width is the distance between the two points where the profile falls to the level
  midway between background and crack, each found by linear interpolation between samples
  (the full width at half maximum). A second pass refines both levels: the background
  becomes each side's median beyond its first crossing (the minimum alone is the brightest
  grain of a coarse surface), and for cracks at least CORE_MIN_PX wide the crack level
  becomes the median of the middle half between the crossings (not one noisy maximum).
  For a blurred edge the midway level sits on the true edge whatever the blur, which is
  why this level gives the least width error.

Evidence ("width methods"):
- "intensity" (the default when the photo is given): the photo's darkness, 1 - grey. A
  crack is a shadow: its darkness profile is the crack's true cross-section blurred by the
  lens, so the midway width is its true width from about 2 px up (narrower cracks read
  about 2 px: the blur's own width). The model only says where the crack and its
  direction are.
- "probability": the model's probability map. Measured on CrackForest test with the bundled
  models it reads 1.8x the ground truth's width: the models' evidence is about 2 px wider
  than the cracks (benchmarks/bench_width.py, docs/BENCHMARKS.md), so it is not the default;
  it stays for models whose probabilities follow the crack's edges.
- "mask": 2 d - 1 from the mask's distance transform (measure.py), whole pixels; what is
  used without a photo, and for samples whose profile is not valid.

A sample is valid when its profile rises at least the method's minimum contrast above the
background and falls to the midway level on both sides within reach (a neighbouring crack
on one side, or a profile that never falls, makes it invalid); invalid samples keep the
mask's width. Per-pixel widths are averaged over the crack's skeleton pixels within
SMOOTH_RADIUS before max, mean and median are taken, so one noisy profile does not decide a
crack's class.
"""

from __future__ import annotations

import cv2
import numpy as np

PROFILE_STEP = 0.25  # px between samples along the normal
PROFILE_REACH = 1.0  # the profile extends this many mask widths each side
MIN_REACH = 4.0
MAX_REACH = 48.0
METHODS = ("auto", "intensity", "probability", "mask")
DEFAULT_METHOD = "auto"  # intensity with the photo, mask without
MIN_CONTRAST = {"intensity": 0.03, "probability": 0.15}  # peak minus background
CORE_MIN_PX = 6.0  # from this first-pass width on, the crack level is the core's median
MAX_OVER_MASK = 1.5  # a profile wider than this many mask widths (+1 px) is not the crack
ALONG = (-2.0, -1.0, 0.0, 1.0, 2.0)  # px along the crack: profiles averaged per sample
SMOOTH_RADIUS = 2  # px: skeleton neighbours averaged into each pixel's width
_CHUNK = 4096  # skeleton pixels per sampling batch (bounds memory to a few MB)


def resolve_method(method: str, has_image: bool, has_probability: bool) -> str:
    """The evidence actually used: "auto" is "intensity" with a photo, else "mask"; a
    method whose evidence is missing falls back to "mask"."""
    if method not in METHODS:
        raise ValueError(f"unknown width method {method!r}; choose one of {', '.join(METHODS)}")
    if method == "auto":
        method = "intensity"
    if (method == "intensity" and not has_image) or (
        method == "probability" and not has_probability
    ):
        return "mask"
    return method


def darkness(image: np.ndarray) -> np.ndarray:
    """1 - grey in [0, 1] (float32) of an RGB or grey photo (uint8, uint16 or float 0..1)."""
    img = np.asarray(image)
    if img.ndim == 3:
        img = img[..., :3]
        if img.dtype != np.uint8 and img.dtype != np.float32:
            img = img.astype(np.float32) / (65535.0 if img.dtype == np.uint16 else 1.0)
        img = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    if img.dtype == np.uint8:
        grey = img.astype(np.float32) / 255.0
    elif img.dtype == np.uint16:
        grey = img.astype(np.float32) / 65535.0
    else:
        grey = img.astype(np.float32)
    return 1.0 - grey


def normals(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit normal (nx, ny) in image axes of skeleton direction `theta` (radians)."""
    return -np.sin(theta), np.cos(theta)


def _crossing(
    profile: np.ndarray, level: np.ndarray, start: np.ndarray, step: int
) -> tuple[np.ndarray, np.ndarray]:
    """First sample beyond `start` (going `step` = +1 or -1) where the profile < level.

    Returns (distance of the interpolated crossing from `start`, in samples; found flags).
    """
    n, m = profile.shape
    idx = np.arange(m)[None, :]
    beyond = (idx > start[:, None]) if step > 0 else (idx < start[:, None])
    below = (profile < level[:, None]) & beyond
    if step > 0:
        first = np.where(below.any(1), below.argmax(1), -1)
    else:
        rev = below[:, ::-1]
        first = np.where(rev.any(1), m - 1 - rev.argmax(1), -1)
    found = first >= 0
    j = np.clip(first, 0, m - 1)
    i = np.clip(j - step, 0, m - 1)
    rows = np.arange(n)
    hi, lo = profile[rows, i], profile[rows, j]
    frac = np.clip((hi - level) / np.maximum(hi - lo, 1e-6), 0.0, 1.0)
    return np.abs(i + step * frac - start), found


def profile_widths(
    evidence: np.ndarray,
    ys: np.ndarray,
    xs: np.ndarray,
    theta: np.ndarray,
    mask_width: np.ndarray,
    min_contrast: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(width px, valid) at skeleton pixels (ys, xs) from an evidence image (crack high).

    `theta`: local skeleton direction (radians, image axes); `mask_width`: the mask's width
    there (sets how far the profile reaches and where its peak may be).
    """
    n = ys.size
    widths = np.zeros(n, np.float32)
    valid = np.zeros(n, bool)
    if n == 0:
        return widths, valid
    evidence = np.ascontiguousarray(evidence, dtype=np.float32)
    reach = np.clip(PROFILE_REACH * mask_width, MIN_REACH, MAX_REACH).astype(np.float32)
    nx, ny = normals(theta.astype(np.float32))
    for a in range(0, n, _CHUNK):
        b = min(a + _CHUNK, n)
        half = int(np.ceil(reach[a:b].max() / PROFILE_STEP))
        t = (np.arange(-half, half + 1, dtype=np.float32) * PROFILE_STEP)[None, :]
        profile = np.zeros((b - a, t.size), np.float32)
        for s in ALONG:  # parallel profiles along the crack, averaged: texture averages out
            map_x = (xs[a:b, None] - ny[a:b, None] * s + nx[a:b, None] * t).astype(np.float32)
            map_y = (ys[a:b, None] + nx[a:b, None] * s + ny[a:b, None] * t).astype(np.float32)
            profile += cv2.remap(
                evidence, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
            )
        profile /= len(ALONG)
        inside = np.abs(t) <= reach[a:b, None]
        widths[a:b], valid[a:b] = _measure(profile, inside, mask_width[a:b], half, min_contrast)
    valid &= widths <= MAX_OVER_MASK * mask_width + 1.0
    return widths, valid


def _measure(
    profile: np.ndarray, inside: np.ndarray, mask_width: np.ndarray, centre: int, contrast: float
) -> tuple[np.ndarray, np.ndarray]:
    n, m = profile.shape
    rows = np.arange(n)
    idx = np.arange(m)[None, :]
    near = np.abs(idx - centre) <= (mask_width[:, None] / 2 + 1.0) / PROFILE_STEP
    peak_at = np.where(near, profile, -np.inf).argmax(1)
    peak = profile[rows, peak_at]
    bl = np.where(inside & (idx < peak_at[:, None]), profile, np.inf).min(1)
    br = np.where(inside & (idx > peak_at[:, None]), profile, np.inf).min(1)
    sides = np.isfinite(bl) & np.isfinite(br)
    background = np.where(sides, (bl + br) / 2, 0.0)
    level = (peak + background) / 2
    clipped = np.where(inside, profile, -np.inf)  # beyond the reach: below any level
    dl, fl = _crossing(clipped, level, peak_at, -1)
    dr, fr = _crossing(clipped, level, peak_at, +1)
    # second pass (see the module docstring): median background, core crack level
    gap = 1.0 / PROFILE_STEP
    out_l = inside & (idx < (peak_at - dl - gap)[:, None])
    out_r = inside & (idx > (peak_at + dr + gap)[:, None])
    ml = _nanmedian(np.where(out_l, profile, np.nan))
    mr = _nanmedian(np.where(out_r, profile, np.nan))
    bl, br = np.where(np.isfinite(ml), ml, bl), np.where(np.isfinite(mr), mr, br)
    background = np.where(sides, (bl + br) / 2, 0.0)
    core = np.abs(idx - peak_at[:, None]) <= ((dl + dr) / 4)[:, None]
    core_med = _nanmedian(np.where(core, profile, np.nan))
    wide = (dl + dr) * PROFILE_STEP >= CORE_MIN_PX
    peak = np.where(wide & np.isfinite(core_med), core_med, peak)
    level = (peak + background) / 2
    dl, fl = _crossing(clipped, level, peak_at, -1)
    dr, fr = _crossing(clipped, level, peak_at, +1)
    valid = sides & fl & fr & (peak - background >= contrast)
    return ((dl + dr) * PROFILE_STEP).astype(np.float32), valid


def _nanmedian(a: np.ndarray) -> np.ndarray:
    """Row medians ignoring NaN; NaN for rows with no value (sorting puts NaN last)."""
    s = np.sort(a, axis=1)
    k = (~np.isnan(a)).sum(1)
    rows = np.arange(a.shape[0])
    lo = s[rows, np.maximum((k - 1) // 2, 0)]
    hi = s[rows, np.maximum(k // 2, 0)]
    return np.where(k > 0, (lo + hi) / 2, np.nan).astype(np.float32)


def smooth_along(
    ys: np.ndarray, xs: np.ndarray, values: np.ndarray, radius: int = SMOOTH_RADIUS
) -> np.ndarray:
    """Mean of `values` over the pixels (ys, xs) within `radius` (square window) of each."""
    if radius <= 0 or ys.size == 0:
        return values
    width = int(xs.max()) + radius + 1
    keys = ys.astype(np.int64) * width + xs
    order = np.argsort(keys)
    sorted_keys, sorted_vals = keys[order], values[order].astype(np.float64)
    total = np.zeros(ys.size)
    count = np.zeros(ys.size)
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            q = keys + dy * width + dx
            at = np.minimum(np.searchsorted(sorted_keys, q), ys.size - 1)
            hit = sorted_keys[at] == q
            total[hit] += sorted_vals[at[hit]]
            count[hit] += 1
    return (total / np.maximum(count, 1)).astype(np.float32)
