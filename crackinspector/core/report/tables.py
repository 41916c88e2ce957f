"""CSV and JSON reports, written atomically from the report dictionary.

`images.csv`: one row per input image (failed ones too, with the error), with its review
(`review_status`, `reviewer`, `reviewed_at`, `review_note`, `review_mask`) and, last, its
inspection's details (`project`, `element`, `location`, `inspector`; empty without a store).
`cracks.csv`: one row per crack, in the order of the report's crack tables (severity, then
length). Empty cells where a value does not exist (mm without a calibration). Column order
is fixed; severity counts get one `count_<class>` column per class of the scale in use.

Every CSV the tool writes goes through `write_csv`, which neutralises spreadsheet formulas
(OWASP "CSV injection"): a text cell starting with `=`, `+`, `-`, `@`, tab or carriage
return gets a leading `'`, so a photo named `=1+2.jpg` shows as text, never as a formula.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from crackinspector.core.analysis.severity import BELOW_RESOLUTION
from crackinspector.core.io.atomic import atomic_open, atomic_write_text

IMAGE_COLUMNS = [
    "file", "path", "status", "error", "width", "height", "mm_per_px", "calibration_source",
    "n_cracks", "crack_area_px", "crack_area_pct", "crack_area_mm2", "total_length_px",
    "total_length_mm", "max_width_px", "max_width_mm", "specks_removed",
    "low_confidence_removed", "exported", "review_status", "reviewer", "reviewed_at",
    "review_note", "review_mask",
]  # fmt: skip
REVIEW_COLUMNS = {"review_status": "status", "reviewer": "reviewer",
                  "reviewed_at": "reviewed_at", "review_note": "note",
                  "review_mask": "mask"}  # fmt: skip
CRACK_COLUMNS = [
    "file", "crack_id", "severity", "confidence", "orientation", "angle_deg", "length_px",
    "length_mm", "max_width_px", "max_width_mm", "mean_width_px", "mean_width_mm",
    "median_width_px", "median_width_mm", "widest_x", "widest_y", "area_px", "area_mm2",
    "bbox_x", "bbox_y", "bbox_w", "bbox_h", "junctions", "end_points", "gaps", "gap_px",
]  # fmt: skip
FILE_COLUMNS = ["overlay", "mask", "prob"]
INSPECTION_COLUMNS = ["project", "element", "location", "inspector"]  # the photo's inspection
BELOW_COLUMN = "count_below_resolution"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """A cell value a spreadsheet shows as written: text that would start a formula gets a
    leading quote (numbers are left alone; a negative number is not a formula)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """CSV text with a header row; every cell passed through `csv_safe`."""
    buf = io.StringIO()
    _write_rows(buf, header, rows)
    return buf.getvalue()


def _write_rows(fh: Any, header: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> None:
    # RFC 4180 line ends: with "\r\n" as terminator the csv module quotes any cell holding
    # a CR or LF (a file name may), which it does not do for a bare "\n"
    writer = csv.DictWriter(fh, fieldnames=list(header), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: csv_safe(v) for k, v in row.items()})


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> None:
    """Write a CSV file atomically (the one CSV writer of the tool)."""
    with atomic_open(path, "w", encoding="utf-8") as fh:
        _write_rows(fh, header, rows)


def image_rows(doc: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    classes = doc["settings"]["severity"]["classes"]
    header = IMAGE_COLUMNS + [f"count_{c}" for c in classes] + [BELOW_COLUMN] + FILE_COLUMNS
    header += INSPECTION_COLUMNS
    inspections = doc.get("inspections") or []
    rows = []
    for img in doc["images"]:
        row = {k: img.get(k) for k in IMAGE_COLUMNS if k not in REVIEW_COLUMNS}
        review = img.get("review") or {}
        for column, key in REVIEW_COLUMNS.items():
            row[column] = review.get(key)
        index = img.get("inspection")
        ins = inspections[index] if index is not None and index < len(inspections) else {}
        for column in INSPECTION_COLUMNS:
            row[column] = ins.get(column, "")
        counts = img.get("severity_counts") or {}
        for c in classes:
            row[f"count_{c}"] = counts.get(c, "") if img["status"] == "ok" else ""
        row[BELOW_COLUMN] = counts.get(BELOW_RESOLUTION, 0) if img["status"] == "ok" else ""
        for k in FILE_COLUMNS:
            row[k] = img["files"].get(k, "")
        rows.append(row)
    return header, rows


def crack_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for img in doc["images"]:
        for c in img.get("cracks") or []:
            row = {k: c.get(k) for k in CRACK_COLUMNS if k in c}
            row["file"] = img["file"]
            row["crack_id"] = c["id"]
            row["widest_x"], row["widest_y"] = c["widest_point"]
            row["bbox_x"], row["bbox_y"], row["bbox_w"], row["bbox_h"] = c["bbox"]
            rows.append(row)
    return rows


def write_images_csv(doc: dict[str, Any], path: Path) -> None:
    header, rows = image_rows(doc)
    write_csv(path, header, rows)


def write_cracks_csv(doc: dict[str, Any], path: Path) -> None:
    write_csv(path, CRACK_COLUMNS, crack_rows(doc))


def write_json(doc: dict[str, Any], path: Path) -> None:
    atomic_write_text(path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
