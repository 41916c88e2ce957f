"""Sub-pixel crack widths from the photo's intensity profile, on cracks rendered onto a real
crack-free surface photo with lens blur and noise."""

from __future__ import annotations

import itertools
import math

import cv2
import numpy as np
import pytest

from crackinspector.core.analysis.analyse import AnalysisSettings, analyse
from crackinspector.core.analysis.measure import measure_mask
from crackinspector.core.analysis.width import darkness, profile_widths, resolve_method

SIZE = 320


@pytest.fixture(scope="module")
def surface(shared_data) -> np.ndarray:
    """A real crack-free concrete-plate photo (negatives), centre crop, RGB uint8."""
    files = sorted((shared_data / "negatives" / "images").glob("pavements__concrete-plates__*"))
    for f in files:
        img = cv2.imread(str(f))
        if img is not None and min(img.shape[:2]) >= 256:
            h, w = img.shape[:2]
            s = min(h, w)
            crop = img[(h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
            return cv2.resize(crop, (SIZE, SIZE), interpolation=cv2.INTER_AREA)[..., ::-1].copy()
    pytest.skip("no concrete-plate negative of 256 px")


def polyline_distance(points: np.ndarray) -> np.ndarray:
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    best = np.full((SIZE, SIZE), np.inf)
    for a, b in itertools.pairwise(points):
        d = b - a
        t = np.clip(((xx - a[0]) * d[0] + (yy - a[1]) * d[1]) / (d @ d), 0, 1)
        best = np.minimum(best, np.hypot(xx - a[0] - t * d[0], yy - a[1] - t * d[1]))
    return best


def render(surface: np.ndarray, points: np.ndarray, width: float, seed: int = 0):
    """(photo, the model-like mask: the crack grown by a pixel each side)."""
    rng = np.random.default_rng(seed)
    dist = polyline_distance(points)
    cover = np.clip(width / 2 - dist + 0.5, 0, 1)  # anti-aliased cross-section
    dark = cv2.GaussianBlur(cover.astype(np.float32), (0, 0), 0.8) * 0.55
    img = surface.astype(np.float32) * (1 - dark[..., None]) + rng.normal(0, 3, surface.shape)
    return np.clip(img, 0, 255).astype(np.uint8), dist <= width / 2 + 1.0


LINE = np.array([[40.0, 250.0], [290.0, 90.0]])  # about 33 degrees
ARC = np.array(
    [(160 + 130 * math.cos(a), 300 - 130 * math.sin(a)) for a in np.linspace(0.5, 2.6, 60)]
)


@pytest.mark.parametrize("width", [3.0, 4.5, 6.0, 7.5, 10.0, 13.0])
@pytest.mark.parametrize("shape", ["line", "arc"])
def test_subpixel_width_on_rendered_cracks(surface, shape: str, width: float) -> None:
    photo, mask = render(surface, LINE if shape == "line" else ARC, width)
    m = analyse(None, AnalysisSettings(0.5), mask=mask, image=photo)
    assert m.n_cracks == 1
    c = m.cracks[0]
    assert c.width_method == "intensity"
    assert c.mean_width_px == pytest.approx(width, abs=0.5)
    assert c.median_width_px == pytest.approx(width, abs=0.5)
    assert width - 0.5 <= c.max_width_px <= width + 1.5
    x, y = c.widest_point
    assert mask[y, x]
    # the mask alone reads the grown mask: two pixels too wide, in whole pixels
    plain = measure_mask(mask).cracks[0]
    assert plain.width_method == "mask"
    assert plain.mean_width_px > width + 1.0


def test_half_pixel_steps_are_told_apart(surface) -> None:
    widths = []
    for w in (4.0, 4.5, 5.0, 5.5):
        photo, mask = render(surface, LINE, w, seed=1)
        widths.append(analyse(None, AnalysisSettings(0.5), mask=mask, image=photo).cracks[0])
    means = [c.mean_width_px for c in widths]
    assert means == sorted(means)
    assert all(b - a == pytest.approx(0.5, abs=0.25) for a, b in itertools.pairwise(means))


def test_no_contrast_falls_back_to_the_mask() -> None:
    flat = np.full((SIZE, SIZE, 3), 128, np.uint8)
    mask = polyline_distance(LINE) <= 3.0
    c = analyse(None, AnalysisSettings(0.5), mask=mask, image=flat).cracks[0]
    assert c.width_method == "mask"
    assert c.mean_width_px == pytest.approx(measure_mask(mask).cracks[0].mean_width_px)


def test_a_neighbouring_crack_does_not_widen_the_profile(surface) -> None:
    """Two parallel cracks 5 px apart: each keeps its width, the gap is not counted."""
    a = LINE
    b = LINE + np.array([0.0, 11.0])  # centre lines 11 px apart vertically, ~9 px normal
    photo, mask_a = render(surface, a, 4.0)
    dist_b = polyline_distance(b)
    cover = np.clip(2.0 - dist_b + 0.5, 0, 1)
    dark = cv2.GaussianBlur(cover.astype(np.float32), (0, 0), 0.8) * 0.55
    photo = np.clip(photo.astype(np.float32) * (1 - dark[..., None]), 0, 255).astype(np.uint8)
    mask = mask_a | (dist_b <= 3.0)
    m = analyse(None, AnalysisSettings(0.5), mask=mask, image=photo)
    assert m.n_cracks == 2
    for c in m.cracks:
        assert c.mean_width_px == pytest.approx(4.0, abs=0.6)


def test_probability_evidence_and_method_choice() -> None:
    """The probability profile is measured the same way (a blurred band of known width)."""
    dist = polyline_distance(LINE)
    band = np.clip(3.5 - dist + 0.5, 0, 1).astype(np.float32)  # 7 px
    prob = cv2.GaussianBlur(band, (0, 0), 1.0)
    m = analyse(prob, AnalysisSettings(0.3, width_method="probability"))
    assert m.cracks[0].width_method == "probability"
    assert m.cracks[0].mean_width_px == pytest.approx(7.0, abs=0.5)
    assert resolve_method("auto", has_image=True, has_probability=True) == "intensity"
    assert resolve_method("auto", has_image=False, has_probability=True) == "mask"
    assert resolve_method("probability", has_image=True, has_probability=False) == "mask"
    with pytest.raises(ValueError, match="width method"):
        resolve_method("fwhm", True, True)


def test_profile_widths_direct_and_darkness() -> None:
    grey = np.full((40, 60), 200, np.uint8)
    grey[18:23, :] = 80  # a 5-px dark band, horizontal
    ev = darkness(grey)
    assert ev.dtype == np.float32 and ev.max() <= 1 and ev.min() >= 0
    xs = np.arange(10, 50)
    ys = np.full(xs.shape, 20)
    w, ok = profile_widths(ev, ys, xs, np.zeros(xs.shape), np.full(xs.shape, 7.0), 0.03)
    assert ok.all()
    assert np.allclose(w, 5.0, atol=0.01)
    rgb = np.repeat(grey[..., None], 3, 2)
    assert np.allclose(darkness(rgb), ev, atol=1 / 255)


@pytest.mark.slow
def test_bundled_model_and_photo_give_the_true_width(surface) -> None:
    """The whole chain on a rendered 6-px crack: the real bundled model finds it, its mask
    is wider than the crack, and the photo's profile gives the width back (slow: one
    320 x 320 photo through the ResNet34 U-Net on the CPU)."""
    from crackinspector.core.infer.predictor import Predictor

    predictor = Predictor("unet-resnet34", backend="torch", device="cpu")
    photo, _ = render(surface, LINE, 6.0, seed=2)
    prob = predictor.predict(photo)
    m = analyse(prob, AnalysisSettings(predictor.threshold), image=photo)
    near = polyline_distance(LINE) <= 8
    on = [c for c in m.cracks if near[m.labels == c.label].mean() > 0.5]
    assert len(on) == 1
    crack = on[0]
    assert crack.width_method == "intensity"
    # unet-resnet34 2.6.0 reads 5.86 px here (2.5: 5.96, 2.4: 5.97, 2.3: 6.02); issue
    # 12's target, a mean error of at most 0.5 px per width band, is measured by
    # benchmarks/bench_width.py
    assert crack.mean_width_px == pytest.approx(6.0, abs=0.5)
    assert crack.confidence is not None and crack.confidence > predictor.threshold
    # without the photo the same crack reads the model's mask, which is no closer: 4.73 px
    # with 2.6 (narrower than the crack), 6.32 px with 2.5, 6.51 px with 2.4, 6.29 with 2.3,
    # over 7 with 2.0 to 2.2, over 8 with 1.0
    mask_only = analyse(prob, AnalysisSettings(predictor.threshold))
    (same,) = [c for c in mask_only.cracks if near[mask_only.labels == c.label].mean() > 0.5]
    assert same.width_method == "mask"
    assert abs(crack.mean_width_px - 6.0) <= abs(same.mean_width_px - 6.0)
