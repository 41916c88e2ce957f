"""Reviewed photos of an inspection as training data: the wizard's "reviewed photos of this
inspection" source (Qt-free).

The pairs are written as `crackinspector review export-training` writes them
(crackinspector.core.review.training_export: corrected photos with their edited masks,
accepted ones with the model's mask, false alarms with empty masks) into a fresh folder
beside the runs, so the run that trains on them records a folder that stays as it was.
"""

from __future__ import annotations

import datetime as _dt
import threading
from pathlib import Path

from crackinspector.core.errors import Cancelled
from crackinspector.core.infer.options import InferenceOptions, make_predictor
from crackinspector.core.infer.predictor import Predictor
from crackinspector.core.io.cache import ResultCache
from crackinspector.core.io.pairing import DataError
from crackinspector.core.review.store import open_existing_store
from crackinspector.core.review.training_export import TrainingExport, export_training

from .names import runs_dir


def reviewed_data_dir(folder: Path, now: _dt.datetime | None = None) -> Path:
    """`<runs folder>/../reviewed-data/<photo folder name>-<YYYYmmdd-HHMMSS>`."""
    stamp = (now or _dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    return runs_dir().parent / "reviewed-data" / f"{Path(folder).name or 'photos'}-{stamp}"


def export_reviewed(
    folder: str | Path,
    out: str | Path,
    model: str | Path | None = None,
    cancel: threading.Event | None = None,
) -> TrainingExport:
    """Write the inspection's reviewed photos as training pairs into `out`; `model`: the
    model for accepted photos whose review names none (the one in use). DataError when the
    folder has no reviews or none could be written; Cancelled between photos."""
    folder = Path(folder)
    store = open_existing_store(folder)
    if store is None:
        raise DataError(f"{folder}: no reviewed photos here (nothing was reviewed yet)")

    def predictor_for(name: str | None) -> Predictor:
        try:
            return make_predictor(InferenceOptions(model=name or model))
        except ValueError as exc:
            raise DataError(str(exc)) from None

    def progress(_done: int, _total: int, _path: Path) -> None:
        if cancel is not None and cancel.is_set():
            raise Cancelled("export of reviewed photos cancelled")

    with store:
        result = export_training(store, out, predictor_for, cache=ResultCache(), progress=progress)
    if not result.pairs:
        first = f" (first: {result.skipped[0]})" if result.skipped else ""
        raise DataError(
            f"{folder}: no reviewed photo can be used for training; accept, correct or mark "
            f"photos as false alarms first{first}"
        )
    return result
