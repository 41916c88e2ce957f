"""Reviews of inspection photos: the store, mask editing and what reports and training read.

Qt-free. The GUI wires its widgets to these; commands/review.py is the headless face.

- `store.InspectionStore(folder)` / `open_store(folder)`: one SQLite database per photo
  folder (`<folder>/.crackinspector/inspection.sqlite`, or the user data folder when the
  folder is read-only). Inspection details (`info`, `set_info`), the severity table
  (`severity`, `set_severity`), per-photo decisions (`photo`, `photos`, `set_status`,
  `set_note`, `summary`, `moved_photos`, `relink`), edited masks (`save_mask`, `mask`,
  `reset_mask`, `flush`) and calibration (`folder_calibration`, `set_folder_calibration`,
  `photo_calibration`, `set_photo_calibration`, `calibration_for`, `calibrations`); the
  folder's old calibration.json is imported once. A second writer gets a read-only store whose
  `read_only_reason` says "opened read-only: in use by PID ..."; `messages` holds such
  lines (and damaged-file notices) for the user.
- `edits.MaskEditor`: a full-resolution mask with brush/eraser strokes, lasso fill/erase,
  delete-the-crack-under-a-point and reset-to-model, each undoable; undo memory is capped.
- `session.EditSession(store, photo, model_mask)`: a MaskEditor kept in step with the
  store for the viewer: each finished edit is saved (the photo becomes corrected), an
  undo back to the model's mask drops it and restores the decision from before the edit.
- `reviews.load_reviews(folder) -> InspectionReviews` (for reports): the inspection
  details (`info`), severity table, and per photo path `review(path) -> ReviewRecord`
  with `status`, `reviewer`, `reviewed_at`, `note`, `model`, `threshold`, `changed`, and
  `mask()` (the corrected mask, or None); `summary(paths)` for review progress.
  `reviews.ReviewLookup` does the same for photos from several folders (a photo belongs to
  the nearest folder above it with a store) and `ReviewLookup.lookup(photo)` gives
  (mm per px, source) like CalibrationLookup, from the store, else calibration.json.
  Read-only: it never creates a store and works while the app has the folder open.
- `flow`: the review flow's rules for the GUI: STATUS_KEYS (A, F, U), FILTERS (all,
  unreviewed, cracked, accepted, false alarm, corrected, follow-up), `matches`,
  `next_unreviewed`.
- `training_export.export_training(...)`: reviewed photos as image/mask training pairs.

Statuses (records.STATUSES): unreviewed, accepted, false_alarm, corrected, follow_up.
"""

from crackinspector.core.review.records import (
    ACCEPTED,
    CORRECTED,
    FALSE_ALARM,
    FOLLOW_UP,
    STATUSES,
    UNREVIEWED,
    InspectionInfo,
    PhotoReview,
    ReviewError,
    ReviewSummary,
    StoreReadOnly,
)
from crackinspector.core.review.reviews import (
    InspectionReviews,
    ReviewLookup,
    ReviewRecord,
    inspection_folder,
    load_reviews,
)
from crackinspector.core.review.store import InspectionStore, open_existing_store, open_store

__all__ = [
    "ACCEPTED",
    "CORRECTED",
    "FALSE_ALARM",
    "FOLLOW_UP",
    "STATUSES",
    "UNREVIEWED",
    "InspectionInfo",
    "InspectionReviews",
    "InspectionStore",
    "PhotoReview",
    "ReviewError",
    "ReviewLookup",
    "ReviewRecord",
    "ReviewSummary",
    "StoreReadOnly",
    "inspection_folder",
    "load_reviews",
    "open_existing_store",
    "open_store",
]
