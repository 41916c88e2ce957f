"""Millimetres per pixel, for a folder of photos and for single photos in it.

A calibration is typed in, or computed from a reference line drawn on a photo along
something of known length (a scale bar, a tile, a crack gauge): two points and the length
in mm. It is stored with the inspection data, in ``<folder>/.crackinspector/
calibration.json``, so it travels with the photos; a per-image entry overrides the folder
value (photos taken from another distance). Written atomically; see docs/REPORTS.md for
the file's layout.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crackinspector.core.errors import CrackInspectorError, FileProblem
from crackinspector.core.io.atomic import atomic_write_text

DATA_DIR = ".crackinspector"
CALIBRATION_FILE = "calibration.json"
SCHEMA_VERSION = 1


class CalibrationError(CrackInspectorError):
    """A calibration value that cannot be right (zero, negative, two equal points...)."""


def _check_scale(mm_per_px: float) -> float:
    try:
        value = float(mm_per_px)
    except (TypeError, ValueError):
        raise CalibrationError(f"mm per pixel must be a number, got {mm_per_px!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise CalibrationError(f"mm per pixel must be a positive number, got {mm_per_px!r}")
    return value


@dataclass(frozen=True)
class Calibration:
    """One scale. `reference` keeps the line it came from, so it can be shown and re-edited."""

    mm_per_px: float
    method: str = "typed"  # "typed" or "reference"
    reference: dict[str, Any] | None = None  # {"p1": [x, y], "p2": [x, y], "length_mm": L}
    note: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "mm_per_px", _check_scale(self.mm_per_px))
        if self.method not in ("typed", "reference"):
            raise CalibrationError(f"unknown calibration method {self.method!r}")

    @property
    def px_per_mm(self) -> float:
        return 1.0 / self.mm_per_px

    @classmethod
    def from_reference(
        cls, p1: Sequence[float], p2: Sequence[float], length_mm: float, note: str = ""
    ) -> Calibration:
        """The scale given by a line from p1 to p2 (image pixels, x, y) of known length."""
        length_px = math.hypot(float(p2[0]) - float(p1[0]), float(p2[1]) - float(p1[1]))
        if length_px < 1.0:
            raise CalibrationError("the reference line is shorter than a pixel; pick two points")
        length_mm = float(length_mm)
        if not (length_mm > 0 and math.isfinite(length_mm)):
            raise CalibrationError(f"the reference length must be positive, got {length_mm!r}")
        ref = {
            "p1": [float(p1[0]), float(p1[1])],
            "p2": [float(p2[0]), float(p2[1])],
            "length_mm": length_mm,
            "length_px": round(length_px, 3),
        }
        return cls(length_mm / length_px, "reference", ref, note)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"mm_per_px": self.mm_per_px, "method": self.method}
        if self.reference:
            data["reference"] = self.reference
        if self.note:
            data["note"] = self.note
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        return cls(
            float(data["mm_per_px"]),
            str(data.get("method", "typed")),
            data.get("reference"),
            str(data.get("note", "")),
        )


@dataclass
class FolderCalibration:
    """The calibrations of one folder: a default and per-image overrides keyed by file name."""

    folder: Path
    default: Calibration | None = None
    images: dict[str, Calibration] = field(default_factory=dict)

    def for_image(self, image: str | Path) -> Calibration | None:
        return self.images.get(Path(image).name, self.default)

    def mm_per_px(self, image: str | Path) -> float | None:
        cal = self.for_image(image)
        return cal.mm_per_px if cal else None

    def source(self, image: str | Path) -> str:
        """'image', 'folder' or 'none': where an image's scale comes from."""
        if Path(image).name in self.images:
            return "image"
        return "folder" if self.default else "none"

    def set_image(self, image: str | Path, calibration: Calibration | None) -> None:
        """Set or (with None) remove an image's own calibration."""
        name = Path(image).name
        if calibration is None:
            self.images.pop(name, None)
        else:
            self.images[name] = calibration

    @property
    def path(self) -> Path:
        return calibration_path(self.folder)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "folder": self.default.to_dict() if self.default else None,
            "images": {k: v.to_dict() for k, v in sorted(self.images.items())},
        }


def calibration_path(folder: str | Path) -> Path:
    return Path(folder) / DATA_DIR / CALIBRATION_FILE


def load_calibration(folder: str | Path) -> FolderCalibration:
    """The folder's calibrations; an empty one when the folder has none yet."""
    folder = Path(folder)
    path = calibration_path(folder)
    if not path.exists():
        return FolderCalibration(folder)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileProblem(path, f"calibration file cannot be read ({exc})") from None
    try:
        if int(data.get("schema_version", 0)) > SCHEMA_VERSION:
            raise FileProblem(path, "calibration file is from a newer CrackInspector")
        default = Calibration.from_dict(data["folder"]) if data.get("folder") else None
        images = {str(k): Calibration.from_dict(v) for k, v in (data.get("images") or {}).items()}
    except FileProblem:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, CalibrationError) as exc:
        raise FileProblem(path, f"calibration file is damaged ({exc})") from None
    return FolderCalibration(folder, default, images)


def save_calibration(calibration: FolderCalibration) -> Path:
    """Write the folder's calibration file atomically; returns its path."""
    path = calibration.path
    try:
        atomic_write_text(path, json.dumps(calibration.to_dict(), indent=2) + "\n")
    except OSError as exc:
        raise FileProblem(path, f"cannot save calibration ({exc.strerror or exc})") from None
    return path


class CalibrationLookup:
    """Scales for many photos, reading each folder's file once; a fixed value beats all."""

    def __init__(self, fixed_mm_per_px: float | None = None) -> None:
        self.fixed = _check_scale(fixed_mm_per_px) if fixed_mm_per_px is not None else None
        self._folders: dict[Path, FolderCalibration] = {}

    def folder(self, image: str | Path) -> FolderCalibration:
        parent = Path(image).parent
        key = parent.resolve() if parent.exists() else parent
        if key not in self._folders:
            self._folders[key] = load_calibration(parent)
        return self._folders[key]

    def lookup(self, image: str | Path) -> tuple[float | None, str]:
        """(mm per pixel or None, source): source is 'fixed', 'image', 'folder' or 'none'."""
        if self.fixed is not None:
            return self.fixed, "fixed"
        folder = self.folder(image)
        return folder.mm_per_px(image), folder.source(image)
