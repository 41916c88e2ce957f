"""What the inspection store holds, as plain values: inspection details and photo reviews."""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from crackinspector.core.errors import CrackInspectorError

UNREVIEWED = "unreviewed"
ACCEPTED = "accepted"
FALSE_ALARM = "false_alarm"
CORRECTED = "corrected"
FOLLOW_UP = "follow_up"
# Order of the review flow's filters and of every count printed.
STATUSES = (UNREVIEWED, ACCEPTED, FALSE_ALARM, CORRECTED, FOLLOW_UP)
STATUS_LABELS = {
    UNREVIEWED: "unreviewed",
    ACCEPTED: "accepted",
    FALSE_ALARM: "false alarm",
    CORRECTED: "corrected",
    FOLLOW_UP: "needs follow-up",
}


class ReviewError(CrackInspectorError):
    """A review request that cannot be done as asked (unknown status, photo elsewhere...)."""


class StoreReadOnly(ReviewError):
    """A change asked of a store opened read-only (in use elsewhere, or a newer schema)."""


def check_status(status: str) -> str:
    value = str(status).strip().lower().replace("-", "_").replace(" ", "_")
    if value == "followup":
        value = FOLLOW_UP
    if value not in STATUSES:
        raise ReviewError(f"unknown review status {status!r}; choose one of {', '.join(STATUSES)}")
    return value


def now_text() -> str:
    """UTC time stamp, ISO 8601 to the second: how every 'when' is stored."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class InspectionInfo:
    """The details printed at the top of every report of the inspection."""

    project: str = ""
    element: str = ""  # structure / element inspected
    location: str = ""
    inspector: str = ""
    date: str = ""  # as typed (ISO date suggested); empty: not set
    notes: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


@dataclass(frozen=True)
class PhotoReview:
    """The review of one photo as the store knows it now.

    `changed`: the photo's content differs from the one the decision was made on (it is
    flagged, never silently matched). `mask_changed`: the edited mask was drawn on other
    content than the file holds now. `missing`: the file is gone. `in_store`: False for a
    photo never reviewed (every other field then holds its default).
    """

    path: Path
    key: str  # path relative to the inspection folder, '/'-separated
    status: str = UNREVIEWED
    reviewer: str = ""
    reviewed_at: str | None = None
    note: str = ""
    model: str | None = None
    threshold: float | None = None
    content_hash: str | None = None
    has_mask: bool = False
    changed: bool = False
    mask_changed: bool = False
    missing: bool = False
    in_store: bool = False

    @property
    def reviewed(self) -> bool:
        return self.status != UNREVIEWED

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = str(self.path)
        return data


@dataclass(frozen=True)
class ReviewSummary:
    """Review progress over a set of photos ("37 of 120 reviewed")."""

    total: int
    counts: dict[str, int]
    changed: int = 0  # photos whose content changed since their decision
    missing: int = 0  # photos the store knows whose file is gone (not in `total`)

    @property
    def reviewed(self) -> int:
        return self.total - self.counts.get(UNREVIEWED, 0)

    def text(self) -> str:
        return f"{self.reviewed} of {self.total} reviewed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "reviewed": self.reviewed,
            "counts": {s: self.counts.get(s, 0) for s in STATUSES},
            "changed": self.changed,
            "missing": self.missing,
        }
