"""Crack measurements against synthetic cracks of known geometry, and on real masks."""

from __future__ import annotations

import itertools
import math

import cv2
import numpy as np
import pytest

from crackinspector.core.analysis.measure import crack_outline, measure_mask
from crackinspector.core.analysis.severity import (
    BELOW_RESOLUTION,
    PRESETS,
    RESOLUTION_PX,
    SeverityError,
)
from crackinspector.core.analysis.skeleton import (
    _REMOVABLE,
    _codes,
    edge_lengths,
    neighbour_count,
    skeletonize,
    thin,
)
from crackinspector.core.io.imageio import read_mask

H, W = 400, 500


def stroke(mask: np.ndarray, points, width: float) -> np.ndarray:
    """Exact stroke: pixels whose centre lies within width/2 of the polyline (round caps).

    Used instead of cv2's thick lines for widths: OpenCV 5 draws thickness=3 as 5 px
    horizontally but about 3.5 px at 45 degrees, so its true width is not `thickness`.
    """
    h, w = mask.shape
    p = np.asarray(points, float)
    r = width / 2
    for a, b in itertools.pairwise(p):
        x0, x1 = int(max(min(a[0], b[0]) - r - 1, 0)), int(min(max(a[0], b[0]) + r + 2, w))
        y0, y1 = int(max(min(a[1], b[1]) - r - 1, 0)), int(min(max(a[1], b[1]) + r + 2, h))
        if x0 >= x1 or y0 >= y1:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(float)
        d = b - a
        t = np.clip(((xx - a[0]) * d[0] + (yy - a[1]) * d[1]) / max(d @ d, 1e-12), 0, 1)
        mask[y0:y1, x0:x1] |= np.hypot(xx - a[0] - t * d[0], yy - a[1] - t * d[1]) <= r + 1e-9
    return mask


def polyline_length(points) -> float:
    p = np.asarray(points, float)
    return float(np.hypot(*np.diff(p, axis=0).T).sum())


ARC = [
    (250 + 150 * math.cos(a), 320 - 150 * math.sin(a)) for a in np.linspace(0, 0.8 * math.pi, 300)
]
# name -> (strokes, true centre-line length, number of free ends inside the photo)
SHAPES = {
    "straight": ([[(50, 200), (450, 200)]], 400.0, 2),
    "diagonal-45": ([[(50, 50), (350, 350)]], 300 * math.sqrt(2), 2),
    "oblique-22.5": (
        [[(40, 300), (440, 300 - 400 * math.tan(math.pi / 8))]],
        400 / math.cos(math.pi / 8),
        2,
    ),
    "arc": ([ARC], 150 * 0.8 * math.pi, 2),
    "edge-to-edge": ([[(-20, 100), (520, 180)]], 500 / math.cos(math.atan2(80, 540)), 0),
    "branched-Y": (
        [[(60, 350), (250, 200), (440, 340)], [(250, 200), (250, 30)]],
        polyline_length([(60, 350), (250, 200), (440, 340)]) + 170.0,
        3,
    ),
}


def true_length(name: str, width: int) -> float:
    """Centre-line length of the drawn crack: round caps add (w-1)/2 at each free end."""
    _, length, ends = SHAPES[name]
    if name == "edge-to-edge":  # the part inside the photo, pixel centre 0 to 499
        return 499 / math.cos(math.atan2(80, 540))
    return length + ends * (width - 1) / 2


@pytest.mark.parametrize("width", [3, 5, 9])
@pytest.mark.parametrize("name", list(SHAPES))
def test_length_and_width_of_synthetic_cracks(name: str, width: int) -> None:
    mask = np.zeros((H, W), bool)
    for s in SHAPES[name][0]:
        stroke(mask, s, width)
    m = measure_mask(mask)
    assert m.n_cracks == 1
    c = m.cracks[0]
    expected = true_length(name, width)
    assert c.length_px == pytest.approx(expected, rel=0.03), (c.length_px, expected)
    # the brief's "true polyline length", which ignores the caps, is met as well
    assert c.length_px == pytest.approx(SHAPES[name][1], rel=0.03) or width == 9
    assert abs(c.max_width_px - width) <= 1.0, c.max_width_px
    assert abs(c.mean_width_px - width) <= 1.0, c.mean_width_px
    # the widest point is on the crack
    x, y = c.widest_point
    assert mask[y, x]


@pytest.mark.parametrize(
    "points",
    [
        [(20, 30), (480, 30)],
        [(20, 20), (370, 370)],
        [(30, 350), (470, 120)],
        [(round(x), round(y)) for x, y in ARC],
    ],
    ids=["horizontal", "diagonal", "oblique", "arc"],
)
def test_cv2_drawn_hairlines_measure_their_polyline_length(points) -> None:
    img = np.zeros((H, W), np.uint8)
    cv2.polylines(img, [np.array(points, np.int32).reshape(-1, 1, 2)], False, 255, thickness=1)
    m = measure_mask(img > 0)
    assert m.n_cracks == 1
    truth = polyline_length(points) if len(points) == 2 else 150 * 0.8 * math.pi
    assert m.cracks[0].length_px == pytest.approx(truth, rel=0.03)
    assert m.cracks[0].max_width_px == pytest.approx(1.0)


