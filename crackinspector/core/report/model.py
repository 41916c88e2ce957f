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
from crackinspector.core.analysis.severity import SeverityScale

SCHEMA_VERSION = 1
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

    @property
    def ok(self) -> bool:
        return self.status == "ok" and self.measurement is not None

    @property
    def cracked(self) -> bool:
        return self.ok and self.measurement.n_cracks > 0  # type: ignore[union-attr]


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
    created: _dt.datetime = field(
        default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    )

    @property
    def calibration_text(self) -> str:
        if self.fixed_mm_per_px:
            return f"{self.fixed_mm_per_px:g} mm/px for every image"
        return "per folder / per image calibration files (see the image table)"


def crack_entry(crack: Crack) -> dict[str, Any]:
    return {
        "id": crack.id,
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
        "widest_point": list(crack.widest_point),
        "angle_deg": _r(crack.angle_deg, 2),
        "orientation": crack.orientation,
        "junctions": crack.junctions,
        "end_points": crack.end_points,
        "severity": crack.severity,
    }


MEASUREMENT_KEYS = (
    "width", "height", "mm_per_px", "calibration_source", "n_cracks", "crack_area_px",
    "crack_area_pct", "crack_area_mm2", "total_length_px", "total_length_mm", "max_width_px",
    "max_width_mm", "severity_counts", "specks_removed",
)  # fmt: skip


def image_entry(rec: ImageRecord) -> dict[str, Any]:
    m = rec.measurement
    entry: dict[str, Any] = {
        "file": rec.path.name,
        "path": str(rec.path),
        "key": rec.key,
        "status": rec.status,
        "error": rec.error,
        "exported": rec.exported and rec.ok,
        "files": dict(rec.files),
        "seconds": round(rec.seconds, 3),
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
            "cracks": [crack_entry(c) for c in m.cracks],
        }
    )
    return entry


def summary(records: list[ImageRecord], scale: SeverityScale) -> dict[str, Any]:
    ok = [r for r in records if r.ok]
    ms = [r.measurement for r in ok]
    calibrated = bool(ms) and all(m.mm_per_px for m in ms)  # type: ignore[union-attr]
    by_severity = dict.fromkeys(scale.names, 0)
    for m in ms:
        for name, n in m.severity_counts.items():  # type: ignore[union-attr]
            by_severity[name] = by_severity.get(name, 0) + n
    length_px = sum(m.total_length_px for m in ms)  # type: ignore[union-attr]
    max_px = max((m.max_width_px for m in ms), default=0.0)  # type: ignore[union-attr]
    return {
        "images": len(records),
        "images_analysed": len(ok),
        "images_failed": sum(1 for r in records if r.status == "failed"),
        "images_with_cracks": sum(1 for r in ok if r.cracked),
        "images_exported": sum(1 for r in ok if r.exported),
        "cracks": sum(m.n_cracks for m in ms),  # type: ignore[union-attr]
        "crack_area_px": sum(m.crack_area_px for m in ms),  # type: ignore[union-attr]
        "total_length_px": _r(length_px, PX_DIGITS),
        "total_length_mm": _r(sum(m.total_length_mm for m in ms), MM_DIGITS)  # type: ignore
        if calibrated
        else None,
        "max_width_px": _r(max_px, PX_DIGITS),
        "max_width_mm": _r(max(m.max_width_mm for m in ms), MM_DIGITS)  # type: ignore
        if calibrated
        else None,
        "by_severity": by_severity,
        "all_calibrated": calibrated,
    }


def report_dict(info: ReportInfo, records: list[ImageRecord]) -> dict[str, Any]:
    """The whole export as the JSON document described in docs/REPORTS.md."""
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": {"name": "CrackInspector", "version": __version__},
        "created": info.created.isoformat(),
        "model": {
            "name": info.model_name,
            "identity": info.model_identity,
            "description": info.model_description,
        },
        "settings": {
            "threshold": info.threshold,
            "min_area_px": info.min_area_px,
            "severity": info.severity.to_dict(),
            "fixed_mm_per_px": info.fixed_mm_per_px,
            "only_cracked": info.only_cracked,
        },
        "summary": summary(records, info.severity),
        "images": [image_entry(r) for r in records],
    }


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
