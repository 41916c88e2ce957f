"""Prepare the data mix of the bundled models: split files and empty masks, nothing copied.

Writes under OUT (default runs/data, git-ignored):
- crackforest.split.json: train 001..060, val 061..072 (for choosing the threshold and the
  best epoch), test 073..118 as in the literature (never trained on or used for selection);
- crackpool.split.json: the set's own train split; a fixed 200-crop part of its val split as
  val, the rest of val unused;
- masonry.split.json: every 5th crop held out as test, the next every-5th as val, rest train;
- uav75.split.json: the set's own split (train 50, val 10);
- negatives/masks/*.png: an all-background mask for every crack-free photo, and
  negatives.split.json: every 5th photo held out as test (false-alarm measurement only),
  every 10th (offset 1) as val, the rest train.

Deterministic: the same data gives the same files. Run: python scripts/prepare_training_data.py
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from crackinspector.core.errors import CrackInspectorError
from crackinspector.core.io.imageio import read_image

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data"


def _stems(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".png"))


def _every_fifth(stems: list[str]) -> dict[str, list[str]]:
    return {
        "train": [s for i, s in enumerate(stems) if i % 5 not in (0, 1)],
        "val": [s for i, s in enumerate(stems) if i % 5 == 1],
        "test": [s for i, s in enumerate(stems) if i % 5 == 0],
    }


def _write_json(path: Path, data: dict[str, list[str]]) -> None:
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    sizes = ", ".join(f"{k} {len(v)}" for k, v in data.items())
    print(f"{path}: {sizes}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=Path("runs/data"))
    args = ap.parse_args()
    data, out = args.data, args.out
    out.mkdir(parents=True, exist_ok=True)

    cf = json.loads((data / "crackforest/split.json").read_text())
    train = sorted(cf["train"])
    _write_json(
        out / "crackforest.split.json",
        {"train": train[:60], "val": train[60:], "test": sorted(cf["test"])},
    )

    pool = json.loads((data / "crackpool/split.json").read_text())
    order = np.random.default_rng(0).permutation(len(pool["val"]))
    val = sorted(pool["val"])
    _write_json(
        out / "crackpool.split.json",
        {
            "train": sorted(pool["train"]),
            "val": sorted(val[i] for i in order[:200]),
            "unused": sorted(val[i] for i in order[200:]),
        },
    )

    _write_json(out / "masonry.split.json", _every_fifth(_stems(data / "masonry/images")))
    uav = json.loads((data / "uav75/split.json").read_text())
    _write_json(out / "uav75.split.json", {"train": uav["train"], "val": uav["val"]})

    neg_images = data / "negatives/images"
    masks = out / "negatives/masks"
    masks.mkdir(parents=True, exist_ok=True)
    stems = []
    for path in sorted(neg_images.iterdir()):
        if path.suffix.lower() not in (".jpg", ".jpeg", ".png"):
            continue
        target = masks / f"{path.stem}.png"
        if not target.exists():
            try:  # the trainer's own decode (EXIF orientation included) gives the size
                height, width = read_image(path).shape[:2]
            except CrackInspectorError as exc:
                print(f"{exc}: skipped")
                continue
            cv2.imwrite(str(target), np.zeros((height, width), np.uint8))
        stems.append(path.stem)
    _write_json(
        out / "negatives.split.json",
        {
            "train": [s for i, s in enumerate(stems) if i % 5 and i % 10 != 1],
            "val": [s for i, s in enumerate(stems) if i % 10 == 1],
            "test": [s for i, s in enumerate(stems) if i % 5 == 0],
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
