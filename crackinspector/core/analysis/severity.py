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

Resolution: a photo cannot tell apart widths under about RESOLUTION_PX pixels. A crack
narrower than a pixel darkens one pixel a little, whatever its width, and the lens blurs
every crack by about a pixel more: synthetic cracks 1 and 2 px wide both measure 2-3 px
(benchmarks/bench_width.py, docs/BENCHMARKS.md), while from 3 px up widths are right to
within half a pixel. When the calibration puts a class limit under that,
`unresolvable(mm_per_px)` lists the limits, `resolution_note(mm_per_px)` says so in a
sentence, and cracks narrower than RESOLUTION_PX are classified BELOW_RESOLUTION instead
of being guessed into one of the classes they span.

Editing: `classes` gives the scale as a table of (name, lower limit, colour) rows, the
lower limit of the first class being 0, and `from_classes` builds a scale from such a
table (rows in any order). `to_dict`/`from_dict` save a scale with an inspection;
`from_dict` also reads {"name", "unit", "table": rows} as an edited table gives them.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from crackinspector.core.errors import CrackInspectorError

UNITS = ("mm", "px")
RESOLUTION_PX = 2.0  # measured: benchmarks/bench_width.py, synthetic cracks of 1-2 px
BELOW_RESOLUTION = "below resolution"
BELOW_RESOLUTION_COLOR = (150, 150, 150)  # grey: no class is claimed


class SeverityError(CrackInspectorError):
    """A severity scale that cannot be used as asked (bad limits, or mm without calibration)."""


@dataclass(frozen=True)
class SeverityClass:
    """One row of a scale's table: widths above `lower` (and up to the next class's lower
    limit) belong to `name`; the first class starts at 0."""

    name: str
    lower: float
    color: tuple[int, int, int]


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
        """Class of a crack from its width in pixels, converting when the scale is in mm.

        BELOW_RESOLUTION for a crack narrower than RESOLUTION_PX when a class limit lies
        under that width (the photo cannot say which of those classes it is).
        """
        if self.unit == "mm" and not mm_per_px:
            raise SeverityError(
                f"severity preset {self.name!r} is in millimetres and needs a calibration "
                "(mm per pixel); calibrate the images or choose the 'pixels' preset"
            )
        if max_width_px < RESOLUTION_PX and self.unresolvable(mm_per_px):
            return BELOW_RESOLUTION
        if self.unit == "px":
            return self.classify(max_width_px)
        assert mm_per_px is not None
        return self.classify(max_width_px * mm_per_px)

    def unit_per_px(self, mm_per_px: float | None) -> float | None:
        """Size of one pixel in this scale's unit (None: mm scale without calibration)."""
        if self.unit == "px":
            return 1.0
        return mm_per_px or None

    def unresolvable(self, mm_per_px: float | None) -> tuple[float, ...]:
        """The class limits (in this scale's unit) under RESOLUTION_PX at this calibration."""
        per_px = self.unit_per_px(mm_per_px)
        if per_px is None:
            return ()
        return tuple(v for v in self.limits if v < RESOLUTION_PX * per_px)

    def resolution_note(self, mm_per_px: float | None) -> str | None:
        """A sentence for panels and reports when a class limit is under RESOLUTION_PX."""
        limits = self.unresolvable(mm_per_px)
        if not limits:
            return None
        per_px = self.unit_per_px(mm_per_px)
        assert per_px is not None
        res = RESOLUTION_PX * per_px
        at = f"at {mm_per_px:g} mm/px, " if self.unit == "mm" else ""
        listed = ", ".join(f"{v:g}" for v in limits)
        s = "s" if len(limits) > 1 else ""
        return (
            f"{at}widths under {res:.3g} {self.unit} cannot be told apart (class limit{s} "
            f"{listed} {self.unit} under {RESOLUTION_PX:g} px); such cracks are listed as "
            f"'{BELOW_RESOLUTION}'"
        )

    @property
    def classes(self) -> tuple[SeverityClass, ...]:
        """The scale as table rows (name, lower limit, colour), narrowest first."""
        lowers = (0.0, *self.limits)
        rows = zip(self.names, lowers, self.colors, strict=True)
        return tuple(SeverityClass(n, lo, c) for n, lo, c in rows)

    @classmethod
    def from_classes(
        cls, name: str, unit: str, classes: Sequence[SeverityClass], source: str = ""
    ) -> SeverityScale:
        """A scale from table rows; the narrowest row's lower limit must be 0."""
        rows = sorted(classes, key=lambda c: c.lower)
        if not rows:
            raise SeverityError(f"severity scale {name!r}: no classes")
        if rows[0].lower != 0:
            raise SeverityError(
                f"severity scale {name!r}: the narrowest class {rows[0].name!r} must start at 0"
            )
        return cls(
            name,
            unit,
            tuple(r.lower for r in rows[1:]),
            tuple(r.name for r in rows),
            tuple((int(r.color[0]), int(r.color[1]), int(r.color[2])) for r in rows),
            source,
        )

    def color_of(self, name: str) -> tuple[int, int, int]:
        """A class's colour; BELOW_RESOLUTION_COLOR for BELOW_RESOLUTION."""
        if name == BELOW_RESOLUTION:
            return BELOW_RESOLUTION_COLOR
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

    def table(self) -> list[dict[str, Any]]:
        """The classes as rows {"name", "lower", "color"}, for an editable table;
        `from_dict({"name", "unit", "table": rows})` reads them back."""
        return [{"name": c.name, "lower": c.lower, "color": list(c.color)} for c in self.classes]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SeverityScale:
        """From `to_dict`'s output; a dict with only "table" rows (an edited table) works too."""
        if "table" in data and "limits" not in data:
            rows = [
                SeverityClass(str(r["name"]), float(r["lower"]), tuple(r["color"]))
                for r in data["table"]
            ]
            return cls.from_classes(
                str(data["name"]), str(data["unit"]), rows, str(data.get("source", ""))
            )
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
