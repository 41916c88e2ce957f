"""Severity classes as an editable table, and the resolution check of a calibration."""

from __future__ import annotations

import json

import numpy as np
import pytest

from crackinspector.core.analysis.measure import measure_mask
from crackinspector.core.analysis.severity import (
    BELOW_RESOLUTION,
    PRESETS,
    RESOLUTION_PX,
    SeverityClass,
    SeverityError,
    SeverityScale,
)


def test_classes_table_round_trip() -> None:
    concrete = PRESETS["concrete"]
    rows = concrete.classes
    assert [(r.name, r.lower) for r in rows] == [
        ("hairline", 0.0), ("low", 0.1), ("moderate", 0.2), ("high", 0.3), ("severe", 0.4),
    ]  # fmt: skip
    assert all(len(r.color) == 3 for r in rows)
    # an edited table, rows in any order, through JSON as an inspection would save it
    table = concrete.table()
    table[1]["lower"] = 0.15
    table[2]["color"] = [1, 2, 3]
    saved = json.loads(json.dumps({"name": "site 7", "unit": "mm", "table": table[::-1]}))
    edited = SeverityScale.from_dict(saved)
    assert edited.limits == (0.15, 0.2, 0.3, 0.4) and edited.names == concrete.names
    assert edited.color_of("moderate") == (1, 2, 3)
    assert SeverityScale.from_dict(edited.to_dict()) == edited
    with pytest.raises(SeverityError, match="start at 0"):
        SeverityScale.from_classes("x", "mm", [SeverityClass("a", 0.1, (0, 0, 0))])
    with pytest.raises(SeverityError, match="increasing"):
        SeverityScale.from_classes(
            "x", "mm", [SeverityClass("a", 0, (0, 0, 0)), SeverityClass("b", 0, (0, 0, 0))]
        )


def test_resolution_check_names_the_unresolvable_limits() -> None:
    concrete = PRESETS["concrete"]
    assert RESOLUTION_PX == 2.0
    # at 0.25 mm/px two pixels are 0.5 mm: every concrete limit is under it
    assert concrete.unresolvable(0.25) == (0.1, 0.2, 0.3, 0.4)
    assert concrete.resolution_note(0.25) == (
        "at 0.25 mm/px, widths under 0.5 mm cannot be told apart (class limits 0.1, 0.2, "
        "0.3, 0.4 mm under 2 px); such cracks are listed as 'below resolution'"
    )
    assert concrete.unresolvable(0.1) == (0.1,)
    assert "limit 0.1 mm" in (concrete.resolution_note(0.1) or "")
    assert concrete.unresolvable(0.04) == () and concrete.resolution_note(0.04) is None
    assert PRESETS["pixels"].unresolvable(None) == ()
    assert PRESETS["pavement"].unresolvable(0.5) == ()
    assert concrete.unresolvable(None) == ()  # no calibration: nothing to say


def test_cracks_under_the_resolution_are_not_guessed() -> None:
    concrete = PRESETS["concrete"]
    assert concrete.classify_crack(1.5, 0.25) == BELOW_RESOLUTION
    assert concrete.classify_crack(2.0, 0.25) == "severe"  # 0.5 mm
    assert concrete.classify_crack(1.5, 0.04) == "hairline"  # 0.06 mm: resolved
    assert concrete.classify_crack(1.5, 0.1) == BELOW_RESOLUTION  # could be hairline or low
    assert concrete.classify_crack(2.5, 0.1) == "moderate"  # 0.25 mm
    assert concrete.color_of(BELOW_RESOLUTION) != concrete.color_of("hairline")
    # in a measurement: a 1-px hairline and a 7-px crack at 0.1 mm/px
    mask = np.zeros((100, 300), bool)
    mask[20, 10:290] = True
    mask[60:67, 10:290] = True
    m = measure_mask(mask, mm_per_px=0.1)
    by_width = sorted(m.cracks, key=lambda c: c.max_width_px)
    assert by_width[0].severity == BELOW_RESOLUTION
    assert by_width[1].severity == "severe"  # 0.7 mm
    assert m.severity_counts == {
        BELOW_RESOLUTION: 1, "hairline": 0, "low": 0, "moderate": 0, "high": 0, "severe": 1,
    }  # fmt: skip
    assert m.cracks[0].severity == "severe"  # worst first; below resolution last
    assert m.resolution_note == concrete.resolution_note(0.1)
    # finer photos resolve it: no below-resolution class at all
    fine = measure_mask(mask, mm_per_px=0.04)
    assert BELOW_RESOLUTION not in fine.severity_counts and fine.resolution_note is None
