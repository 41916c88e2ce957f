"""Contact sheet of a model's typical successes and failures, for docs/MODELS.md.

    python scripts/contact_sheet.py MODEL.safetensors --out docs/images/MODEL-contact.jpg

Uses the probability maps that scripts/score_models.py cached (run it first). Rows:
CrackForest test photos with the best, median and worst F1 (green: found crack, red: false
alarm, blue: missed crack), masonry and uav75 photos likewise, and the crack-free photos
(negatives test) on which the model marks the most and a median amount (red: marked).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from score_models import CACHE, sets

from crackinspector.core.io.imageio import read_image, read_mask
from crackinspector.core.model.card import ModelCard
from crackinspector.core.model.registry import weights_digest

CELL = 240


def _f1(pred: np.ndarray, truth: np.ndarray) -> float:
    tp = np.count_nonzero(pred & truth)
    denom = np.count_nonzero(pred) + np.count_nonzero(truth)
    return 2.0 * tp / denom if denom else 1.0


def _tile(image: np.ndarray, pred: np.ndarray, truth: np.ndarray | None, caption: str):
    out = image.copy()
    if truth is None:
        truth = np.zeros_like(pred)
    out[pred & truth] = (0, 200, 0)
    out[pred & ~truth] = (230, 30, 30)
    out[~pred & truth] = (40, 90, 255)
    h, w = out.shape[:2]
    s = CELL / max(h, w)
    out = cv2.resize(
        out, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA
    )
    cell = np.full((CELL + 22, CELL, 3), 255, np.uint8)
    cell[: out.shape[0], : out.shape[1]] = out
    cv2.putText(
        cell,
        caption,
        (3, out.shape[0] + 16),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.42,
        (0, 0, 0),
        1,
        cv2.LINE_AA,
    )
    return cell


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    card = ModelCard.load(args.model.with_suffix(".json"))
    t = float(card.threshold)
    root = CACHE / weights_digest(args.model)[:16]
    rows = []
    for set_name, items in sets().items():
        scored = []
        for image_path, mask_path in items:
            prob_path = root / set_name / f"{image_path.stem}.png"
            if not prob_path.exists():
                raise SystemExit(f"{prob_path}: not cached; run scripts/score_models.py first")
            pred = cv2.imread(str(prob_path), cv2.IMREAD_UNCHANGED) >= round(t * 65535)
            truth = read_mask(mask_path) if mask_path else None
            value = _f1(pred, truth) if truth is not None else float(pred.mean() * 100)
            scored.append((value, image_path, pred, truth))
        scored.sort(key=lambda x: x[0])
        if set_name == "negatives_test":
            picks = [scored[len(scored) // 2], scored[-3], scored[-2], scored[-1]]
            label = "marked {:.1f}%"
        else:
            picks = [scored[-1], scored[len(scored) // 2], scored[1], scored[0]]
            label = "F1 {:.2f}"
        cells = [
            _tile(
                read_image(p),
                pred,
                truth,
                f"{set_name.split('_')[0]} {p.stem[:14]} " + label.format(v),
            )
            for v, p, pred, truth in picks
        ]
        rows.append(np.hstack(cells))
    sheet = np.vstack(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(
        str(args.out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85]
    )
    print(f"written {args.out} ({sheet.shape[1]}x{sheet.shape[0]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
