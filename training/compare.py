"""The new model next to the one in use: validation metrics from their cards (Qt-free part).

Numbers are only put side by side when both were measured on the same validation set: when
both cards were written by crackinspector-train with the same data folders, split,
validation choice, seed and limit, or when the model in use has been scored on the run's own
validation pairs (`score_on_run`, from the run's data.json). Otherwise the current model's
column says "not measured on this validation set": metrics from different images are not
comparable.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from crackinspector.core.analysis.evaluation import evaluate_pairs
from crackinspector.core.io.pairing import DataError
from crackinspector.core.model.card import ModelCard

from .card import portable_config
from .plan import read_data_record

NOT_MEASURED = "not measured on this validation set"
ROWS = (
    ("best_f1", "F1 (at its threshold)"),
    ("best_threshold", "threshold"),
    ("f1", "F1 (threshold 0.5)"),
    ("iou", "IoU (threshold 0.5)"),
    ("precision", "precision"),
    ("recall", "recall"),
    ("f1_tol2", "F1, 2 px tolerance"),
    ("iou_tol2", "IoU, 2 px tolerance"),
    ("val_loss", "validation loss"),
)
_VAL_KEYS = ("val_fraction", "seed", "val_limit")


def validation_key(card: ModelCard) -> tuple | None:
    """What defines a card's validation set, or None when the card does not say: the
    datasets and splits by name (training.card.portable_config, so a card written before
    the names were portable compares equal to one written after), fraction, seed, limit."""
    config = (card.training or {}).get("config")
    if not isinstance(config, dict) or not ("images" in config or "datasets" in config):
        return None
    portable = portable_config(config)
    datasets = tuple(
        (d.get("dataset"), d.get("split"), d.get("validation_split"))
        for d in portable.get("datasets") or []
        if isinstance(d, dict)
    )
    validation = tuple(
        d.get("dataset") for d in portable.get("validation_datasets") or [] if isinstance(d, dict)
    )
    return (datasets, validation, *(repr(config.get(k)) for k in _VAL_KEYS))


def validation_metrics(card: ModelCard | None) -> dict[str, Any]:
    metrics = (card.metrics or {}).get("validation") if card is not None else None
    return metrics if isinstance(metrics, dict) else {}


def comparable(new: ModelCard, current: ModelCard | None) -> bool:
    if current is None or not validation_metrics(current):
        return False
    key = validation_key(new)
    return key is not None and key == validation_key(current)


def fmt(value: Any, key: str) -> str:
    if value is None:
        return "–"
    if key == "best_threshold":
        return f"{float(value):.2f}"
    return f"{float(value):.3f}"


def score_on_run(
    model: str | Path, run_dir: Path, cancel: threading.Event | None = None
) -> dict[str, Any]:
    """Metrics of `model` on the validation pairs the run recorded, at threshold 0.5 (as the
    trainer validates), whole photos through the Predictor; DataError when there are none."""
    from crackinspector.core.infer.options import InferenceOptions, make_predictor

    _, val = read_data_record(run_dir)
    if not val:
        raise DataError(f"{run_dir}: the run recorded no validation pairs")
    predictor = make_predictor(InferenceOptions(model=model))
    evaluation = evaluate_pairs(
        predictor.predict,
        val,
        0.5,
        predictor.info.name,
        cancel=cancel.is_set if cancel is not None else None,
    )
    return {**evaluation.metrics, "failures": evaluation.failures}


def comparison_rows(
    new: ModelCard, current: ModelCard | None, scored: dict[str, Any] | None = None
) -> tuple[list[tuple[str, str, str]], str]:
    """(metric, new model, current model) rows and a one-line note for under the table;
    `scored`: the current model's metrics from `score_on_run` on the new model's run."""
    same = scored is not None or comparable(new, current)
    new_m = validation_metrics(new)
    cur_m = scored if scored is not None else validation_metrics(current)
    rows = []
    for key, label in ROWS:
        if key not in new_m:
            continue
        other = fmt(cur_m.get(key), key) if same else ("–" if current is not None else "")
        rows.append((label, fmt(new_m.get(key), key), other))
    if current is None:
        note = "No model is in use in the main window, so there is nothing to compare with."
    elif scored is not None:
        note = (
            f"{current.name} scored now on this run's {scored.get('images', '?')} validation "
            "photos (whole photos, as the run validated)."
        )
    elif same:
        note = f"Both measured on the same validation set ({len(rows)} metrics)."
    else:
        note = (
            f"{current.name}: {NOT_MEASURED}. Its card's numbers come from other images, "
            "so they are not shown next to these."
        )
    return rows, note
