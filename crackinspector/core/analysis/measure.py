"""Measuring cracks in a binary mask: length, width, orientation, severity, per image totals.

Conventions (also in docs/REPORTS.md):
- A crack is an 8-connected component of the mask, or several joined across small gaps
  along their direction (core/analysis/gaps.py: `gaps`, `gap_px`); cracks smaller than
  `min_area_px` in all are dropped as specks (counted in `specks_removed`).
- Length follows the skeleton (see core/analysis/skeleton.py): axial steps 1, diagonal
  sqrt(2), each edge once, scaled by the local direction's factor. At every free end the
  skeleton stops about half a width short of the region's end, so each end point is
  extended by its distance value minus one (the inscribed radius measured from pixel centre
  to the last crack pixel centre). The length is therefore centre of the first crack pixel
  to centre of the last along the centreline: a 1-px line of N pixels measures N - 1; a
  stroke of width w cut square by the photo edge measures its true length; a stroke with
  round caps (what cv2.line draws) measures its polyline length plus w - 1, because the
  caps are crack pixels too. A joined gap adds the distance between the two skeleton ends
  less their extensions.
- Width: with the photo, from its intensity profile across the crack at every skeleton
  pixel, at sub-pixel precision (core/analysis/width.py: the width at the level midway
  between background and crack; `width_method` "intensity"). Without the photo (or where
  the profiles are not valid) from the mask: 2*d - 1, d the Euclidean distance (cv2, exact
  mask) from a pixel centre to the nearest background pixel centre, taken as the largest d
  in the skeleton pixel's 3x3 neighbourhood (a digital skeleton can sit a pixel off the
  true centre line, most often on oblique cracks); exact for odd widths on axis lines, one
  pixel low for even widths (`width_method` "mask"). Either way skeleton pixels inside a
  junction's maximal disc are left out (the disc is wider than either branch); if that
  leaves none, all are used. Max, mean and median are over the crack's remaining skeleton
  pixels; `widest_point` is where the maximum is.
- Confidence (with the probability map): the mean probability on the crack's skeleton;
  cracks under `min_confidence` are dropped (counted in `low_confidence_removed`).
- Order: worst severity first, then longest first; `index` and `label` follow the order
  (label == id == index + 1).
- Orientation: the principal axis of the crack pixels, `angle_deg` counter-clockwise from
  the photo's horizontal axis in (-90, 90]. Photos are taken with the direction of travel
  (or the member's axis) along the image's vertical axis, so |angle| >= 60 is
  "longitudinal", |angle| <= 30 "transverse", between "diagonal". A crack with at least
  BRANCHED_MIN_JUNCTIONS junctions and at least one junction per BRANCHED_PX_PER_JUNCTION
  px of length is "branched" (map cracking), whatever its axis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from crackinspector.core.analysis.gaps import Bridge, find_bridges, group_labels
from crackinspector.core.analysis.severity import BELOW_RESOLUTION, SeverityScale, default_scale
from crackinspector.core.analysis.skeleton import (
    _EDGES,
    _POPCOUNT,
    direction_factor,
    local_direction,
    neighbour_codes,
    skeletonize,
)
from crackinspector.core.analysis.width import (
    DEFAULT_METHOD,
    MIN_CONTRAST,
    darkness,
    profile_widths,
    resolve_method,
    smooth_along,
)

DEFAULT_MIN_AREA_PX = 20
MIN_VALID_SHARE = 0.25  # profile widths for a crack when this share of its profiles is valid
TRANSVERSE_MAX_DEG = 30.0
LONGITUDINAL_MIN_DEG = 60.0
BRANCHED_MIN_JUNCTIONS = 3
BRANCHED_PX_PER_JUNCTION = 250.0  # heuristic; photos of ~0.5-2 MP


def _mm(value: float, mm_per_px: float | None) -> float | None:
    return None if not mm_per_px else value * mm_per_px


def _mm2(value: float, mm_per_px: float | None) -> float | None:
    return None if not mm_per_px else value * mm_per_px * mm_per_px


@dataclass(frozen=True)
class Crack:
    """One crack. Pixel values always; the *_mm properties are None without a calibration."""

    index: int  # 0-based position in ImageMeasurement.cracks; shown to people as index + 1
    label: int  # value of this crack in ImageMeasurement.labels
    area_px: int
    bbox: tuple[int, int, int, int]  # x, y, width, height
    length_px: float
    max_width_px: float
    mean_width_px: float
    median_width_px: float
    widest_point: tuple[int, int]  # x, y
    angle_deg: float
    orientation: str
    junctions: int
    end_points: int
    severity: str
    mm_per_px: float | None = None
    # mean model probability along the crack's skeleton, 0..1; None when only a mask was given
    confidence: float | None = None
    # pieces joined across small gaps along their direction: number of gaps, their total length
    gaps: int = 0
    gap_px: float = 0.0
    # where the widths come from (core/analysis/width.py): "intensity" (the photo's profile
    # across the crack, sub-pixel), "probability" (the model's profile), or "mask" (the
    # mask's distance transform: no photo given, or too few valid profiles on this crack)
    width_method: str = "mask"

    @property
    def id(self) -> int:
        return self.index + 1

    @property
    def gap_mm(self) -> float | None:
        return _mm(self.gap_px, self.mm_per_px)

    @property
    def length_mm(self) -> float | None:
        return _mm(self.length_px, self.mm_per_px)

    @property
    def max_width_mm(self) -> float | None:
        return _mm(self.max_width_px, self.mm_per_px)

    @property
    def mean_width_mm(self) -> float | None:
        return _mm(self.mean_width_px, self.mm_per_px)

    @property
    def median_width_mm(self) -> float | None:
        return _mm(self.median_width_px, self.mm_per_px)

    @property
    def area_mm2(self) -> float | None:
        return _mm2(self.area_px, self.mm_per_px)


@dataclass(frozen=True)
class ImageMeasurement:
    """All cracks of one image and the image's totals. `labels`/`skeleton` are for drawing."""

    width: int
    height: int
    cracks: tuple[Crack, ...]
    severity_scale: SeverityScale
    mm_per_px: float | None
    min_area_px: int
    specks_removed: int
    labels: np.ndarray = field(repr=False, compare=False)  # int32 HxW, 0 = background
    skeleton: np.ndarray = field(repr=False, compare=False)  # bool HxW
    min_confidence: float = 0.0
    low_confidence_removed: int = 0  # cracks dropped by the minimum-confidence filter

    @property
    def n_cracks(self) -> int:
        return len(self.cracks)

    @property
    def crack_area_px(self) -> int:
        return int(sum(c.area_px for c in self.cracks))

    @property
    def crack_area_pct(self) -> float:
        return 100.0 * self.crack_area_px / max(self.width * self.height, 1)

    @property
    def total_length_px(self) -> float:
        return float(sum(c.length_px for c in self.cracks))

    @property
    def max_width_px(self) -> float:
        return max((c.max_width_px for c in self.cracks), default=0.0)

    @property
    def total_length_mm(self) -> float | None:
        return _mm(self.total_length_px, self.mm_per_px)

    @property
    def max_width_mm(self) -> float | None:
        return _mm(self.max_width_px, self.mm_per_px)

    @property
    def crack_area_mm2(self) -> float | None:
        return _mm2(self.crack_area_px, self.mm_per_px)

    @property
    def severity_counts(self) -> dict[str, int]:
        """Cracks per severity class, every class of the scale present, in scale order.

        "below resolution" comes first, and only when a crack is (see severity.py).
        """
        below = sum(1 for c in self.cracks if c.severity == BELOW_RESOLUTION)
        counts = {BELOW_RESOLUTION: below} if below else {}
        counts.update(dict.fromkeys(self.severity_scale.names, 0))
        for c in self.cracks:
            if c.severity != BELOW_RESOLUTION:
                counts[c.severity] += 1
        return counts

    @property
    def resolution_note(self) -> str | None:
        """The sentence saying which widths this calibration cannot tell apart, or None."""
        return self.severity_scale.resolution_note(self.mm_per_px)

    @property
    def filtered_note(self) -> str | None:
        """One line for what the filters left out, e.g. '14 marks under 20 px not listed'."""
        parts = []
        if self.specks_removed:
            s = "s" if self.specks_removed != 1 else ""
            parts.append(f"{self.specks_removed} mark{s} under {self.min_area_px} px")
        if self.low_confidence_removed:
            n = self.low_confidence_removed
            parts.append(
                f"{n} crack{'s' if n != 1 else ''} under {self.min_confidence:.0%} confidence"
            )
        return " and ".join(parts) + " not listed" if parts else None

    def reclassified(self, scale: SeverityScale) -> ImageMeasurement:
        """The same measurement under another severity scale (cheap: no re-measuring),
        re-sorted worst first."""
        cracks = [
            replace(c, severity=scale.classify_crack(c.max_width_px, self.mm_per_px))
            for c in self.cracks
        ]
        ordered, labels = _ordered(cracks, self.labels, scale)
        return replace(self, cracks=ordered, severity_scale=scale, labels=labels)

    def crack_mask(self, index: int) -> np.ndarray:
        return self.labels == self.cracks[index].label


