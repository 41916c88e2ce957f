"""The one overlay renderer: the photo with its cracks drawn on, for the CLI (`predict`),
the reports (`export`, PDF/HTML) and burned-in exports from the GUI.

`tint(image, mask)` blends crack pixels towards one colour (a mask without measurements).
`render_overlay(image, measurement)` tints each crack in its severity colour, outlines it,
rings its widest point and labels it ("#3 0.42 mm"). Only three kinds of pixels change:
crack pixels (tint and outline; the outline is drawn on the crack's own boundary pixels,
so with `outline_px` 1 it never leaves the mask), the rings and the label boxes; the
rectangles of rings and labels come back with the picture, so "everything else is the
photo, unchanged" can be checked. Exports keep overlays as PNG for the same reason.

Labels never overlap: cracks are labelled in the order of the report tables (most severe,
then longest first); each label takes the first of eight spots around its widest point that
overlaps no label already placed, and is left out when none is free. The crack tables list
every crack, so a dropped label loses nothing but clutter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from crackinspector.core.analysis.measure import Crack, ImageMeasurement

MAX_LABELS = 40  # the first cracks in table order get labels; more would hide the photo
CRACK_RED = (255, 0, 0)
Box = tuple[int, int, int, int]  # x0, y0, x1, y1 inclusive-exclusive


@dataclass
class Overlay:
    image: np.ndarray  # RGB uint8, same size as the photo
    marks: list[Box]  # rings and labels drawn outside the cracks
    outline_px: int
    labels: list[Box] = field(default_factory=list)  # the label boxes alone (never overlap)
    labelled: list[int] = field(default_factory=list)  # crack ids that got a label


def width_text(crack: Crack) -> str:
    """'#3 0.42 mm' with a calibration, '#3 5.1 px' without."""
    if crack.max_width_mm is not None:
        return f"#{crack.id} {crack.max_width_mm:.2f} mm"
    return f"#{crack.id} {crack.max_width_px:.1f} px"


def _rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {image.dtype}")
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return image[..., :3]


def _blend(out: np.ndarray, mask: np.ndarray, tint: np.ndarray, alpha: float) -> None:
    """Blend the pixels of `mask` towards `tint` (one RGB row per pixel, or one colour) in
    place. Only crack pixels are touched (a few % of a photo): no float copy of the photo."""
    picked = out[mask].astype(np.float32)
    out[mask] = np.clip(picked * (1.0 - alpha) + tint * alpha + 0.5, 0, 255).astype(np.uint8)


def tint(
    image: np.ndarray,
    mask: np.ndarray,
    color: tuple[int, int, int] = CRACK_RED,
    alpha: float = 0.5,
) -> np.ndarray:
    """RGB uint8 copy of `image` with the pixels of `mask` tinted towards `color`."""
    image = _rgb(image)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != image.shape[:2]:
        raise ValueError(f"mask {mask.shape} does not match image {image.shape[:2]}")
    out = image.copy()
    _blend(out, mask, np.asarray(color, np.float32)[None, :], float(np.clip(alpha, 0.0, 1.0)))
    return out


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _place_label(
    anchor: tuple[int, int],
    size: tuple[int, int],
    gap: int,
    shape: tuple[int, int],
    taken: list[Box],
    rings: Sequence[Box] = (),
) -> Box | None:
    """The first of eight spots around the anchor (right, left, above, below, then the
    corners) inside the photo that overlaps no label in `taken`, preferring one that also
    leaves the rings free; None when every spot overlaps a label."""
    (ax, ay), (tw, th) = anchor, size
    h, w = shape
    if tw > w or th > h:
        return None
    candidates = [
        (ax + gap, ay - th // 2),
        (ax - gap - tw, ay - th // 2),
        (ax - tw // 2, ay - gap - th),
        (ax - tw // 2, ay + gap),
        (ax + gap, ay - gap - th),
        (ax - gap - tw, ay - gap - th),
        (ax + gap, ay + gap),
        (ax - gap - tw, ay + gap),
    ]
    boxes = []
    for x, y in candidates:
        x = int(min(max(x, 0), w - tw))
        y = int(min(max(y, 0), h - th))
        boxes.append((x, y, x + tw, y + th))
    free = [b for b in boxes if not any(_overlaps(b, other) for other in taken)]
    clear = [b for b in free if not any(_overlaps(b, r) for r in rings)]
    picks = clear or free
    return picks[0] if picks else None


def _outline(out: np.ndarray, labels_img: np.ndarray, c: Crack, color, outline_px: int) -> None:
    """Draw the crack's boundary on its own pixels (inside the crack when 1 px wide)."""
    x0, y0, bw, bh = c.bbox
    sub = (labels_img[y0 : y0 + bh, x0 : x0 + bw] == c.label).astype(np.uint8)
    contours, _ = cv2.findContours(sub, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    layer = np.zeros_like(sub)
    cv2.drawContours(layer, contours, -1, 1, outline_px)
    if outline_px == 1:
        layer &= sub
    out[y0 : y0 + bh, x0 : x0 + bw][layer > 0] = color


def render_overlay(
    image: np.ndarray,
    measurement: ImageMeasurement,
    alpha: float = 0.5,
    labels: bool = True,
) -> Overlay:
    """A copy of `image` with the measurement drawn on it (see the module docstring)."""
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError("render_overlay needs an RGB uint8 photo")
    h, w = image.shape[:2]
    if (measurement.height, measurement.width) != (h, w):
        raise ValueError(
            f"measurement is {measurement.width}x{measurement.height}, photo is {w}x{h}"
        )
    out = image.copy()
    result = Overlay(out, [], max(1, round(min(h, w) / 800)))
    if not measurement.cracks:
        return result
    scale = measurement.severity_scale
    colors = np.zeros((len(measurement.cracks) + 1, 3), np.float32)
    for c in measurement.cracks:
        colors[c.label] = scale.color_of(c.severity)
    labels_img = measurement.labels
    crack = labels_img > 0
    _blend(out, crack, colors[labels_img[crack]], alpha)
    for c in measurement.cracks:
        color = tuple(int(v) for v in scale.color_of(c.severity))
        _outline(out, labels_img, c, color, result.outline_px)
    if labels:
        _draw_labels(result, measurement)
    return result


def _draw_labels(result: Overlay, measurement: ImageMeasurement) -> None:
    """Rings at the widest points first, then the labels on top (see the module docstring)."""
    out, outline_px = result.image, result.outline_px
    h, w = out.shape[:2]
    font = cv2.FONT_HERSHEY_SIMPLEX
    font_scale = max(0.4, min(h, w) / 900)
    thickness = max(1, round(font_scale * 1.5))
    pad = max(2, round(3 * font_scale))
    chosen = list(measurement.cracks[:MAX_LABELS])  # analyse(): worst, then longest first
    radii = []
    for c in chosen:
        x, y = c.widest_point
        r = round(c.max_width_px / 2 + 3 + outline_px)
        cv2.circle(out, (x, y), r, (255, 255, 255), outline_px, cv2.LINE_8)
        e = r + outline_px
        result.marks.append((max(x - e, 0), max(y - e, 0), min(x + e + 1, w), min(y + e + 1, h)))
        radii.append(r)
    rings = list(result.marks)
    for c, r in zip(chosen, radii, strict=True):
        text = width_text(c)
        (tw, th), base = cv2.getTextSize(text, font, font_scale, thickness)
        size = (tw + 2 * pad, th + base + 2 * pad)
        box = _place_label(c.widest_point, size, r + 2, (h, w), result.labels, rings)
        if box is None:
            continue
        result.labels.append(box)
        result.labelled.append(c.id)
        result.marks.append(box)
        bx0, by0, bx1, by1 = box
        out[by0:by1, bx0:bx1] = (out[by0:by1, bx0:bx1] * 0.25).astype(np.uint8)
        org = (bx0 + pad, by1 - pad - base)
        cv2.putText(out, text, org, font, font_scale, (255, 255, 255), thickness, cv2.LINE_AA)


def figure_jpeg(overlay: np.ndarray, max_side: int = 1400, quality: int = 85) -> bytes:
    """A smaller JPEG of an overlay for the PDF (the PNG stays the lossless record)."""
    h, w = overlay.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale < 1.0:
        overlay = cv2.resize(
            overlay, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA
        )
    ok, buf = cv2.imencode(".jpg", overlay[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("could not encode the report figure")
    return buf.tobytes()