@pytest.mark.parametrize("thickness", [2, 3, 7])
def test_cv2_thick_horizontal_line_width_is_its_raster_width(thickness: int) -> None:
    img = np.zeros((100, 300), np.uint8)
    cv2.line(img, (40, 50), (260, 50), 255, thickness)
    raster = int((img[:, 150] > 0).sum())  # what OpenCV actually drew (not `thickness`)
    c = measure_mask(img > 0).cracks[0]
    assert c.max_width_px == pytest.approx(raster)
    assert c.length_px == pytest.approx(220 + raster - 1, rel=0.03)


def test_orientation_convention() -> None:
    def crack(points):
        return measure_mask(stroke(np.zeros((H, W), bool), points, 3)).cracks[0]

    horizontal = crack([(50, 200), (450, 210)])
    vertical = crack([(250, 20), (240, 380)])
    up_right = crack([(50, 350), (350, 50)])  # rises to the right on screen
    down_right = crack([(50, 50), (350, 350)])
    assert horizontal.orientation == "transverse" and abs(horizontal.angle_deg) < 5
    assert vertical.orientation == "longitudinal" and abs(vertical.angle_deg) > 85
    assert up_right.orientation == "diagonal" and up_right.angle_deg == pytest.approx(45, abs=1)
    assert down_right.angle_deg == pytest.approx(-45, abs=1)


def test_map_cracking_is_branched_and_a_y_is_not() -> None:
    grid = np.zeros((H, W), bool)
    for y in (60, 160, 260, 360):
        stroke(grid, [(-10, y), (510, y)], 3)
    for x in (70, 190, 310, 430):
        stroke(grid, [(x, -10), (x, 410)], 3)
    g = measure_mask(grid).cracks
    assert len(g) == 1
    assert g[0].junctions == 16
    assert g[0].orientation == "branched"
    assert abs(g[0].max_width_px - 3) <= 1.0
    truth = 4 * 499 + 4 * 399
    assert g[0].length_px == pytest.approx(truth, rel=0.03)

    y_mask = np.zeros((H, W), bool)
    for s in SHAPES["branched-Y"][0]:
        stroke(y_mask, s, 5)
    y = measure_mask(y_mask).cracks[0]
    assert y.junctions == 1 and y.end_points == 3
    assert y.orientation != "branched"


def test_specks_below_min_area_are_dropped() -> None:
    mask = stroke(np.zeros((H, W), bool), [(50, 200), (450, 200)], 3)
    mask[10:13, 10:13] = True  # 9 px
    mask[30:35, 30:35] = True  # 25 px
    m = measure_mask(mask, min_area_px=20)
    assert m.n_cracks == 2 and m.specks_removed == 1
    assert measure_mask(mask, min_area_px=30).n_cracks == 1
    assert measure_mask(mask, min_area_px=1).n_cracks == 3
    tiny = measure_mask(mask, min_area_px=1).cracks
    assert min(c.area_px for c in tiny) == 9
    assert all(c.length_px >= 0 for c in tiny)


def test_empty_mask() -> None:
    m = measure_mask(np.zeros((50, 60), bool))
    assert m.n_cracks == 0 and m.total_length_px == 0 and m.max_width_px == 0
    assert m.crack_area_pct == 0 and m.max_width_mm is None
    assert sum(m.severity_counts.values()) == 0


@pytest.mark.parametrize("stem", ["001", "041", "081", "097"])
def test_real_mask_totals_match_per_crack_values(crackforest, stem: str) -> None:
    mask = read_mask(crackforest / "masks" / f"{stem}.png")
    m = measure_mask(mask, mm_per_px=0.25)
    assert m.n_cracks >= 1
    assert m.total_length_px == pytest.approx(sum(c.length_px for c in m.cracks))
    assert m.max_width_px == max(c.max_width_px for c in m.cracks)
    assert m.crack_area_px == sum(c.area_px for c in m.cracks)
    assert m.crack_area_px == int((m.labels > 0).sum())
    assert m.crack_area_px + 0 <= int(mask.sum())
    assert m.crack_area_pct == pytest.approx(100 * m.crack_area_px / mask.size)
    assert sum(m.severity_counts.values()) == m.n_cracks
    assert m.total_length_mm == pytest.approx(m.total_length_px * 0.25)
    for c in m.cracks:
        assert c.length_mm == pytest.approx(c.length_px * 0.25)
        assert c.max_width_mm == pytest.approx(c.max_width_px * 0.25)
        assert c.area_mm2 == pytest.approx(c.area_px * 0.0625)
        if c.max_width_px >= RESOLUTION_PX:
            assert c.severity == PRESETS["concrete"].classify(c.max_width_px * 0.25)
        else:  # 0.25 mm/px puts the 0.1..0.4 mm limits under 2 px
            assert c.severity == BELOW_RESOLUTION
        assert 1.0 <= c.median_width_px <= c.max_width_px
        x, y = c.widest_point
        assert m.labels[y, x] == c.label
        x0, y0, bw, bh = c.bbox
        assert (m.labels[y0 : y0 + bh, x0 : x0 + bw] == c.label).sum() == c.area_px
    # every crack keeps a skeleton, and the skeleton stays inside its crack
    assert np.all(m.labels[m.skeleton] > 0)
    assert set(np.unique(m.labels[m.skeleton])) == {c.label for c in m.cracks}


