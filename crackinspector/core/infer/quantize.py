"""int8 models for ONNX Runtime: static QDQ quantisation calibrated on training crops.

The quantised model is made once per fp32 export and cached beside it (same name, keyed by
the weights' SHA-256 like the export, plus `QUANT_VERSION`), written atomically. Activations
are uint8 and weights int8 per output channel, the u8s8 kernels ONNX Runtime has on every
x86 CPU (AVX2, AVX-512 VNNI, AMX). The network's first convolution and its segmentation head
stay in float32: they are cheap (3 input channels, 1 output channel) and the head decides the
crack/background boundary.

Calibration needs crops of *training* photos (never a test split): 64 crops, picked
deterministically, from `$CRACKINSPECTOR_CALIBRATION_DIR` (any folder of photos) or else the
crackpool `train` split of the shared data set (`$CRACKINSPECTOR_SHARED_DATA`, or
`../shared/data` beside the checkout). Without either, int8 is unavailable and says why.
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from crackinspector.core.errors import ModelError
from crackinspector.core.io.atomic import atomic_path

REDUCE_RANGE = False  # 7-bit weights: only for non-VNNI saturation trouble; not needed here
QUANT_VERSION = 1  # bump when the recipe (calibration, excluded nodes, format) changes
CALIBRATION_CROPS = 64
CALIBRATION_SIZE = 224  # crops are reflect-padded or centre-cropped to this side
ENV_CALIBRATION_DIR = "CRACKINSPECTOR_CALIBRATION_DIR"
ENV_SHARED_DATA = "CRACKINSPECTOR_SHARED_DATA"
_REPO = Path(__file__).resolve().parents[3]

quantise_count = 0  # quantisations made by this process; tests read it to prove caching


class QuantisationUnavailable(ModelError):
    """int8 cannot be made here (no calibration photos, or the runtime lacks the tools)."""


def int8_cache_path(fp32_path: Path) -> Path:
    """The int8 model beside the fp32 export it was made from."""
    return fp32_path.with_name(f"{fp32_path.stem}-int8-q{QUANT_VERSION}.onnx")


def calibration_photos(limit: int = CALIBRATION_CROPS) -> list[Path]:
    """`limit` training photos for calibration, the same ones on every run."""
    from crackinspector.core.io.imageio import IMAGE_EXTENSIONS

    override = os.environ.get(ENV_CALIBRATION_DIR)
    if override:
        folder = Path(override)
        photos = sorted(p for p in folder.glob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
        if not photos:
            reason = f"no photos for int8 calibration ({ENV_CALIBRATION_DIR})"
            raise QuantisationUnavailable(folder, reason)
        return _spread(photos, limit)
    shared = Path(os.environ.get(ENV_SHARED_DATA) or _REPO.parent / "shared" / "data")
    pool = shared / "crackpool"
    try:
        train = json.loads((pool / "split.json").read_text(encoding="utf-8"))["train"]
    except (OSError, ValueError, KeyError, TypeError):
        raise QuantisationUnavailable(
            pool,
            f"no calibration photos for int8 (set {ENV_CALIBRATION_DIR} to a folder of "
            "training photos)",
        ) from None
    photos = [pool / "images" / f"{stem}.jpg" for stem in sorted(train)]
    return _spread([p for p in photos if p.exists()], limit)


def _spread(items: list[Path], limit: int) -> list[Path]:
    """`limit` items evenly spread over the sorted list (every source set is represented)."""
    if len(items) <= limit:
        return items
    idx = np.linspace(0, len(items) - 1, limit).round().astype(int)
    return [items[i] for i in idx]


def _square(image: np.ndarray, side: int) -> np.ndarray:
    """Centre-crop, then reflect-pad, to side x side."""
    h, w = image.shape[:2]
    y, x = max(0, (h - side) // 2), max(0, (w - side) // 2)
    image = image[y : y + side, x : x + side]
    ph, pw = side - image.shape[0], side - image.shape[1]
    if ph or pw:
        image = np.pad(image, ((0, ph), (0, pw), (0, 0)), mode="reflect")
    return image


class _Crops:
    """ONNX Runtime's CalibrationDataReader over normalised training crops."""

    def __init__(self, photos: list[Path], mean, std, input_name: str) -> None:
        self._iter = self._batches(photos, mean, std, input_name)

    @staticmethod
    def _batches(photos, mean, std, input_name) -> Iterator[dict[str, np.ndarray]]:
        from crackinspector.core.io.imageio import read_image

        m = np.asarray(mean, np.float32) * 255.0
        s = np.asarray(std, np.float32) * 255.0
        for path in photos:
            try:
                crop = _square(read_image(path), CALIBRATION_SIZE).astype(np.float32)
            except Exception:  # an unreadable crop is skipped, not fatal
                continue
            x = ((crop - m) / s).transpose(2, 0, 1)[None]
            yield {input_name: np.ascontiguousarray(x, np.float32)}

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._iter, None)


def _float_nodes(model_path: Path) -> list[str]:
    """Names of the first and last Conv nodes (kept in float32)."""
    import onnx

    graph = onnx.load(str(model_path), load_external_data=False).graph
    convs = [n.name for n in graph.node if n.op_type == "Conv"]
    return [convs[0], convs[-1]] if len(convs) >= 2 else convs


def quantise(fp32_path: Path, out_path: Path, mean, std, input_name: str) -> None:
    """Write the int8 QDQ model of `fp32_path` to `out_path`, atomically."""
    global quantise_count
    try:
        from onnxruntime.quantization import (
            CalibrationMethod,
            QuantFormat,
            QuantType,
            quantize_static,
        )
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError as exc:
        reason = f"int8 needs onnxruntime's quantisation tools ({exc})"
        raise QuantisationUnavailable(fp32_path, reason) from None
    photos = calibration_photos()
    with atomic_path(out_path) as tmp:
        pre = tmp.with_name(tmp.name + ".pre.onnx")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                quant_pre_process(str(fp32_path), str(pre), skip_symbolic_shape=True)
                quantize_static(
                    str(pre),
                    str(tmp),
                    _Crops(photos, mean, std, input_name),
                    quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8,
                    per_channel=True,
                    reduce_range=REDUCE_RANGE,
                    calibrate_method=CalibrationMethod.MinMax,
                    nodes_to_exclude=_float_nodes(pre),
                )
        finally:
            with contextlib.suppress(OSError):
                pre.unlink()
    quantise_count += 1
