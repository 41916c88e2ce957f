"""What an export collected, as plain data: one source for the PDF, HTML, CSV and JSON.

`report_dict` is the JSON document (schema in docs/REPORTS.md); the CSV rows and the
PDF/HTML tables are read from the same dictionaries, so the formats cannot disagree.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crackinspector import __version__
from crackinspector.core.analysis.measure import Crack, ImageMeasurement
from crackinspector.core.analysis.severity import (
    BELOW_RESOLUTION,
    BELOW_RESOLUTION_COLOR,
    SeverityScale,
)

SCHEMA_VERSION = 2  # 2: review status per image, inspection details, review progress
PX_DIGITS = 3
MM_DIGITS = 4


def _r(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


@dataclass
class ImageRecord:
    """One input image's outcome."""

    path: Path
    key: str  # file stem used for this image's output files (unique within the export)
    status: str = "ok"  # "ok" or "failed"
    error: str | None = None
    measurement: ImageMeasurement | None = None
    calibration_source: str = "none"  # fixed, image, folder, none
    files: dict[str, str] = field(default_factory=dict)  # overlay/mask/prob -> relative path
    exported: bool = True  # False when only cracked images are exported and this has none
    figure: bytes | None = field(default=None, repr=False)  # JPEG for the PDF
    seconds: float = 0.0
    index: int = 0  # position in the whole photo list (before any --shard split)
    review: dict[str, Any] = field(default_factory=lambda: dict(UNREVIEWED_ENTRY))
    inspection: int | None = None  # index into the report's inspections (None: no store)

    @property
    def ok(self) -> bool:
        return self.status == "ok" and self.measurement is not None

    @property
    def cracked(self) -> bool:
        m = self.measurement
        return self.status == "ok" and m is not None and m.n_cracks > 0


@dataclass
class ReportInfo:
    """How the images were analysed: printed on the summary page and stored in the JSON."""

    model_name: str
    threshold: float
    min_area_px: int
    severity: SeverityScale
    model_identity: str | None = None
    model_description: str = ""
    fixed_mm_per_px: float | None = None
    only_cracked: bool = False
    runtime: str = ""  # where the model ran: "CPU (ONNX)", "CUDA (PyTorch)"; "" for masks
    min_confidence: float = 0.0
    inspections: list[dict[str, Any]] = field(default_factory=list)  # inspection_entry()s
    review: dict[str, Any] | None = None  # review_progress() over every photo given
    reviewed_only: bool = False  # only accepted and corrected photos are in the report
    created: _dt.datetime = field(
        default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    )


UNREVIEWED_ENTRY: dict[str, Any] = {
    "status": "unreviewed",
    "reviewer": "",
    "reviewed_at": None,
    "note": "",
    "model": None,
    "threshold": None,
    "changed": False,
    "mask": "model",
}
REVIEW_STATUSES = ("unreviewed", "accepted", "false_alarm", "corrected", "follow_up")
STATUS_TEXT = {
    "unreviewed": "unreviewed",
    "accepted": "accepted",
    "false_alarm": "false alarm",
    "corrected": "corrected",
    "follow_up": "follow-up",
}
INSPECTION_FIELDS = ("project", "element", "location", "inspector", "date", "notes")


def review_entry(
    status: str,
    reviewer: str = "",
    reviewed_at: str | None = None,
    note: str = "",
    model: str | None = None,
    threshold: float | None = None,
    changed: bool = False,
    mask: str = "model",
) -> dict[str, Any]:
    """An image's `review` object: the decision, and which mask was measured ('model',
    'edited' for a corrected photo's mask, 'empty' for a false alarm)."""
    return {
        "status": status,
        "reviewer": reviewer,
        "reviewed_at": reviewed_at,
        "note": note,
        "model": model,
        "threshold": threshold,
        "changed": changed,
        "mask": mask,
    }


def review_progress(
    counts: dict[str, int], changed: int = 0, left_out: int = 0, reviewed_only: bool = False
) -> dict[str, Any]:
    """The report's `review` object: counts by status over every photo given."""
    full = {s: int(counts.get(s, 0)) for s in REVIEW_STATUSES}
    total = sum(full.values())
    return {
        "photos": total,
        "reviewed": total - full["unreviewed"],
        "counts": full,
        "changed": changed,
        "reviewed_only": reviewed_only,
        "left_out": left_out,
    }


def review_text(review: dict[str, Any]) -> str:
    """'37 of 120 reviewed: 20 accepted, 5 corrected, 10 false alarms, 2 follow-up'."""
    c = review["counts"]
    parts = [
        f"{c['accepted']} accepted",
        f"{c['corrected']} corrected",
        f"{c['false_alarm']} false alarm" + ("" if c["false_alarm"] == 1 else "s"),
        f"{c['follow_up']} follow-up",
    ]
    text = f"{review['reviewed']} of {review['photos']} reviewed: " + ", ".join(parts)
    if review.get("changed"):
        text += f" ({review['changed']} changed since reviewed)"
    return text


