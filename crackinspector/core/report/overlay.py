"""The annotated picture of a report: cracks tinted by severity, outlined, widest points labelled.

Only three kinds of pixels change: crack pixels (tint and outline; the outline is drawn on
the crack's own boundary pixels, so with `outline_px` 1 it never leaves the mask), the ring
around each widest point, and the label boxes. `render_overlay` returns the rectangles of
the rings and labels with the picture, so "everything else is the photo, unchanged" can be
checked. Exports keep overlays as PNG for the same reason: lossless.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from crackinspector.core.analysis.measure import Crack, ImageMeasurement

MAX_LABELS = 40  # the widest cracks get labels; more would hide the photo
Box = tuple[int, int, int, int]  # x0, y0, x1, y1 inclusive-exclusive


@dataclass
class Overlay:
    image: np.ndarray  # RGB uint8, same size as the photo
    marks: list[Box]  # rings and labels drawn outside the cracks
    outline_px: int


def width_text(crack: Crack) -> str:
    """'#3 0.42 mm' with a calibration, '#3 5.1 px' without."""
    if crack.max_width_mm is not None:
        return f"#{crack.id} {crack.max_width_mm:.2f} mm"
    return f"#{crack.id} {crack.max_width_px:.1f} px"


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _place_label(
    anchor: tuple[int, int], size: tuple[int, int], gap: int, shape: tuple[int, int], taken: list
) -> Box:
    """Right, left, above or below the anchor, the first spot that overlaps no other label."""
    (ax, ay), (tw, th) = anchor, size
    h, w = shape
    candidates = [
        (ax + gap, ay - th // 2),
        (ax - gap - tw, ay - th // 2),
        (ax - tw // 2, ay - gap - th),
        (ax - tw // 2, ay + gap),
    ]
    boxes = []
    for x, y in candidates:
        x = int(min(max(x, 0), max(w - tw, 0)))
        y = int(min(max(y, 0), max(h - th, 0)))
        boxes.append((x, y, min(x + tw, w), min(y + th, h)))
    for box in boxes:
        if not any(_overlaps(box, other) for other in taken):
            return box
    return boxes[0]


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
    marks: list[Box] = []
    outline_px = max(1, round(min(h, w) / 800))
    if not measurement.cracks:
        return Overlay(out, marks, outline_px)
    scale = measurement.severity_scale
    colors = np.zeros((len(measurement.cracks) + 1, 3), np.float32)
    for c in measurement.cracks:
        colors[c.label] = scale.color_of(c.severity)
    labels_img = measurement.labels
    crack = labels_img > 0
    picked = out[crack].astype(np.float32)
    tint = colors[labels_img[crack]]
    out[crack] = np.clip(picked * (1 - alpha) + tint * alpha + 0.5, 0, 255).astype(np.uint8)

    # outlines on each crack's boundary pixels (inside the crack)
    for c in measurement.cracks:
        x0, y0, bw, bh = c.bbox
        sub = (labels_img[y0 : y0 + bh, x0 : x0 + bw] == c.label).astype(np.uint8)
        contours, _ = cv2.findContours(sub, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
        color = tuple(int(v) for v in scale.color_of(c.severity))
        layer = np.zeros_like(sub)
        cv2.drawContours(layer, contours, -1, 1, outline_px)
        if outline_px == 1:
            layer &= sub
        region = out[y0 : y0 + bh, x0 : x0 + bw]
        region[layer > 0] = color

    if not labels:
        return Overlay(out, marks, outline_px)
    font = cv2.FONT_HERSHEY_SIMPLEX
    font_scale = max(0.4, min(h, w) / 900)
    thickness = max(1, round(font_scale * 1.5))
    pad = max(2, round(3 * font_scale))
    widest_first = sorted(measurement.cracks, key=lambda c: -c.max_width_px)[:MAX_LABELS]
    taken: list[Box] = []
    for c in widest_first:
        x, y = c.widest_point
        r = round(c.max_width_px / 2 + 3 + outline_px)
        cv2.circle(out, (x, y), r, (255, 255, 255), outline_px, cv2.LINE_8)
        e = r + outline_px
        marks.append((max(x - e, 0), max(y - e, 0), min(x + e + 1, w), min(y + e + 1, h)))
        text = width_text(c)
        (tw, th), base = cv2.getTextSize(text, font, font_scale, thickness)
        box = _place_label((x, y), (tw + 2 * pad, th + base + 2 * pad), r + 2, (h, w), taken)
        taken.append(box)
        marks.append(box)
        bx0, by0, bx1, by1 = box
        out[by0:by1, bx0:bx1] = (out[by0:by1, bx0:bx1] * 0.25).astype(np.uint8)
        org = (bx0 + pad, by1 - pad - base)
        cv2.putText(out, text, org, font, font_scale, (255, 255, 255), thickness, cv2.LINE_AA)
    return Overlay(out, marks, outline_px)


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
