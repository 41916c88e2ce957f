"""Review data for reports: what was decided about each photo, read without changing anything.

`load_reviews(folder)` opens the folder's store read-only (it never creates one, and works
while the app has the store open) and returns an `InspectionReviews`; `ReviewLookup` does the
same for photos from many folders, opening each folder's store once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from crackinspector.core.analysis.calibration import Calibration, CalibrationLookup
from crackinspector.core.analysis.severity import SeverityScale
from crackinspector.core.errors import FileProblem
from crackinspector.core.review import location
from crackinspector.core.review.maskcodec import decode_mask
from crackinspector.core.review.records import (
    CORRECTED,
    STATUSES,
    UNREVIEWED,
    InspectionInfo,
    PhotoReview,
    ReviewSummary,
)
from crackinspector.core.review.store import open_existing_store


@dataclass(frozen=True)
class ReviewRecord:
    """One photo's review for a report. `mask()` decodes the corrected mask (or None).

    `status` is the effective one: a photo changed since its decision is "unreviewed"
    (and `changed` is True). `mask()` is the edited mask of a "corrected" photo (never of
    another status, nor one drawn on other content); None means: use the model's mask.
    """

    path: Path
    status: str
    reviewer: str = ""
    reviewed_at: str | None = None
    note: str = ""
    model: str | None = None
    threshold: float | None = None
    changed: bool = False
    mask_png: bytes | None = field(default=None, repr=False)

    @property
    def reviewed(self) -> bool:
        return self.status != UNREVIEWED

    def mask(self) -> np.ndarray | None:
        return decode_mask(self.mask_png) if self.mask_png else None


@dataclass
class InspectionReviews:
    """An inspection's details and the review of each photo the store knows."""

    folder: Path
    store_path: Path | None = None  # None: the folder has no store (nothing reviewed)
    info: InspectionInfo = field(default_factory=InspectionInfo)
    severity: SeverityScale | None = None
    records: dict[Path, ReviewRecord] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    calibrations: dict[str, Calibration] = field(default_factory=dict)  # key ('' = folder)

    def calibration_for(self, photo: str | Path) -> tuple[Calibration | None, str]:
        """(scale, source) as the store has it: source 'image', 'folder' or 'none'."""
        path = Path(photo).resolve()
        try:
            key = path.relative_to(self.folder).as_posix()
        except ValueError:
            key = None
        if key is not None and key in self.calibrations:
            return self.calibrations[key], "image"
        if "" in self.calibrations:
            return self.calibrations[""], "folder"
        return None, "none"

    def review(self, photo: str | Path) -> ReviewRecord:
        """The photo's record; an unreviewed one when the store does not know it."""
        path = Path(photo).resolve()
        return self.records.get(path) or ReviewRecord(path, UNREVIEWED)

    def summary(self, photos: Iterable[str | Path]) -> ReviewSummary:
        counts = dict.fromkeys(STATUSES, 0)
        paths = [Path(p).resolve() for p in photos]
        changed = 0
        for p in paths:
            rec = self.review(p)
            counts[rec.status] += 1
            changed += rec.changed
        return ReviewSummary(len(paths), counts, changed)


def _record(review: PhotoReview, png: bytes | None) -> ReviewRecord:
    if review.changed:
        return ReviewRecord(review.path, UNREVIEWED, note=review.note, changed=True)
    return ReviewRecord(
        path=review.path,
        status=review.status,
        reviewer=review.reviewer,
        reviewed_at=review.reviewed_at,
        note=review.note,
        model=review.model,
        threshold=review.threshold,
        mask_png=png if review.status == CORRECTED and not review.mask_changed else None,
    )


def load_reviews(folder: str | Path) -> InspectionReviews:
    """The review of a photo folder, read-only; empty when the folder has no store.

    A damaged store is reported in `messages` (one line naming it) and read as empty.
    """
    folder = Path(folder).resolve()
    try:
        store = open_existing_store(folder)
    except FileProblem as exc:
        return InspectionReviews(folder, messages=[str(exc)])
    if store is None:
        return InspectionReviews(folder)
    with store:
        records = {}
        for review in store.photos():
            png = store.mask_png(review.key) if review.status == CORRECTED else None
            records[review.path.resolve()] = _record(review, png)
        calibrations = {}
        default = store.folder_calibration()
        if default is not None:
            calibrations[""] = default
        calibrations.update(store.photo_calibrations())
        return InspectionReviews(
            folder,
            store.path,
            store.info(),
            store.severity(),
            records,
            list(store.messages),
            calibrations,
        )


def inspection_folder(photo: str | Path) -> Path:
    """The inspection a photo belongs to: the nearest folder above it with a store (an
    inspection opened on a folder covers its subfolders), else the photo's own folder."""
    parent = Path(photo).resolve().parent
    for folder in (parent, *parent.parents):
        if location.existing_store(folder) is not None:
            return folder
    return parent


class ReviewLookup:
    """Reviews and scales of photos from any folders, reading each inspection once.

    `lookup(photo)` answers like `CalibrationLookup.lookup` (a fixed value beats all), from
    the photo's inspection store, else (no store, or no scale in it) from the photo folder's
    old calibration.json, so photos calibrated before the store existed keep their scale.
    """

    def __init__(self, fixed_mm_per_px: float | None = None) -> None:
        self._old = CalibrationLookup(fixed_mm_per_px)
        self._folders: dict[Path, InspectionReviews] = {}
        self._owner: dict[Path, Path] = {}

    def inspection(self, photo: str | Path) -> InspectionReviews:
        parent = Path(photo).resolve().parent
        if parent not in self._owner:
            self._owner[parent] = inspection_folder(photo)
        folder = self._owner[parent]
        if folder not in self._folders:
            self._folders[folder] = load_reviews(folder)
        return self._folders[folder]

    def review(self, photo: str | Path) -> ReviewRecord:
        return self.inspection(photo).review(photo)

    def lookup(self, photo: str | Path) -> tuple[float | None, str]:
        """(mm per pixel or None, source): 'fixed', 'image', 'folder' or 'none'."""
        if self._old.fixed is not None:
            return self._old.fixed, "fixed"
        cal, source = self.inspection(photo).calibration_for(photo)
        if cal is None:  # no store, or nothing in it: the folder's old calibration.json
            return self._old.lookup(photo)
        return cal.mm_per_px, source
