"""Severity classes of cracks by their maximum width, with named presets and their sources.

A scale is an ordered list of class names and the upper width limit of every class but the
last, in one unit ("mm" or "px"). Limits are inclusive: a crack exactly at a limit belongs
to the lower class, matching how codes state them ("w <= 0.3 mm is acceptable";
LTPP "low severity: mean width <= 6 mm").

Presets:
- ``concrete`` (mm) 0.1 / 0.2 / 0.3 / 0.4: ACI 224R-01 "Control of Cracking in Concrete
  Structures", Table 4.1 (tolerable widths 0.10 mm water-retaining ... 0.41 mm dry air) and
  EN 1992-1-1:2004 Table 7.1N (recommended w_max 0.2, 0.3 and 0.4 mm by exposure class).
- ``pavement`` (mm) 6 / 19: FHWA-RD-03-031, "Distress Identification Manual for the
  Long-Term Pavement Performance Program" (2003), longitudinal and transverse cracking in
  asphalt: low <= 6 mm, moderate > 6 mm and <= 19 mm, high > 19 mm.
- ``pixels`` (px) 3 / 8: no standard behind it; a relative scale for photos without a
  calibration (hairline, visible, wide in image terms).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from crackinspector.core.errors import CrackInspectorError

UNITS = ("mm", "px")


class SeverityError(CrackInspectorError):
    """A severity scale that cannot be used as asked (bad limits, or mm without calibration)."""


@dataclass(frozen=True)
class SeverityScale:
    """Ordered classes: ``names[i]`` holds widths <= ``limits[i]``; the last is unbounded."""

    name: str
    unit: str
    limits: tuple[float, ...]
    names: tuple[str, ...]
    colors: tuple[tuple[int, int, int], ...] = field(default=())  # RGB per class
    source: str = ""

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise SeverityError(f"severity scale {self.name!r}: unit must be mm or px")
        limits = tuple(float(v) for v in self.limits)
        object.__setattr__(self, "limits", limits)
        object.__setattr__(self, "names", tuple(self.names))
        if len(self.names) != len(limits) + 1:
            raise SeverityError(
                f"severity scale {self.name!r}: {len(limits)} limits need {len(limits) + 1} names"
            )
        if any(v <= 0 for v in limits) or any(b <= a for a, b in itertools.pairwise(limits)):
            raise SeverityError(
                f"severity scale {self.name!r}: limits must be positive and increasing"
            )
        if len(set(self.names)) != len(self.names):
            raise SeverityError(f"severity scale {self.name!r}: class names must differ")
        if not self.colors:
            object.__setattr__(self, "colors", default_colors(len(self.names)))
        elif len(self.colors) != len(self.names):
            raise SeverityError(f"severity scale {self.name!r}: one colour per class")

    def classify(self, width: float) -> str:
        """Class name of a width given in this scale's unit."""
        for limit, name in zip(self.limits, self.names, strict=False):
            if width <= limit:
                return name
        return self.names[-1]

    def classify_crack(self, max_width_px: float, mm_per_px: float | None) -> str:
        """Class of a crack from its width in pixels, converting when the scale is in mm."""
        if self.unit == "px":
            return self.classify(max_width_px)
        if not mm_per_px:
            raise SeverityError(
                f"severity preset {self.name!r} is in millimetres and needs a calibration "
                "(mm per pixel); calibrate the images or choose the 'pixels' preset"
            )
        return self.classify(max_width_px * mm_per_px)

    def color_of(self, name: str) -> tuple[int, int, int]:
        return self.colors[self.names.index(name)]

    def with_limits(self, limits: Sequence[float], name: str | None = None) -> SeverityScale:
        """The same classes with edited limits (the preset name becomes 'custom')."""
        return SeverityScale(
            name or "custom", self.unit, tuple(limits), self.names, self.colors, "edited limits"
        )

    def describe(self) -> str:
        """One line such as 'concrete (mm): hairline <= 0.1 < low <= 0.2 < ...'."""
        parts = []
        for limit, cls in zip(self.limits, self.names, strict=False):
            parts.append(f"{cls} <= {limit:g}")
        return f"{self.name} ({self.unit}): " + " < ".join(parts) + f" < {self.names[-1]}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "limits": list(self.limits),
            "classes": list(self.names),
            "colors": [list(c) for c in self.colors],
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SeverityScale:
        return cls(
            str(data["name"]),
            str(data["unit"]),
            tuple(data["limits"]),
            tuple(data["classes"]),
            tuple(tuple(c) for c in data.get("colors", ())),
            str(data.get("source", "")),
        )


def default_colors(n: int) -> tuple[tuple[int, int, int], ...]:
    """Green to dark red, readable on grey pavement and concrete."""
    ramp = [(46, 204, 64), (255, 220, 0), (255, 133, 27), (255, 40, 40), (170, 0, 80)]
    if n <= len(ramp):
        picks = [round(i * (len(ramp) - 1) / max(n - 1, 1)) for i in range(n)]
        return tuple(ramp[i] for i in picks)
    return tuple(ramp[min(i, len(ramp) - 1)] for i in range(n))


PRESETS: dict[str, SeverityScale] = {
    "concrete": SeverityScale(
        "concrete",
        "mm",
        (0.1, 0.2, 0.3, 0.4),
        ("hairline", "low", "moderate", "high", "severe"),
        source="ACI 224R-01 Table 4.1 tolerable crack widths; EN 1992-1-1 Table 7.1N "
        "w_max 0.2/0.3/0.4 mm",
    ),
    "pavement": SeverityScale(
        "pavement",
        "mm",
        (6.0, 19.0),
        ("low", "moderate", "high"),
        source="FHWA-RD-03-031 LTPP Distress Identification Manual (2003): "
        "low <= 6 mm, moderate 6-19 mm, high > 19 mm",
    ),
    "pixels": SeverityScale(
        "pixels",
        "px",
        (3.0, 8.0),
        ("thin", "medium", "wide"),
        source="relative scale for uncalibrated photos (no standard)",
    ),
}


def get_preset(name: str) -> SeverityScale:
    try:
        return PRESETS[name]
    except KeyError:
        raise SeverityError(
            f"unknown severity preset {name!r}; choose one of {', '.join(PRESETS)}"
        ) from None


def default_scale(calibrated: bool) -> SeverityScale:
    """'concrete' when widths can be had in mm, 'pixels' otherwise."""
    return PRESETS["concrete"] if calibrated else PRESETS["pixels"]
