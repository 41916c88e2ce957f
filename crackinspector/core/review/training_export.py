"""Reviewed photos as training pairs: `images/<stem>.<ext>` and `masks/<stem>.png`.

- corrected: the edited mask;
- accepted: the model's mask at the threshold the decision was made on, from the model the
  review names (else the caller's default model); the probability map comes from the
  result cache when the app already computed it, else the model runs;
- false alarm: an empty mask (it teaches the model what is not a crack).

Photos changed since their review, corrected ones whose edited mask was not saved, and
unreadable files are skipped with one line each; the rest are written. Images are copied
byte for byte (the trainer reads them with the same EXIF rotation the viewer applied);
masks are 8-bit PNG, 255 = crack, written atomically. `reviewed.json` lists the pairs.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from crackinspector.core.analysis.analyse import threshold_mask
from crackinspector.core.errors import CrackInspectorError, FileProblem
from crackinspector.core.infer.predictor import Predictor
from crackinspector.core.io.atomic import atomic_path, atomic_write_text
from crackinspector.core.io.cache import ResultCache, file_digest
from crackinspector.core.io.imageio import read_image, write_image
from crackinspector.core.review.records import ACCEPTED, CORRECTED, FALSE_ALARM, PhotoReview
from crackinspector.core.review.store import InspectionStore

TRAINING_STATUSES = (CORRECTED, ACCEPTED, FALSE_ALARM)
MANIFEST = "reviewed.json"

PredictorFactory = Callable[[str | None], Predictor]  # model name (None: default) -> Predictor


@dataclass
class TrainingExport:
    out_dir: Path
    pairs: list[dict[str, Any]] = field(default_factory=list)  # one per written pair
    skipped: list[str] = field(default_factory=list)  # "<photo>: <reason>"

    @property
    def images_dir(self) -> Path:
        return self.out_dir / "images"

    @property
    def masks_dir(self) -> Path:
        return self.out_dir / "masks"


def training_stem(key: str) -> str:
    """A unique file stem for a photo key: subfolders joined with '__', suffix dropped."""
    stem = key.rsplit(".", 1)[0] if "." in key.rsplit("/", 1)[-1] else key
    return stem.replace("/", "__")


class _Models:
    """One Predictor per model name, made when first needed."""

    def __init__(self, factory: PredictorFactory) -> None:
        self.factory = factory
        self._made: dict[str | None, Predictor] = {}

    def get(self, name: str | None) -> Predictor:
        if name not in self._made:
            self._made[name] = self.factory(name)
        return self._made[name]


def _model_mask(
    review: PhotoReview,
    image: np.ndarray,
    models: _Models,
    cache: ResultCache | None,
) -> tuple[np.ndarray, str, float]:
    predictor = models.get(review.model)
    threshold = review.threshold if review.threshold is not None else predictor.threshold
    cached = cache.get(file_digest(review.path), predictor.result_identity) if cache else None
    if cached is not None and cached.probability.shape == image.shape[:2]:
        probability = cached.probability
    else:
        probability = predictor.predict(image)
    return threshold_mask(probability, threshold), predictor.info.name, float(threshold)


def _mask_for(
    store: InspectionStore,
    review: PhotoReview,
    image: np.ndarray,
    models: _Models,
    cache: ResultCache | None,
) -> tuple[np.ndarray, str | None, float | None]:
    if review.status == FALSE_ALARM:
        return np.zeros(image.shape[:2], bool), review.model, review.threshold
    if review.status == CORRECTED:
        if review.mask_changed:
            raise CrackInspectorError("its edited mask was drawn on other content")
        mask = store.mask(review.key)
        if mask is None:
            raise CrackInspectorError("corrected, but no edited mask was saved")
        return mask, review.model, review.threshold
    return _model_mask(review, image, models, cache)


def export_training(
    store: InspectionStore,
    out_dir: str | Path,
    predictor_factory: PredictorFactory,
    *,
    cache: ResultCache | None = None,
    progress: Callable[[int, int, Path], None] | None = None,
) -> TrainingExport:
    """Write the store's reviewed photos as training pairs into `out_dir`."""
    result = TrainingExport(Path(out_dir))
    reviews = [r for r in store.photos() if r.status in TRAINING_STATUSES]
    models = _Models(predictor_factory)
    for n, review in enumerate(reviews):
        if progress is not None:
            progress(n, len(reviews), review.path)
        if review.missing:
            result.skipped.append(f"{review.path}: file not found")
            continue
        if review.changed:
            result.skipped.append(f"{review.path}: photo changed since its review")
            continue
        try:
            image = read_image(review.path)
            mask, model, threshold = _mask_for(store, review, image, models, cache)
            if mask.shape != image.shape[:2]:
                raise CrackInspectorError(
                    f"mask is {mask.shape[1]}x{mask.shape[0]} but the photo is "
                    f"{image.shape[1]}x{image.shape[0]}"
                )
            stem = training_stem(review.key)
            image_out = result.images_dir / f"{stem}{review.path.suffix.lower()}"
            mask_out = result.masks_dir / f"{stem}.png"
            image_out.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(image_out) as tmp:
                shutil.copyfile(review.path, tmp)
            write_image(mask_out, mask.astype(np.uint8) * 255)
        except FileProblem as exc:
            result.skipped.append(str(exc))
            continue
        except (CrackInspectorError, ValueError, OSError) as exc:
            result.skipped.append(f"{review.path}: {exc}")
            continue
        result.pairs.append(
            {
                "image": image_out.name,
                "mask": mask_out.name,
                "photo": review.key,
                "status": review.status,
                "reviewer": review.reviewer,
                "reviewed_at": review.reviewed_at,
                "model": model,
                "threshold": threshold,
                "crack_pixels": int(mask.sum()),
            }
        )
    if progress is not None:
        progress(len(reviews), len(reviews), store.folder)
    if result.pairs:
        manifest = {
            "inspection": str(store.folder),
            "pairs": result.pairs,
            "skipped": result.skipped,
        }
        atomic_write_text(result.out_dir / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    return result