def orientation_of(angle_deg: float) -> str:
    a = abs(angle_deg)
    if a <= TRANSVERSE_MAX_DEG:
        return "transverse"
    if a >= LONGITUDINAL_MIN_DEG:
        return "longitudinal"
    return "diagonal"


def _principal_angle(ys: np.ndarray, xs: np.ndarray) -> float:
    """Principal axis angle, degrees counter-clockwise from +x with y up, in (-90, 90]."""
    if ys.size < 2:
        return 0.0
    x = xs - xs.mean()
    y = ys - ys.mean()
    mu20, mu02, mu11 = float((x * x).mean()), float((y * y).mean()), float((x * y).mean())
    theta = 0.5 * math.degrees(math.atan2(2.0 * mu11, mu20 - mu02))  # image coords, y down
    angle = -theta
    if angle <= -90.0:
        angle += 180.0
    return angle


def distance_inside(mask: np.ndarray) -> np.ndarray:
    """Distance from each crack pixel centre to the nearest background pixel centre.

    Outside the photo counts as background: a crack cut by the edge is measured as far as
    it is seen, and a mask with no background at all still gets finite distances.
    """
    padded = np.pad(mask.astype(np.uint8), 1)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return dist[1:-1, 1:-1]


def _near_junction(
    shape: tuple[int, int], jy: np.ndarray, jx: np.ndarray, radius: np.ndarray
) -> np.ndarray:
    """Image of the pixels within radius + 1 of a junction pixel (its maximal disc).

    Widths there are inflated: the disc at a junction is wider than any branch.
    """
    if jy.size > 20000:  # noise-like masks: one distance transform instead of many discs
        free = np.ones(shape, np.uint8)
        free[jy, jx] = 0
        to_j, lab = cv2.distanceTransformWithLabels(
            free, cv2.DIST_L2, cv2.DIST_MASK_5, labelType=cv2.DIST_LABEL_PIXEL
        )
        r = np.zeros(int(lab.max()) + 1, np.float32)
        r[lab[jy, jx]] = radius
        return to_j <= r[lab] + 1.0
    zone = np.zeros(shape, np.uint8)
    for y, x, r in zip(jy.tolist(), jx.tolist(), radius.tolist(), strict=True):
        cv2.circle(zone, (x, y), math.ceil(r) + 1, 1, -1)
    return zone.astype(bool)


