"""CSV and JSON reports, written atomically from the report dictionary.

`images.csv`: one row per input image (failed ones too, with the error).
`cracks.csv`: one row per crack. Empty cells where a value does not exist (mm without a
calibration). Column order is fixed; severity counts get one `count_<class>` column per
class of the scale in use.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from crackinspector.core.io.atomic import atomic_open, atomic_write_text

IMAGE_COLUMNS = [
    "file", "path", "status", "error", "width", "height", "mm_per_px", "calibration_source",
    "n_cracks", "crack_area_px", "crack_area_pct", "crack_area_mm2", "total_length_px",
    "total_length_mm", "max_width_px", "max_width_mm", "specks_removed", "exported",
]  # fmt: skip
CRACK_COLUMNS = [
    "file", "crack_id", "severity", "orientation", "angle_deg", "length_px", "length_mm",
    "max_width_px", "max_width_mm", "mean_width_px", "mean_width_mm", "median_width_px",
    "median_width_mm", "widest_x", "widest_y", "area_px", "area_mm2", "bbox_x", "bbox_y",
    "bbox_w", "bbox_h", "junctions", "end_points",
]  # fmt: skip
FILE_COLUMNS = ["overlay", "mask", "prob"]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def image_rows(doc: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    classes = doc["settings"]["severity"]["classes"]
    header = IMAGE_COLUMNS + [f"count_{c}" for c in classes] + FILE_COLUMNS
    rows = []
    for img in doc["images"]:
        row = {k: _cell(img.get(k)) for k in IMAGE_COLUMNS}
        counts = img.get("severity_counts") or {}
        for c in classes:
            row[f"count_{c}"] = counts.get(c, "") if img["status"] == "ok" else ""
        for k in FILE_COLUMNS:
            row[k] = img["files"].get(k, "")
        rows.append(row)
    return header, rows


def crack_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for img in doc["images"]:
        for c in img.get("cracks") or []:
            row = {k: _cell(c.get(k)) for k in CRACK_COLUMNS if k in c}
            row["file"] = img["file"]
            row["crack_id"] = c["id"]
            row["widest_x"], row["widest_y"] = c["widest_point"]
            row["bbox_x"], row["bbox_y"], row["bbox_w"], row["bbox_h"] = c["bbox"]
            rows.append(row)
    return rows


def _write_csv(path: Path, header: list[str], rows: list[dict[str, Any]]) -> None:
    with atomic_open(path, "w", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def write_images_csv(doc: dict[str, Any], path: Path) -> None:
    header, rows = image_rows(doc)
    _write_csv(path, header, rows)


def write_cracks_csv(doc: dict[str, Any], path: Path) -> None:
    _write_csv(path, CRACK_COLUMNS, crack_rows(doc))


def write_json(doc: dict[str, Any], path: Path) -> None:
    atomic_write_text(path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
