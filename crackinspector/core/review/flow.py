"""The review flow's rules, Qt-free: which photos a filter shows, which is next, the keys.

The GUI binds `STATUS_KEYS` to its shortcuts, fills its filter box from `FILTERS` and asks
`matches` / `next_unreviewed`; the status bar shows `ReviewSummary.text()`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from crackinspector.core.review.records import (
    ACCEPTED,
    CORRECTED,
    FALSE_ALARM,
    FOLLOW_UP,
    UNREVIEWED,
    PhotoReview,
)

# key -> status it records (E opens the editor; a saved edit makes the photo "corrected")
STATUS_KEYS = {"A": ACCEPTED, "F": FALSE_ALARM, "U": FOLLOW_UP}
EDIT_KEY = "E"
NEXT_KEYS = ("Space", "N")

ALL = "all"
CRACKED = "cracked"
# (filter id, label) in the order the filter box lists them
FILTERS = (
    (ALL, "All"),
    (UNREVIEWED, "Unreviewed"),
    (CRACKED, "Cracked"),
    (ACCEPTED, "Accepted"),
    (FALSE_ALARM, "False alarm"),
    (CORRECTED, "Corrected"),
    (FOLLOW_UP, "Follow-up"),
)


def effective_status(review: PhotoReview | None) -> str:
    """The status that counts: a photo changed since its decision is unreviewed again."""
    if review is None or review.changed:
        return UNREVIEWED
    return review.status


def matches(filter_id: str, review: PhotoReview | None, cracked: bool | None = None) -> bool:
    """Whether a photo shows under a filter. `cracked`: the analysis found cracks (None:
    not analysed yet, shown under "cracked" so nothing hides before it is known)."""
    if filter_id == ALL:
        return True
    if filter_id == CRACKED:
        return cracked is not False
    if filter_id not in {f for f, _ in FILTERS}:
        raise ValueError(f"unknown review filter {filter_id!r}")
    return effective_status(review) == filter_id


def next_unreviewed(
    photos: Sequence[Path],
    review_of: Callable[[Path], PhotoReview | None],
    current: Path | None = None,
) -> Path | None:
    """The first unreviewed photo after `current` in list order, wrapping around; None
    when every photo is reviewed."""
    if not photos:
        return None
    start = 0
    if current is not None and current in photos:
        start = list(photos).index(current) + 1
    n = len(photos)
    for i in range(n):
        photo = photos[(start + i) % n]
        if photo != current and effective_status(review_of(photo)) == UNREVIEWED:
            return photo
    return None
