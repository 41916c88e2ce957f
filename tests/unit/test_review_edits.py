"""MaskEditor: every tool, undo/redo, the memory cap, on real CrackForest masks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from crackinspector.core.analysis.analyse import AnalysisSettings, analyse
from crackinspector.core.io.imageio import read_mask
from crackinspector.core.review.edits import TILE, MaskEditor, Rect, polygon_fill


@pytest.fixture
def truth(crackforest) -> np.ndarray:
    return read_mask(crackforest / "masks" / "005.png")


def test_brush_paints_a_capsule_of_pixel_centres_and_only_inside_its_box():
    editor = MaskEditor(np.zeros((200, 300), bool))
    rect = editor.stroke([(50.0, 100.0), (150.0, 100.0)], radius=5)
    assert rect == Rect(45, 95, 155, 105)
    ys, xs = np.nonzero(editor.mask)
    d = np.where(
        (xs + 0.5 >= 50) & (xs + 0.5 <= 150),
        np.abs(ys + 0.5 - 100),
        np.hypot(np.minimum(np.abs(xs + 0.5 - 50), np.abs(xs + 0.5 - 150)), ys + 0.5 - 100),
    )
    assert d.max() <= 5
    assert editor.mask[100, 45:155].all() and editor.mask[95:105, 100].all()
    assert not editor.mask[:, :45].any() and not editor.mask[:, 155:].any()
    assert editor.edited and editor.can_undo


def test_a_tiny_brush_still_paints_the_pixel_under_it():
    editor = MaskEditor(np.zeros((10, 10), bool))
    editor.stroke([(3.0, 4.0)], radius=0.1)  # on a pixel corner
    assert editor.mask[4, 3] and editor.mask.sum() <= 4


def test_eraser_removes_only_along_the_stroke(truth):
    editor = MaskEditor(truth)
    ys, xs = np.nonzero(truth)
    x, y = float(xs[len(xs) // 2]) + 0.5, float(ys[len(ys) // 2]) + 0.5
    rect = editor.stroke([(x - 10, y), (x + 10, y)], radius=6, erase=True)
    assert rect is not None
    assert not editor.mask[rect.slices()][capsule_mask(rect, (x - 10, y), (x + 10, y), 6)].any()
    outside = np.ones_like(truth)
    outside[rect.slices()] = False
    assert np.array_equal(editor.mask[outside], truth[outside])
    assert editor.mask.sum() < truth.sum()


def capsule_mask(rect, a, b, r):
    from crackinspector.core.review.edits import capsule

    return capsule(rect, a, b, r)


def test_an_incremental_stroke_is_one_undo_step():
    editor = MaskEditor(np.zeros((400, 400), bool))
    first = editor.begin_stroke((10, 10), 3)
    assert first is not None and editor.mask[10, 10]
    for x in range(20, 300, 10):
        dirty = editor.extend_stroke((x, 10 + x / 2))
        assert dirty is not None and dirty.width < 30  # each move repaints a small box
    whole = editor.end_stroke()
    assert whole is not None and whole.x1 > 290
    painted = editor.mask.copy()
    assert editor.undo() == whole
    assert not editor.mask.any() and not editor.edited
    assert editor.redo() == whole
    assert np.array_equal(editor.mask, painted)


def test_a_long_stroke_on_a_20_megapixel_mask_changes_only_its_path():
    h, w = 3648, 5472
    editor = MaskEditor(np.zeros((h, w), bool))
    rect = editor.stroke([(10, 10), (w - 10, h - 10)], radius=4)
    assert rect == Rect(6, 6, w - 6, h - 6)
    assert editor.mask.sum() < 9 * 6600  # a thin diagonal, not the box
    patches = editor._undo[-1].patches
    assert len(patches) < 3 * (h // TILE + w // TILE)  # only tiles along the diagonal
    assert editor.history_bytes < 2 * len(patches) * TILE * TILE // 8 + 1


def test_lasso_fill_and_erase_use_pixel_centres_inside_the_polygon():
    editor = MaskEditor(np.zeros((50, 50), bool))
    square = [(10, 10), (20, 10), (20, 20), (10, 20)]
    assert editor.lasso(square) == Rect(10, 10, 20, 20)
    assert editor.mask[10:20, 10:20].all() and editor.mask.sum() == 100
    triangle = [(10, 10), (20, 10), (10, 20)]
    editor.lasso(triangle, erase=True)
    ys, xs = np.nonzero(editor.mask)
    assert ((xs + 0.5) + (ys + 0.5) >= 30).all()  # what is left lies beyond the diagonal
    editor.undo()
    assert editor.mask.sum() == 100
    assert editor.lasso([(1, 1), (5, 5)]) is None  # not a polygon


def _ray_casting(poly: np.ndarray, h: int, w: int) -> np.ndarray:
    """Reference: every pixel centre tested against every edge, independently of the fill."""
    yy, xx = np.mgrid[0:h, 0:w]
    px, py = (xx.ravel() + 0.5)[:, None], (yy.ravel() + 0.5)[:, None]
    xa, ya = poly[:, 0][None, :], poly[:, 1][None, :]
    xb, yb = np.roll(poly[:, 0], -1)[None, :], np.roll(poly[:, 1], -1)[None, :]
    straddles = (ya > py) != (yb > py)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = xa + (py - ya) * (xb - xa) / (yb - ya)
    crossings = (straddles & (px > x_at)).sum(axis=1)
    return (crossings % 2 == 1).reshape(h, w)


def test_polygon_fill_is_exact_on_an_irregular_lasso():
    rng = np.random.default_rng(4)
    angles = np.sort(rng.uniform(0, 2 * np.pi, 40))
    radii = rng.uniform(20, 60, 40)
    poly = np.stack([100 + radii * np.cos(angles), 80 + radii * np.sin(angles)], axis=1)
    ours = polygon_fill(Rect(0, 0, 200, 160), poly)
    assert ours.sum() > 5000
    assert np.array_equal(ours, _ray_casting(poly, 160, 200))
    window = polygon_fill(Rect(60, 40, 140, 120), poly)  # a sub-rectangle agrees too
    assert np.array_equal(window, ours[40:120, 60:140])


def test_delete_crack_removes_the_whole_connected_crack_under_a_click(truth):
    editor = MaskEditor(truth)
    settings = AnalysisSettings(threshold=0.5, min_area_px=1)
    before = analyse(None, settings, mask=truth)
    _, labels = cv2.connectedComponents(truth.astype(np.uint8), connectivity=8)
    sizes = np.bincount(labels.ravel())[1:]
    biggest = int(np.argmax(sizes)) + 1
    ys, xs = np.nonzero(labels == biggest)
    rect = editor.delete_crack((xs[0] + 0.5, ys[0] + 0.5))
    assert rect == Rect(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    assert not editor.mask[labels == biggest].any()
    assert np.array_equal(editor.mask[labels != biggest], truth[labels != biggest])
    after = analyse(None, settings, mask=editor.mask)
    assert len(after.cracks) < len(before.cracks)
    editor.undo()
    assert np.array_equal(editor.mask, truth)


def test_delete_crack_finds_a_thin_crack_near_the_click_and_ignores_empty_space():
    mask = np.zeros((3000, 3000), bool)
    mask[1500, 100:2900] = True  # one pixel wide, longer than the first search window
    editor = MaskEditor(mask)
    assert editor.delete_crack((10.0, 10.0)) is None
    assert editor.delete_crack((1500.5, 1503.0), tolerance=4) == Rect(100, 1500, 2900, 1501)
    assert not editor.mask.any()


def test_reset_to_model_is_undoable(truth):
    editor = MaskEditor(truth)
    editor.stroke([(5, 5), (100, 5)], 3)
    editor.delete_crack(tuple(float(v) + 0.5 for v in np.argwhere(truth)[0][::-1]))
    assert editor.edited
    rect = editor.reset()
    assert rect is not None and np.array_equal(editor.mask, truth) and not editor.edited
    assert editor.reset() is None  # nothing to reset
    editor.undo()
    assert editor.edited


def test_new_edit_clears_redo_and_undo_history_is_capped():
    editor = MaskEditor(np.zeros((256, 6 * TILE), bool), max_undo_bytes=3 * 2 * TILE * TILE // 8)
    for i in range(6):  # each stroke changes one tile
        editor.stroke([(i * TILE + 100, 20), (i * TILE + 120, 20)], 3)
    assert len(editor._undo) == 3 and editor.history_truncated
    assert editor.history_bytes <= editor.max_undo_bytes
    while editor.can_undo:
        editor.undo()
    assert [editor.mask[:, i * TILE : (i + 1) * TILE].any() for i in range(6)] == [
        True, True, True, False, False, False]  # fmt: skip
    editor.redo()
    assert editor.can_redo
    assert editor.stroke([(500, 500)], 5) is None  # outside the photo: no edit, redo stays
    assert editor.can_redo
    editor.stroke([(100, 200)], 5)
    assert not editor.can_redo


def test_set_model_follows_an_unedited_mask_and_keeps_an_edited_one(truth):
    empty = np.zeros_like(truth)
    editor = MaskEditor(empty)
    assert editor.set_model(truth) and np.array_equal(editor.mask, truth)
    editor.stroke([(10, 10)], 4)
    edited = editor.mask.copy()
    assert not editor.set_model(empty)  # a new threshold never overwrites an edit
    assert np.array_equal(editor.mask, edited)
    editor.reset()
    assert not editor.mask.any()


def test_editor_refuses_masks_of_the_wrong_shape(truth):
    with pytest.raises(ValueError, match="does not match"):
        MaskEditor(truth, edited=np.zeros((5, 5), bool))
    with pytest.raises(ValueError, match="two-dimensional"):
        MaskEditor(np.zeros((2, 3, 4), bool))
