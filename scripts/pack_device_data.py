"""Pack the training and validation parts of the bundled models' data mix for a GPU machine.

The device tool sends at most 64 MiB with a call and ../shared does not travel, while the mix
is about 180 MB of photos. This writes the zip file OUT (default device_pack/data.zip,
git-ignored; stored, not compressed) with only what training and validation read:
- data/SET/images/STEM.webp: the photos of each split file's train and val parts, re-encoded
  as WebP (quality 75 by default: about a third of the JPEG bytes); test parts (CrackForest
  073..118, masonry and negatives test) and crackpool's unused crops stay behind;
- data/SET/masks/STEM.png: their masks, 1-bit PNG (0 / 255; the negatives' empty masks go
  to prepared/negatives/masks, where scripts/train_bundled.sh reads them);
- prepared/: the split files of scripts/prepare_training_data.py and
  scripts/mine_hard_negatives.py (run both first), for CRACKINSPECTOR_PREPARED_DATA.

Unzipped to DIR, scripts/train_bundled.sh runs unchanged with CRACKINSPECTOR_SHARED_DATA=DIR/data
and CRACKINSPECTOR_PREPARED_DATA=DIR/prepared (scripts/device_train.sh does this). Deterministic.

Run: python scripts/pack_device_data.py [--data ../shared/data] [--prepared runs/data]
"""

from __future__ import annotations

import argparse
import json
import zipfile
from pathlib import Path

import cv2
import numpy as np

from crackinspector.core.errors import CrackInspectorError
from crackinspector.core.io.imageio import read_image, read_mask
from crackinspector.core.io.pairing import pair_folders

HERE = Path(__file__).resolve().parent
SETS = ("crackforest", "crackpool", "masonry", "uav75", "negatives")
KEPT_PARTS = ("train", "val")
FIXED_TIME = (2026, 1, 1, 0, 0, 0)  # the same inputs give the same bytes


def _kept_stems(prepared: Path, name: str) -> set[str]:
    """The stems of a set's train and val parts, the hard negatives' stems included."""
    stems: set[str] = set()
    for split in sorted(prepared.glob(f"{name}*.split.json")):
        parts = json.loads(split.read_text(encoding="utf-8"))
        for part in KEPT_PARTS:
            stems.update(parts.get(part, []))
    return stems


def _write(out: zipfile.ZipFile, path: str, data: np.ndarray, params: list[int]) -> int:
    ok, buf = cv2.imencode(Path(path).suffix, data, params)
    if not ok:
        raise RuntimeError(f"{path}: could not encode")
    out.writestr(zipfile.ZipInfo(path, date_time=FIXED_TIME), buf.tobytes())
    return len(buf)


def pack_set(
    data: Path, prepared: Path, out: zipfile.ZipFile, name: str, quality: int
) -> tuple[int, int]:
    """Re-encode one set's kept pairs into data/NAME of the pack; returns (pairs, bytes)."""
    masks = prepared / "negatives/masks" if name == "negatives" else data / name / "masks"
    kept = _kept_stems(prepared, name)
    img_dir = f"data/{name}/images"
    # train_bundled.sh reads the negatives' masks from the prepared folder.
    mask_dir = "prepared/negatives/masks" if name == "negatives" else f"data/{name}/masks"
    if not kept:
        return 0, 0
    pairs = pair_folders(data / name / "images", masks, check=False).pairs
    size = n = 0
    for pair in (p for p in pairs if p.stem in kept):
        try:
            rgb, mask = read_image(pair.image), read_mask(pair.mask)
        except CrackInspectorError as exc:  # named and left out, as the trainer would
            print(f"skipped: {exc}")
            continue
        size += _write(
            out,
            f"{img_dir}/{pair.stem}.webp",
            cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
            [cv2.IMWRITE_WEBP_QUALITY, quality],
        )
        size += _write(
            out,
            f"{mask_dir}/{pair.stem}.png",
            mask.astype(np.uint8) * 255,
            [cv2.IMWRITE_PNG_BILEVEL, 1],
        )
        n += 1
    return n, size


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    ap.add_argument("--prepared", type=Path, default=Path("runs/data"))
    ap.add_argument("--out", type=Path, default=Path("device_pack/data.zip"))
    ap.add_argument("--quality", type=int, default=75, help="WebP quality (1..100)")
    args = ap.parse_args()
    if not (args.prepared / "negatives-hard.split.json").is_file():
        ap.error(
            f"{args.prepared}: no split files with hard negatives; run "
            "scripts/prepare_training_data.py and scripts/mine_hard_negatives.py first"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    part = args.out.with_name(args.out.name + ".part")
    with zipfile.ZipFile(part, "w", zipfile.ZIP_STORED) as out:
        for name in SETS:
            n, size = pack_set(args.data, args.prepared, out, name, args.quality)
            print(f"{name}: {n} pairs, {size / 2**20:.1f} MiB")
        for split in sorted(args.prepared.glob("*.split.json")):
            out.write(split, f"prepared/{split.name}")
    part.replace(args.out)
    print(f"{args.out}: {args.out.stat().st_size / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
