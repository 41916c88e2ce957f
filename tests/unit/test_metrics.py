"""Metric values on hand-made masks, in both protocols."""

from __future__ import annotations

import numpy as np
import pytest

from crackinspector.core.analysis.metrics import SetMetrics, count


def _line(shape, row, cols):
    m = np.zeros(shape, bool)
    m[row, cols[0] : cols[1]] = True
    return m


def test_strict_counts_on_hand_made_masks():
    truth = _line((20, 20), 10, (0, 10))  # 10 true pixels
    pred = _line((20, 20), 10, (5, 15))  # 10 predicted, 5 overlap
    s = count(pred, truth).scores()
    assert s["precision"] == pytest.approx(0.5)
    assert s["recall"] == pytest.approx(0.5)
    assert s["f1"] == pytest.approx(0.5)
    assert s["iou"] == pytest.approx(5 / 15)


def test_tolerance_accepts_a_two_pixel_shift_but_not_three():
    truth = _line((20, 30), 10, (5, 25))
    near = _line((20, 30), 12, (5, 25))  # 2 px off
    far = _line((20, 30), 13, (5, 25))  # 3 px off
    assert count(near, truth).scores()["f1"] == 0.0
    assert count(near, truth, tolerance=2).scores()["f1"] == pytest.approx(1.0)
    assert count(far, truth, tolerance=2).scores()["f1"] == 0.0


def test_tolerant_precision_and_recall_differ_when_prediction_is_thick():
    truth = _line((20, 20), 10, (0, 20))  # 20 px thin line
    pred = np.zeros((20, 20), bool)
    pred[6:15, :] = True  # 9 rows thick: rows 8..12 lie within 2 px
    s = count(pred, truth, tolerance=2).scores()
    assert s["recall"] == pytest.approx(1.0)
    assert s["precision"] == pytest.approx(5 / 9)


def test_set_metrics_sum_counts_over_images_and_sweep_thresholds():
    truth = _line((10, 10), 5, (0, 10))
    prob = np.where(truth, 0.7, 0.0).astype(np.float32)
    prob[0, :] = 0.4  # a false alarm only at thresholds <= 0.4
    m = SetMetrics(threshold=0.5)
    m.add(prob, truth)
    m.add(np.zeros_like(prob), truth)  # a second image where everything is missed
    r = m.result()
    assert r["images"] == 2
    assert r["precision"] == pytest.approx(1.0)
    assert r["recall"] == pytest.approx(0.5)
    assert r["best_threshold"] > 0.4 and r["best_f1"] == pytest.approx(2 / 3)
    again = SetMetrics(threshold=0.5)
    again.load_array(m.as_array())
    assert again.result() == r


def test_empty_prediction_and_truth_give_zero_not_nan():
    z = np.zeros((5, 5), bool)
    assert count(z, z).scores() == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "iou": 0.0}


def test_best_for_both_takes_the_highest_threshold_with_the_best_sum_of_f1s():
    """A crack whose right half is faint (0.32) and a detection 2 px beside it (0.6): below
    0.32 both halves are found (strict 0.8, 2-px 1.0, the best sum, on 0.05..0.30); above it
    strict F1 drops to 0.5 and then 0.67 while 2-px F1 stays at most 1.0."""
    truth = _line((20, 20), 10, (0, 20))
    prob = np.zeros((20, 20), np.float32)
    prob[10, :10], prob[10, 10:], prob[12, 10:] = 0.9, 0.32, 0.6
    m = SetMetrics()
    m.add(prob, truth)
    threshold, strict, tolerant = m.best_for_both()
    assert threshold == pytest.approx(0.30)
    assert strict == pytest.approx(0.8) and tolerant == pytest.approx(1.0)


def test_a_set_read_at_another_sweep_threshold_equals_the_set_accumulated_there():
    """Counts read from the sweep at 0.30 are those of a set accumulated at 0.30."""
    truth = _line((20, 20), 10, (0, 20))
    prob = np.zeros((20, 20), np.float32)
    prob[10, :10], prob[10, 10:], prob[12, 10:] = 0.9, 0.32, 0.6
    at_half, at_030 = SetMetrics(threshold=0.5), SetMetrics(threshold=0.3)
    for m in (at_half, at_030):
        m.add(prob, truth)
    read = at_half.at(0.3)
    assert read.result() == at_030.result()
    assert read.result()["f1"] != at_half.result()["f1"]
    with pytest.raises(ValueError, match="not in this set's sweep"):
        at_half.at(0.33)
