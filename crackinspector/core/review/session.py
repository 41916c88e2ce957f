"""One photo's mask editing tied to the inspection store (Qt-free glue for the viewer).

`EditSession` owns a `MaskEditor` for the photo on screen and keeps the store in step:
every finished edit (stroke released, lasso closed, crack deleted, undo, redo, reset)
saves the edited mask, which makes the photo "corrected"; an edit history that comes back
to the model's mask drops the saved one and the photo gets back the decision it had when
the session began (an accepted photo edited and reset is accepted again). Tools
return the changed `Rect` for the viewer to repaint and re-analyse with
`analyse(probability, settings, mask=session.mask)`.

Use it from one thread (the GUI's). A read-only store (in use by another process) still
lets the user edit on screen; `unsaved` then says the edits are not kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from crackinspector.core.review.edits import DEFAULT_UNDO_BYTES, MaskEditor, Point, Rect
from crackinspector.core.review.records import CORRECTED
from crackinspector.core.review.store import InspectionStore


class EditSession:
    def __init__(
        self,
        store: InspectionStore,
        photo: str | Path,
        model_mask: np.ndarray,
        *,
        model: str | None = None,
        threshold: float | None = None,
        max_undo_bytes: int = DEFAULT_UNDO_BYTES,
    ) -> None:
        self.store = store
        self.photo = Path(photo)
        self.model = model
        self.threshold = threshold
        self.unsaved = False
        review = store.photo(photo)
        self._before_edit = review  # the decision an undo back to the model restores
        # An edit drawn on other content is not shown as this photo's (it stays stored).
        self.stale_mask = review.has_mask and review.mask_changed
        edited = None
        if review.status == CORRECTED and review.has_mask and not review.mask_changed:
            edited = store.mask(photo)
            if edited is not None and edited.shape != model_mask.shape:
                self.stale_mask, edited = True, None
        self.editor = MaskEditor(model_mask, edited, max_undo_bytes)
        self._saved_version = self.editor.version

    @property
    def mask(self) -> np.ndarray:
        """The mask to show and measure (edited or the model's)."""
        return self.editor.mask

    @property
    def edited(self) -> bool:
        return self.editor.edited

    # ------------------------------------------------------------------ saving
    def _commit(self, rect: Rect | None) -> Rect | None:
        if rect is None or self.editor.version == self._saved_version:
            return rect
        if self.store.read_only:
            self.unsaved = True
            return rect
        if self.editor.edited:
            self.store.save_mask(
                self.photo, self.editor.mask, model=self.model, threshold=self.threshold
            )
        elif self.store.photo(self.photo).has_mask:
            self.store.reset_mask(self.photo, self._before_edit)
        self._saved_version = self.editor.version
        return rect

    # ------------------------------------------------------------------ tools
    def begin_stroke(self, point: Point, radius: float, erase: bool = False) -> Rect | None:
        return self.editor.begin_stroke(point, radius, erase)

    def extend_stroke(self, point: Point) -> Rect | None:
        return self.editor.extend_stroke(point)

    def end_stroke(self) -> Rect | None:
        return self._commit(self.editor.end_stroke())

    def stroke(self, points: Sequence[Point], radius: float, erase: bool = False) -> Rect | None:
        return self._commit(self.editor.stroke(points, radius, erase))

    def lasso(self, polygon: Sequence[Point], erase: bool = False) -> Rect | None:
        return self._commit(self.editor.lasso(polygon, erase))

    def delete_crack(self, point: Point, tolerance: float = 4.0) -> Rect | None:
        return self._commit(self.editor.delete_crack(point, tolerance))

    def reset(self) -> Rect | None:
        """Back to the model's mask (undoable); the store drops the edited one."""
        return self._commit(self.editor.reset())

    def undo(self) -> Rect | None:
        return self._commit(self.editor.undo())

    def redo(self) -> Rect | None:
        return self._commit(self.editor.redo())

    def set_model(
        self, model_mask: np.ndarray, model: str | None = None, threshold: float | None = None
    ) -> bool:
        """Another threshold or model: an unedited mask follows it, an edited one stays
        (nothing is saved). Returns True when the shown mask changed."""
        if model is not None:
            self.model = model
        if threshold is not None:
            self.threshold = threshold
        changed = self.editor.set_model(model_mask)
        if changed:
            self._saved_version = self.editor.version
        return changed