def test_mm_scale_needs_calibration() -> None:
    mask = stroke(np.zeros((100, 200), bool), [(10, 50), (190, 50)], 5)
    with pytest.raises(SeverityError, match="calibration"):
        measure_mask(mask, severity=PRESETS["concrete"])
    m = measure_mask(mask, mm_per_px=0.1, severity=PRESETS["concrete"])
    assert m.cracks[0].severity == "severe"  # 5 px * 0.1 = 0.5 mm > 0.4
    assert m.cracks[0].max_width_mm == pytest.approx(0.5)
    fine = measure_mask(mask, mm_per_px=0.05, severity=PRESETS["concrete"])
    assert fine.cracks[0].severity == "moderate"  # 0.25 mm
    px = m.reclassified(PRESETS["pixels"])
    assert px.cracks[0].severity == "medium" and px.severity_counts["medium"] == 1
    assert measure_mask(mask).severity_scale.name == "pixels"
    assert measure_mask(mask, mm_per_px=0.1).severity_scale.name == "concrete"
    with pytest.raises(ValueError):
        measure_mask(mask, mm_per_px=0.0)


def test_crack_outline_lies_on_the_crack(crackforest) -> None:
    m = measure_mask(read_mask(crackforest / "masks" / "081.png"))
    for i, c in enumerate(m.cracks):
        contours = crack_outline(m, i)
        assert contours and all(cnt.shape[1] == 2 for cnt in contours)
        pts = np.concatenate(contours)
        assert np.all(m.labels[pts[:, 1], pts[:, 0]] == c.label)


# ---------------------------------------------------------------- skeleton details


def test_edge_lengths_count_each_link_once() -> None:
    line = np.zeros((5, 12), bool)
    line[2, 1:11] = True
    assert edge_lengths(line, direction_corrected=False).sum() == pytest.approx(9)
    diag = np.eye(8, dtype=bool)
    assert edge_lengths(diag, direction_corrected=False).sum() == pytest.approx(7 * math.sqrt(2))
    corner = np.zeros((4, 4), bool)
    corner[1, 1] = corner[1, 2] = corner[2, 2] = True  # L: two axial links, no diagonal
    assert edge_lengths(corner, direction_corrected=False).sum() == pytest.approx(2)
    block = np.zeros((4, 4), bool)
    block[1:3, 1:3] = True
    assert edge_lengths(block, direction_corrected=False).sum() == pytest.approx(4)


def test_direction_correction_makes_oblique_lines_exact() -> None:
    img = np.zeros((200, 420), np.uint8)
    cv2.line(img, (10, 180), (410, 180 - 166), 255, 1)  # about 22.5 degrees
    truth = math.hypot(400, 166)
    raw = edge_lengths(img > 0, direction_corrected=False).sum()
    fixed = edge_lengths(img > 0).sum()
    assert raw > truth * 1.05  # the plain 1/sqrt(2) chain is about 8 % long here
    assert fixed == pytest.approx(truth, rel=0.01)


def test_thin_keeps_tiny_components_and_is_one_pixel_wide(crackforest) -> None:
    block = np.zeros((10, 10), bool)
    block[4:6, 4:6] = True  # plain Zhang-Suen erases a 2x2 block
    assert thin(block).sum() == 1
    mask = read_mask(crackforest / "masks" / "097.png")
    skel = skeletonize(mask)
    # no 2x2 block of skeleton pixels
    s = skel.astype(np.uint8)
    assert not np.any(s[:-1, :-1] & s[1:, :-1] & s[:-1, 1:] & s[1:, 1:])
    # no redundant staircase pixel left: every non-end pixel is needed for connectivity
    padded = np.pad(s, 1)
    ys, xs = np.nonzero(padded)
    codes = _codes(padded, ys * padded.shape[1] + xs, padded.shape[1])
    assert not _REMOVABLE[codes].any()
    # thinning keeps the number of pieces
    n_mask = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)[0]
    n_skel = cv2.connectedComponents(s, connectivity=8)[0]
    assert n_mask == n_skel
    assert neighbour_count(skel).max() <= 4