def merge_review_progress(parts: list[dict[str, Any] | None]) -> dict[str, Any] | None:
    """The review progress of shards together (None when no shard has one)."""
    have = [p for p in parts if p]
    if not have:
        return None
    counts = {s: sum(p["counts"].get(s, 0) for p in have) for s in REVIEW_STATUSES}
    return review_progress(
        counts,
        sum(p.get("changed", 0) for p in have),
        sum(p.get("left_out", 0) for p in have),
        any(p.get("reviewed_only") for p in have),
    )


def inspection_entry(folder: str, info: dict[str, Any]) -> dict[str, Any]:
    """One inspection of the report's header: its folder and details."""
    return {"folder": folder, **{k: str(info.get(k) or "") for k in INSPECTION_FIELDS}}


def inspection_lines(inspection: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) rows of an inspection's details for the report headers."""
    labels = {"project": "Project", "element": "Element", "location": "Location",
              "inspector": "Inspector", "date": "Date", "notes": "Notes"}  # fmt: skip
    rows = [(labels[k], inspection[k]) for k in INSPECTION_FIELDS if inspection.get(k)]
    return rows or [("Inspection", "no details entered")]


def review_cell(review: dict[str, Any]) -> str:
    """'accepted by Ana, 2026-11-30: joint, not a crack': an image's review in one line."""
    status = STATUS_TEXT.get(review["status"], review["status"])
    text = status
    if review.get("reviewer"):
        text += f" by {review['reviewer']}"
    if review.get("reviewed_at"):
        text += f", {str(review['reviewed_at'])[:10]}"
    if review.get("changed"):
        text += " (photo changed since)"
    if review.get("note"):
        text += f": {review['note']}"
    return text


def crack_entry(crack: Crack) -> dict[str, Any]:
    return {
        "id": crack.id,
        "confidence": _r(crack.confidence, 3),
        "area_px": crack.area_px,
        "area_mm2": _r(crack.area_mm2, MM_DIGITS),
        "bbox": list(crack.bbox),
        "length_px": _r(crack.length_px, PX_DIGITS),
        "length_mm": _r(crack.length_mm, MM_DIGITS),
        "max_width_px": _r(crack.max_width_px, PX_DIGITS),
        "max_width_mm": _r(crack.max_width_mm, MM_DIGITS),
        "mean_width_px": _r(crack.mean_width_px, PX_DIGITS),
        "mean_width_mm": _r(crack.mean_width_mm, MM_DIGITS),
        "median_width_px": _r(crack.median_width_px, PX_DIGITS),
        "median_width_mm": _r(crack.median_width_mm, MM_DIGITS),
        "width_method": crack.width_method,
        "widest_point": list(crack.widest_point),
        "angle_deg": _r(crack.angle_deg, 2),
        "orientation": crack.orientation,
        "junctions": crack.junctions,
        "end_points": crack.end_points,
        "gaps": crack.gaps,
        "gap_px": _r(crack.gap_px, PX_DIGITS),
        "gap_mm": _r(crack.gap_mm, MM_DIGITS),
        "severity": crack.severity,
    }


MEASUREMENT_KEYS = (
    "width", "height", "mm_per_px", "calibration_source", "n_cracks", "crack_area_px",
    "crack_area_pct", "crack_area_mm2", "total_length_px", "total_length_mm", "max_width_px",
    "max_width_mm", "severity_counts", "specks_removed", "low_confidence_removed",
    "resolution_note", "filtered_note",
)  # fmt: skip


def image_entry(rec: ImageRecord) -> dict[str, Any]:
    m = rec.measurement
    entry: dict[str, Any] = {
        "file": rec.path.name,
        "path": str(rec.path),
        "key": rec.key,
        "index": rec.index,
        "status": rec.status,
        "error": rec.error,
        "exported": rec.exported and rec.ok,
        "files": dict(rec.files),
        "seconds": round(rec.seconds, 3),
        "review": dict(rec.review),
        "inspection": rec.inspection,
    }
    if m is None:  # failed: same keys, no values, so readers need no special case
        entry.update(dict.fromkeys(MEASUREMENT_KEYS))
        entry["calibration_source"] = rec.calibration_source
        entry["cracks"] = []
        return entry
    entry.update(
        {
            "width": m.width,
            "height": m.height,
            "mm_per_px": m.mm_per_px,
            "calibration_source": rec.calibration_source,
            "n_cracks": m.n_cracks,
            "crack_area_px": m.crack_area_px,
            "crack_area_pct": _r(m.crack_area_pct, 4),
            "crack_area_mm2": _r(m.crack_area_mm2, MM_DIGITS),
            "total_length_px": _r(m.total_length_px, PX_DIGITS),
            "total_length_mm": _r(m.total_length_mm, MM_DIGITS),
            "max_width_px": _r(m.max_width_px, PX_DIGITS),
            "max_width_mm": _r(m.max_width_mm, MM_DIGITS),
            "severity_counts": m.severity_counts,
            "specks_removed": m.specks_removed,
            "low_confidence_removed": m.low_confidence_removed,
            "resolution_note": m.resolution_note,
            "filtered_note": m.filtered_note,
            # analyse() orders cracks as every table lists them: worst class, then longest
            "cracks": [crack_entry(c) for c in m.cracks],
        }
    )
    return entry


