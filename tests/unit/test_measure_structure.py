"""Crack structure and the crack list: spur pruning, gap bridging, confidence filter, order,
and the counts of what the filters left out."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from crackinspector.core.analysis.analyse import AnalysisSettings, analyse
from crackinspector.core.analysis.measure import measure_mask
from crackinspector.core.analysis.severity import PRESETS
from crackinspector.core.analysis.skeleton import neighbour_count, skeletonize
from crackinspector.core.io.imageio import read_mask

H, W = 300, 400


def stroke(mask: np.ndarray, points, width: float) -> np.ndarray:
    """Pixels whose centre lies within width/2 of the polyline (round caps)."""
    yy, xx = np.mgrid[0 : mask.shape[0], 0 : mask.shape[1]].astype(float)
    p = np.asarray(points, float)
    for a, b in itertools.pairwise(p):
        d = b - a
        t = np.clip(((xx - a[0]) * d[0] + (yy - a[1]) * d[1]) / max(d @ d, 1e-12), 0, 1)
        mask |= np.hypot(xx - a[0] - t * d[0], yy - a[1] - t * d[1]) <= width / 2 + 1e-9
    return mask


# ------------------------------------------------------------------ spurs


def test_bumps_shorter_than_the_width_are_pruned() -> None:
    mask = stroke(np.zeros((H, W), bool), [(40, 150), (360, 150)], 11)
    mask[142:159, 200:204] = True  # a bump 3 px beyond either edge of an 11-px crack
    skel = skeletonize(mask)
    assert (neighbour_count(skel) >= 3).sum() == 0  # no junction left: the spur is gone
    c = measure_mask(mask).cracks[0]
    assert c.junctions == 0 and c.end_points == 2


def test_side_cracks_longer_than_the_width_stay() -> None:
    mask = stroke(np.zeros((H, W), bool), [(40, 150), (360, 150)], 7)
    stroke(mask, [(200, 150), (200, 150 - 3.5 - 12)], 3)  # 12 px beyond the edge
    c = measure_mask(mask).cracks[0]
    assert c.junctions == 1 and c.end_points == 3
    assert c.length_px == pytest.approx(320 + 6 + 15.5 + 1, rel=0.03)


# ------------------------------------------------------------------ gaps


def broken_line(gaps: list[tuple[int, int]], width: int = 5, y: int = 150) -> np.ndarray:
    """A line from x=30 to 370 in round-capped pieces; `gaps`: (first, last) missing x."""
    mask = np.zeros((H, W), bool)
    r = width / 2
    start = 30.0
    for first, last in [*gaps, (371, 371)]:
        stroke(mask, [(start, y), (first - 1 - r, y)], width)
        start = last + 1 + r
    return mask


def test_a_crack_broken_by_small_gaps_is_one_crack() -> None:
    mask = broken_line([(120, 122), (250, 253)])  # 3 px and 4 px of missing crack
    assert not mask[:, 120:123].any() and mask[150, 119] and mask[150, 123]
    m = measure_mask(mask)
    assert m.n_cracks == 1
    c = m.cracks[0]
    assert c.gaps == 2
    assert c.gap_px == pytest.approx(7.0, abs=1.0)
    assert c.length_px == pytest.approx(340, rel=0.02)  # the gaps are part of the length
    assert c.end_points == 2
    assert c.area_px == int(mask.sum())
    x0, _y0, bw, _bh = c.bbox
    assert x0 == 28 and x0 + bw == 371  # all pieces, caps included


def test_wide_gaps_and_side_by_side_pieces_stay_apart() -> None:
    wide = broken_line([(150, 164)])  # 15 px: two cracks
    assert measure_mask(wide).n_cracks == 2
    assert all(c.gaps == 0 for c in measure_mask(wide).cracks)
    # parallel pieces whose ends are near but do not face each other
    side = stroke(np.zeros((H, W), bool), [(30, 100), (200, 100)], 3)
    stroke(side, [(203, 106), (370, 106)], 3)
    assert measure_mask(side).n_cracks == 2
    # a piece that turns away at the gap (90 degrees) is another crack
    turn = stroke(np.zeros((H, W), bool), [(30, 100), (200, 100)], 3)
    stroke(turn, [(204, 103), (204, 280)], 3)
    assert measure_mask(turn).n_cracks == 2


def test_specks_near_a_crack_are_not_bridged() -> None:
    mask = stroke(np.zeros((H, W), bool), [(30, 150), (200, 150)], 3)
    mask[149:152, 203:206] = True  # a 9-px speck 2 px past the crack's end
    m = measure_mask(mask, min_area_px=20)
    assert m.n_cracks == 1 and m.cracks[0].gaps == 0 and m.specks_removed == 1


# ------------------------------------------------------------------ confidence, order, counts


def three_cracks() -> tuple[np.ndarray, np.ndarray]:
    """A long faint crack, a short strong wide one, a long strong thin one, and specks."""
    mask = np.zeros((H, W), bool)
    prob = np.zeros((H, W), np.float32)
    for points, width, p in (
        ([(20, 40), (380, 40)], 3, 0.45),  # faint
        ([(50, 150), (150, 150)], 9, 0.95),  # wide
        ([(20, 250), (380, 250)], 3, 0.9),  # thin, long
    ):
        one = stroke(np.zeros((H, W), bool), points, width)
        mask |= one
        prob[one] = p
    for x in range(40, 360, 40):  # 8 specks of 4 px
        mask[200:202, x : x + 2] = True
        prob[200:202, x : x + 2] = 0.9
    return mask, prob


def test_confidence_is_the_mean_probability_on_the_skeleton() -> None:
    mask, prob = three_cracks()
    m = analyse(prob, AnalysisSettings(0.3))
    assert m.n_cracks == 3
    assert sorted(round(c.confidence, 2) for c in m.cracks) == [0.45, 0.9, 0.95]
    assert all(c.confidence is None for c in measure_mask(mask).cracks)


def test_minimum_confidence_filter_and_counts() -> None:
    mask, prob = three_cracks()
    m = analyse(prob, AnalysisSettings(0.3, min_area_px=20, min_confidence=0.6))
    assert m.n_cracks == 2
    assert all(c.confidence >= 0.6 for c in m.cracks)
    assert m.low_confidence_removed == 1 and m.specks_removed == 8
    assert m.filtered_note == "8 marks under 20 px and 1 crack under 60% confidence not listed"
    # the dropped crack is gone from the pixels too: totals and drawings agree with the list
    assert m.crack_area_px == int((m.labels > 0).sum())
    assert not m.labels[40, 200] and not m.skeleton[38:43, :].any()
    # an edited mask is a person's decision: confidences reported, nothing filtered by them
    edited = analyse(prob, AnalysisSettings(0.3, min_confidence=0.6), mask=mask)
    assert edited.n_cracks == 3 and edited.low_confidence_removed == 0
    assert min(c.confidence for c in edited.cracks) == pytest.approx(0.45)
    # the filter itself, on any mask, is measure_mask's
    assert measure_mask(mask, probability=prob, min_confidence=0.6).n_cracks == 2
    none = analyse(prob, AnalysisSettings(0.3))
    assert none.filtered_note == "8 marks under 20 px not listed"


def test_cracks_sorted_by_severity_then_length() -> None:
    _mask, prob = three_cracks()
    m = analyse(prob, AnalysisSettings(0.3, severity=PRESETS["pixels"]))
    # wide (9 px: "wide") first, then the two 3-px ("thin") ones, longer first
    assert [c.severity for c in m.cracks] == ["wide", "thin", "thin"]
    assert m.cracks[1].length_px >= m.cracks[2].length_px
    assert [c.index for c in m.cracks] == [0, 1, 2]
    for c in m.cracks:  # labels follow the order: label == id
        assert c.label == c.id
        x, y = c.widest_point
        assert m.labels[y, x] == c.label
    # a new scale re-sorts: on a scale where every crack is in one class, longest first
    one_class = PRESETS["pixels"].with_limits([50.0, 60.0])
    r = m.reclassified(one_class)
    assert [c.length_px for c in r.cracks] == sorted((c.length_px for c in r.cracks), reverse=True)
    assert all(r.labels[c.widest_point[1], c.widest_point[0]] == c.label for c in r.cracks)


def test_real_mask_is_listed_worst_first(crackforest) -> None:
    m = measure_mask(read_mask(crackforest / "masks" / "041.png"), mm_per_px=0.05)
    names = m.severity_scale.names
    ranks = [names.index(c.severity) for c in m.cracks]
    assert ranks == sorted(ranks, reverse=True)
    for a, b in itertools.pairwise(m.cracks):
        if a.severity == b.severity:
            assert a.length_px >= b.length_px