def _local_max(dist: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Largest distance in each pixel's 3x3 neighbourhood (background is 0, so never wins)."""
    pad = np.pad(dist, 1)
    best = np.zeros(ys.shape, np.float32)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            np.maximum(best, pad[ys + 1 + dy, xs + 1 + dx], out=best)
    return best


def _components(
    mask: np.ndarray, min_area_px: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[Bridge], int]:
    """Cracks as joined components: (labels, dist, skeleton, stats, bridges, specks).

    Pieces joined across small gaps (core/analysis/gaps.py) share one label; groups smaller
    than `min_area_px` in all are dropped as specks. Labels run 1..n, stats (n+1, 5) are
    cv2's CC_STAT columns per group (bbox of all pieces, total area).
    """
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    dist = distance_inside(mask)
    skel = skeletonize(mask, dist, labels)
    bridges: list[Bridge] = []
    if n > 2:
        ys, xs = np.nonzero(skel)
        count = _POPCOUNT[neighbour_codes(skel, ys, xs)]
        ends = count == 1
        skel_labels = np.where(skel, labels, 0)
        ext = np.maximum(dist[ys[ends], xs[ends]] - 1.0, 0.0)
        bridges = find_bridges(mask, skel_labels, ys[ends], xs[ends], ext, n)
    group = group_labels(n, bridges)
    x1 = stats[:, cv2.CC_STAT_LEFT] + stats[:, cv2.CC_STAT_WIDTH]
    y1 = stats[:, cv2.CC_STAT_TOP] + stats[:, cv2.CC_STAT_HEIGHT]
    area = np.bincount(group, weights=stats[:, cv2.CC_STAT_AREA], minlength=n)
    gx0 = np.full(n, np.iinfo(np.int32).max)
    gy0 = gx0.copy()
    gx1, gy1 = np.zeros(n, np.int64), np.zeros(n, np.int64)
    np.minimum.at(gx0, group, stats[:, cv2.CC_STAT_LEFT])
    np.minimum.at(gy0, group, stats[:, cv2.CC_STAT_TOP])
    np.maximum.at(gx1, group, x1)
    np.maximum.at(gy1, group, y1)
    roots = np.flatnonzero(group[1:] == np.arange(1, n)) + 1  # one per group
    keep = roots[area[roots] >= max(int(min_area_px), 1)]
    specks = roots.size - keep.size
    relabel = np.zeros(n, np.int32)
    relabel[keep] = np.arange(1, keep.size + 1, dtype=np.int32)
    labels = relabel[group][labels]
    out = np.zeros((keep.size + 1, 5), np.int64)
    out[1:, cv2.CC_STAT_LEFT], out[1:, cv2.CC_STAT_TOP] = gx0[keep], gy0[keep]
    out[1:, cv2.CC_STAT_WIDTH] = gx1[keep] - gx0[keep]
    out[1:, cv2.CC_STAT_HEIGHT] = gy1[keep] - gy0[keep]
    out[1:, cv2.CC_STAT_AREA] = area[keep]
    bridges = [
        Bridge(int(relabel[group[b.a]]), int(relabel[group[b.b]]), b.join_px, b.gap_px)
        for b in bridges
        if relabel[group[b.a]]
    ]
    return labels, dist, skel & (labels > 0), out, bridges, int(specks)


def _severity_rank(scale: SeverityScale, name: str) -> int:
    return scale.names.index(name) if name in scale.names else -1


def _ordered(
    cracks: list[Crack], labels: np.ndarray, scale: SeverityScale
) -> tuple[tuple[Crack, ...], np.ndarray]:
    """Cracks worst severity first, then longest first; index and label follow the order."""
    order = sorted(cracks, key=lambda c: (-_severity_rank(scale, c.severity), -c.length_px))
    relabel = np.zeros(int(labels.max(initial=0)) + 1, np.int32)
    out = []
    for i, c in enumerate(order):
        relabel[c.label] = i + 1
        out.append(replace(c, index=i, label=i + 1))
    return tuple(out), relabel[labels]


def measure_mask(
    mask: np.ndarray,
    mm_per_px: float | None = None,
    min_area_px: int = DEFAULT_MIN_AREA_PX,
    severity: SeverityScale | None = None,
    probability: np.ndarray | None = None,
    min_confidence: float = 0.0,
    width_method: str = DEFAULT_METHOD,
    image: np.ndarray | None = None,
) -> ImageMeasurement:
    """Measure every crack of a boolean mask (H, W).

    `image` (the photo, same size): widths come from its intensity profile across each
    crack, at sub-pixel precision (core/analysis/width.py; `width_method` picks another
    evidence). `probability` (float [0, 1], same size): the model's map; with it every
    crack gets a confidence, and cracks under `min_confidence` are dropped (counted in
    `low_confidence_removed`). `severity` defaults to the 'concrete' preset when
    `mm_per_px` is given and 'pixels' otherwise; a mm scale without `mm_per_px` raises
    SeverityError.
    """
    mask = np.asarray(mask).astype(bool)
    if mask.ndim != 2:
        raise ValueError(f"a mask must be 2-D, got shape {mask.shape}")
    if mm_per_px is not None and not (mm_per_px > 0 and math.isfinite(mm_per_px)):
        raise ValueError(f"mm per pixel must be a positive number, got {mm_per_px!r}")
    for name, arr in (("probability map", probability), ("photo", image)):
        if arr is not None and arr.shape[:2] != mask.shape:
            raise ValueError(f"{name} {arr.shape[:2]} and mask {mask.shape} differ in size")
    method = resolve_method(width_method, image is not None, probability is not None)
    scale = severity or default_scale(bool(mm_per_px))
    if scale.unit == "mm":
        scale.classify_crack(1.0, mm_per_px)  # raises the clear error when uncalibrated
    h, w = mask.shape
    labels, dist, skel, stats, bridges, specks = _components(mask, min_area_px)
    n_labels = int(stats.shape[0])
    if n_labels == 1:
        return ImageMeasurement(
            w, h, (), scale, mm_per_px, int(min_area_px), specks, labels, skel,
            float(min_confidence), 0,
        )  # fmt: skip

    # everything below works on the skeleton pixels (a few % of the photo) only
    ys, xs = np.nonzero(skel)
    lab_s = labels[ys, xs]
    order = np.argsort(lab_s, kind="stable")
    ys, xs, lab_s = ys[order], xs[order], lab_s[order]
    starts = np.searchsorted(lab_s, np.arange(n_labels + 1))
    count = _POPCOUNT[neighbour_codes(skel, ys, xs)]
    d_s = dist[ys, xs]

    # length: skeleton links plus the tip extensions plus the joined gaps, per crack
    theta = local_direction(skel, ys, xs)
    links = _EDGES[neighbour_codes(skel, ys, xs)] * direction_factor(theta)
    length = np.bincount(lab_s, weights=links, minlength=n_labels)
    ext = np.maximum(d_s - 1.0, 0.0)
    ends, tips = count == 1, count == 0  # a crack reduced to one pixel: both ends extend
    length += np.bincount(lab_s[ends], weights=ext[ends], minlength=n_labels)
    length += 2 * np.bincount(lab_s[tips], weights=ext[tips], minlength=n_labels)
    n_ends = np.bincount(lab_s[ends], minlength=n_labels)
    n_gaps = np.zeros(n_labels, np.int64)
    gap_px = np.zeros(n_labels)
    for b in bridges:
        length[b.a] += b.join_px
        n_gaps[b.a] += 1
        gap_px[b.a] += b.gap_px
        n_ends[b.a] -= 2

    # junctions: clusters of skeleton pixels with 3+ neighbours
    jsel = count >= 3
    junctions = np.zeros(n_labels, np.int64)
    in_zone = np.zeros(ys.shape, bool)
    if jsel.any():
        jimg = np.zeros(skel.shape, np.uint8)
        jimg[ys[jsel], xs[jsel]] = 1
        n_j, j_labels = cv2.connectedComponents(jimg, connectivity=8)
        owner = np.zeros(n_j, np.int64)
        owner[j_labels[ys[jsel], xs[jsel]]] = lab_s[jsel]
        junctions = np.bincount(owner[1:], minlength=n_labels)
        in_zone = _near_junction(skel.shape, ys[jsel], xs[jsel], d_s[jsel])[ys, xs]

    # widths: the digital skeleton may sit a pixel off the true centre line, so the mask's
    # width takes the largest distance in each skeleton pixel's 3x3 neighbourhood
    width_s = np.maximum(2.0 * _local_max(dist, ys, xs) - 1.0, 1.0)
    profiled = np.zeros(ys.shape, bool)
    prob = None if probability is None else np.asarray(probability, np.float32)
    conf_s = None if prob is None else prob[ys, xs]
    if method != "mask":
        evidence = darkness(image) if image is not None and method == "intensity" else prob
        assert evidence is not None  # resolve_method gave "mask" when it is missing
        prof, profiled = profile_widths(evidence, ys, xs, theta, width_s, MIN_CONTRAST[method])
        width_s = np.where(profiled, prof, width_s).astype(np.float32)
    cracks = []
    low_confidence = np.zeros(n_labels, bool)
    for lab in range(1, n_labels):
        x0, y0 = int(stats[lab, cv2.CC_STAT_LEFT]), int(stats[lab, cv2.CC_STAT_TOP])
        bw, bh = int(stats[lab, cv2.CC_STAT_WIDTH]), int(stats[lab, cv2.CC_STAT_HEIGHT])
        part = slice(starts[lab], starts[lab + 1])
        sy, sx, widths, by_profile = ys[part], xs[part], width_s[part], profiled[part]
        confidence = None if conf_s is None else float(conf_s[part].mean())
        if sy.size == 0:  # cannot happen after thinning; keep measuring if it ever does
            py, px = np.nonzero(labels[y0 : y0 + bh, x0 : x0 + bw] == lab)
            best = int(np.argmax(dist[py + y0, px + x0]))
            sy, sx = py[best : best + 1] + y0, px[best : best + 1] + x0
            widths = np.maximum(2.0 * _local_max(dist, sy, sx) - 1.0, 1.0)
            by_profile = np.zeros(1, bool)
            if prob is not None:
                confidence = float(prob[sy, sx].mean())
        else:
            plain = ~in_zone[part]
            if plain.any():
                sy, sx, widths, by_profile = sy[plain], sx[plain], widths[plain], by_profile[plain]
        if confidence is not None and confidence < min_confidence:
            low_confidence[lab] = True
            continue
        crack_method = method if by_profile.mean() >= MIN_VALID_SHARE else "mask"
        if crack_method != "mask":  # the valid profiles only, smoothed along the crack
            sy, sx = sy[by_profile], sx[by_profile]
            widths = smooth_along(sy, sx, widths[by_profile])
        k = int(np.argmax(widths))
        crop = labels[y0 : y0 + bh, x0 : x0 + bw] == lab
        py, px = np.nonzero(crop)
        angle = _principal_angle(py.astype(np.float64), px.astype(np.float64))
        length_px = float(length[lab])
        n_junctions = int(junctions[lab])
        branched = (
            n_junctions >= BRANCHED_MIN_JUNCTIONS
            and n_junctions * BRANCHED_PX_PER_JUNCTION >= length_px
        )
        max_w = float(widths[k])
        cracks.append(
            Crack(
                index=lab - 1,
                label=lab,
                area_px=int(stats[lab, cv2.CC_STAT_AREA]),
                bbox=(x0, y0, bw, bh),
                length_px=length_px,
                max_width_px=max_w,
                mean_width_px=float(widths.mean()),
                median_width_px=float(np.median(widths)),
                widest_point=(int(sx[k]), int(sy[k])),
                angle_deg=round(angle, 2),
                orientation="branched" if branched else orientation_of(angle),
                junctions=n_junctions,
                end_points=max(int(n_ends[lab]), 0),
                severity=scale.classify_crack(max_w, mm_per_px),
                mm_per_px=mm_per_px,
                confidence=confidence,
                gaps=int(n_gaps[lab]),
                gap_px=float(gap_px[lab]),
                width_method=crack_method,
            )
        )
    if low_confidence.any():
        labels = np.where(low_confidence[labels], 0, labels)
        skel = skel & (labels > 0)
    ordered, labels = _ordered(cracks, labels, scale)
    return ImageMeasurement(
        w, h, ordered, scale, mm_per_px, int(min_area_px), specks, labels, skel,
        float(min_confidence), int(low_confidence.sum()),
    )  # fmt: skip


def crack_outline(measurement: ImageMeasurement, index: int) -> list[np.ndarray]:
    """Outer and hole contours of one crack as (N, 2) int arrays of x, y image points."""
    crack = measurement.cracks[index]
    x0, y0, bw, bh = crack.bbox
    crop = (measurement.labels[y0 : y0 + bh, x0 : x0 + bw] == crack.label).astype(np.uint8)
    contours, _ = cv2.findContours(crop, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    return [c.reshape(-1, 2) + np.array([x0, y0]) for c in contours]