def _sum(values: list[Any], digits: int) -> float | None:
    return _r(sum(values), digits) if values and None not in values else None


def summary(images: list[dict[str, Any]], scale: SeverityScale) -> dict[str, Any]:
    """Totals over the image entries (also what `merge` recomputes from shard reports).

    The maximum width is one photo's: in mm when every analysed photo is calibrated (the
    photo widest in mm), else in px; its px and mm values and `max_width_file` are all of
    that photo, never the px of one and the mm of another.
    """
    ok = [e for e in images if e["status"] == "ok" and e["n_cracks"] is not None]
    calibrated = bool(ok) and all(e["mm_per_px"] for e in ok)
    by_severity = dict.fromkeys(scale.names, 0)
    for e in ok:
        for name, n in e["severity_counts"].items():
            by_severity[name] = by_severity.get(name, 0) + n
    unit = "max_width_mm" if calibrated else "max_width_px"
    widest = max((e for e in ok if e["n_cracks"]), key=lambda e: e[unit], default=None)
    return {
        "images": len(images),
        "images_analysed": len(ok),
        "images_failed": sum(1 for e in images if e["status"] == "failed"),
        "images_with_cracks": sum(1 for e in ok if e["n_cracks"]),
        "images_exported": sum(1 for e in ok if e["exported"]),
        "cracks": sum(e["n_cracks"] for e in ok),
        "crack_area_px": sum(e["crack_area_px"] for e in ok),
        "total_length_px": _r(sum(e["total_length_px"] for e in ok), PX_DIGITS),
        "total_length_mm": _sum([e["total_length_mm"] for e in ok], MM_DIGITS)
        if calibrated
        else None,
        "max_width_px": widest["max_width_px"] if widest else 0.0,
        "max_width_mm": widest["max_width_mm"] if widest and calibrated else None,
        "max_width_file": widest["file"] if widest else None,
        "by_severity": by_severity,
        "all_calibrated": calibrated,
    }


def report_dict(info: ReportInfo, records: list[ImageRecord]) -> dict[str, Any]:
    """The whole export as the JSON document described in docs/REPORTS.md."""
    images = [image_entry(r) for r in records]
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": {"name": "CrackInspector", "version": __version__},
        "created": info.created.isoformat(),
        "model": {
            "name": info.model_name,
            "identity": info.model_identity,
            "description": info.model_description,
            "runtime": info.runtime,
        },
        "settings": {
            "threshold": info.threshold,
            "min_area_px": info.min_area_px,
            "min_confidence": info.min_confidence,
            "severity": info.severity.to_dict(),
            "fixed_mm_per_px": info.fixed_mm_per_px,
            "only_cracked": info.only_cracked,
            "reviewed_only": info.reviewed_only,
        },
        "inspections": list(info.inspections),
        "review": info.review,
        "summary": summary(images, info.severity),
        "images": images,
    }


def model_row(doc: dict[str, Any]) -> str:
    """'unet-resnet34, threshold 0.55, CPU (ONNX)': the model line of every report."""
    model, threshold = doc["model"], doc["settings"]["threshold"]
    parts = [model["name"], f"threshold {threshold:.2f}"]
    if model.get("runtime"):
        parts.append(model["runtime"])
    return ", ".join(parts)


def fmt_px_mm(px: float | None, mm: float | None, px_digits: int = 1, mm_digits: int = 2) -> str:
    """'123.4 px (12.34 mm)', or '123.4 px' without a calibration; '-' for nothing."""
    if px is None:
        return "-"
    text = f"{px:.{px_digits}f} px"
    if mm is not None:
        text += f" ({mm:.{mm_digits}f} mm)"
    return text


def severity_line(doc: dict[str, Any]) -> str:
    sev = doc["settings"]["severity"]
    parts = [f"{c} <= {v:g}" for c, v in zip(sev["classes"], sev["limits"], strict=False)]
    return f"{sev['name']} ({sev['unit']}): " + ", ".join(parts) + f", {sev['classes'][-1]} above"


def max_width_text(s: dict[str, Any]) -> str:
    """The summary's maximum width and its photo: '7.0 px (1.40 mm) in 081.jpg'."""
    text = fmt_px_mm(s["max_width_px"], s["max_width_mm"])
    return f"{text} in {s['max_width_file']}" if s.get("max_width_file") else text


def confidence_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def severity_color(doc: dict[str, Any], name: str) -> tuple[int, ...]:
    """The RGB colour of a class of the report's scale (grey for 'below resolution')."""
    sev = doc["settings"]["severity"]
    if name == BELOW_RESOLUTION or name not in sev["classes"]:
        return BELOW_RESOLUTION_COLOR
    return tuple(sev["colors"][sev["classes"].index(name)])
