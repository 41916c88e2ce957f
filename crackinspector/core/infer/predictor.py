"""Crack probability maps for whole photos, at native resolution, in bounded memory.

`Predictor` turns an RGB uint8 photo of any size into a float32 map of crack probability of
the same size. The photo is never shrunk (hairline cracks are one or two pixels wide): it is
cut into overlapping tiles of the size the model was trained on, tiles run in batches, and
their predictions are blended with a smooth window (see core/tiling.py) so no seams show.
Tiles are taken from the uint8 photo in horizontal bands as they are needed, so the only
full-size arrays are the photo and the output map: a 300-megapixel photo needs its own
0.9 GB, the 1.2 GB map, and a few hundred MB of batches.

Backends: "torch" (CPU, CUDA with bf16/fp16 autocast, Apple MPS) and "onnx" (ONNX Runtime on
the CPU, from an export cached per weights file). "auto" picks torch on a GPU and
`AUTO_CPU_BACKEND` on the CPU (measured: benchmarks/bench_inference.py, docs/BENCHMARKS.md).
On a CUDA out-of-memory error the batch is halved down to one tile, then the predictor moves
to the CPU, with a warning each time, instead of failing the photo.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from crackinspector.core.errors import Cancelled, ModelError
from crackinspector.core.infer.hardware import native_bf16, physical_cores
from crackinspector.core.infer.precision import autocast_for
from crackinspector.core.infer.precision import choose as choose_precision
from crackinspector.core.infer.tiling import accumulate, extract_tile, plan_tiles
from crackinspector.core.model.device import autocast, describe_device, pick_device
from crackinspector.core.model.registry import ModelInfo, load_model, resolve, weights_digest

if TYPE_CHECKING:
    from crackinspector.core.infer.onnx_backend import OnnxRunner

BACKENDS = ("auto", "torch", "onnx")
AUTO_CPU_BACKEND = "onnx"  # faster than torch eager on the CPU for both bundled models
CPU_BATCH_PIXELS = 448 * 448  # per forward pass on the CPU: bigger batches gain nothing there
# Tile planning for int8, measured by benchmarks/bench_tiling.py and bench_speed.py
# (docs/BENCHMARKS.md): tiles up to 1024 px, fitted to the photo (a 4000 x 3000 photo: 20
# tiles of 800 x 864, 1.15 pixels computed per photo pixel instead of 1.81 with 448/112),
# overlapping by 64 px (seam-free: seam contrast 1.1, below the 1.2 one whole pass shows at
# the same columns). int8 activations are a quarter of fp32's, so these tiles stay within
# the memory of today's fp32 path; fp32 tiles of this size would need ~360 MB more, so fp32
# (and bf16/fp16) keep today's plan (the card's tile, a quarter overlap, unfitted), which
# also keeps fp32 exactly today's numbers.
DEFAULT_TILE = 1024
DEFAULT_OVERLAP = 64

ProgressFn = Callable[[int, int], None]
CancelFn = Callable[[], bool]


class FallbackWarning(RuntimeWarning):
    """Inference continued in a slower way (smaller batches, or the CPU) after running out
    of GPU memory."""


def threshold_map(prob: np.ndarray, threshold: float) -> np.ndarray:
    """Boolean crack mask: probability at or above `threshold`."""
    return np.asarray(prob) >= float(threshold)


def is_out_of_memory(exc: BaseException) -> bool:
    """CUDA's OutOfMemoryError, or the RuntimeError MPS and older torch raise instead."""
    oom_type = getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)
    if isinstance(exc, oom_type):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def _release_gpu_memory() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def run_with_oom_fallback(
    run_batch: Callable[[np.ndarray], np.ndarray],
    tiles: np.ndarray,
    batch_size: int,
    on_exhausted: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, int]:
    """Run `tiles` through `run_batch` in chunks of `batch_size`; returns (outputs, the batch
    size that worked).

    On out-of-memory the chunk is retried with half the batch, down to one tile; when even
    one tile does not fit, the remaining tiles go to `on_exhausted` (the Predictor moves to
    the CPU there), or the error is raised when there is no fallback. Kept separate from the
    Predictor so this logic is tested with a real function that runs out of memory.
    """
    outputs: list[np.ndarray] = []
    batch_size = max(1, int(batch_size))
    i = 0
    while i < len(tiles):
        chunk = tiles[i : i + batch_size]
        failure: BaseException | None = None
        try:
            outputs.append(run_batch(chunk))
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            failure = exc
        if failure is None:
            i += len(chunk)
            continue
        del failure  # the traceback holds GPU tensors: drop it before retrying
        _release_gpu_memory()
        if batch_size > 1:
            batch_size //= 2
            warnings.warn(
                f"out of GPU memory; retrying with {batch_size} tile(s) per batch",
                FallbackWarning,
                stacklevel=2,
            )
            continue
        if on_exhausted is None:
            raise torch.cuda.OutOfMemoryError("out of memory even with one tile per batch")
        warnings.warn(
            "out of GPU memory even with one tile per batch; continuing on the CPU",
            FallbackWarning,
            stacklevel=2,
        )
        outputs.append(on_exhausted(tiles[i:]))
        break
    return np.concatenate(outputs, axis=0), batch_size


def default_batch_size(device: torch.device, tile: int) -> int:
    """Tiles per batch. CPU: one 448 tile (measured: batching 448 tiles gains nothing on the
    CPU, and smaller batches mean more frequent progress and cancel checks), more for smaller
    tiles to amortise per-call overhead. GPU: scaled to its memory (fp16 activations of a
    ResNet-34 U-Net take roughly 0.3 GB per 448x448 tile); the OOM fallback covers misjudging."""
    if device.type == "cuda":
        total_gb = torch.cuda.get_device_properties(device).total_memory / 2**30
        return int(max(1, min(32, total_gb * 1.5 * (448 / tile) ** 2)))
    if device.type == "mps":
        return 4
    return max(1, CPU_BATCH_PIXELS // (tile * tile))


def default_tiling(card_tile: int, precision: str) -> tuple[int, int | None, bool]:
    """(tile, overlap, fit) by default: int8 the measured plan (`DEFAULT_TILE`, or the card's
    tile if larger, `DEFAULT_OVERLAP`, fitted); other precisions today's plan (the card's
    tile, a quarter-tile overlap (None), not fitted)."""
    if precision == "int8":
        return max(int(card_tile), DEFAULT_TILE), DEFAULT_OVERLAP, True
    return int(card_tile), None, False


def _as_rgb_uint8(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {image.dtype}")
    if image.ndim == 2:
        return np.repeat(image[..., None], 3, axis=2)
    if image.ndim == 3 and image.shape[2] == 1:
        return np.repeat(image, 3, axis=2)
    if image.ndim == 3 and image.shape[2] == 4:
        return image[..., :3]
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an RGB image (H, W, 3), got shape {image.shape}")
    return image


class Predictor:
    """A loaded model ready to map whole photos; reuse one for many photos.

    `precision` defaults to "fp32" here (today's path for callers that build a Predictor
    directly); the commands and the GUI go through `options.make_predictor`, whose
    `InferenceOptions.precision` defaults to "auto" (core/infer/precision.py).

    Attributes: `info` (ModelInfo), `device` (torch.device), `backend` ("torch" | "onnx"),
    `threshold` (the card's default), `description` (for status bars and logs),
    `tile_size`/`overlap`/`batch_size` (tuning; defaults from the card and the device),
    `onnx_exported` (this Predictor had to make the ONNX export, i.e. it was not cached).
    """

    def __init__(
        self,
        model: str | Path | ModelInfo | None = None,
        device: str = "auto",
        backend: str = "auto",
        batch_size: int | None = None,
        *,
        precision: str = "fp32",
        threads: int = 0,
        tile_size: int | None = None,
        overlap: int | None = None,
        tta: bool = False,
    ) -> None:
        self.info = resolve(model)
        card = self.info.card
        backend = (backend or "auto").lower()
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        if backend == "onnx":
            if (device or "auto").lower() not in ("auto", "cpu"):
                raise ValueError("the onnx backend runs on the CPU only; use --backend torch")
            self.device = torch.device("cpu")
        else:
            self.device = pick_device(device)
        explicit_threads = bool(threads and int(threads) > 0)
        self.threads = int(threads) if explicit_threads else physical_cores()
        checks = card.precision_checks
        digest = weights_digest(self.info.weights_path) if checks else None
        choice = choose_precision(precision, self.device, backend, checks, digest)
        auto = backend == "auto"
        backend = choice.backend
        self.precision = choice.precision
        self.precision_reason = choice.reason

        self.threshold = float(card.threshold)
        self.tta = bool(tta)
        self.channels_last = True
        self.onnx_exported = False
        std = np.asarray(card.std, np.float32) * 255.0
        self._scale = (1.0 / std).reshape(1, 3, 1, 1)
        self._shift = (-np.asarray(card.mean, np.float32) * 255.0 / std).reshape(1, 3, 1, 1)
        self._onnx: OnnxRunner | None = None
        self._model: torch.nn.Module | None = None
        if backend == "onnx":
            self._load_onnx(auto)
            backend = "onnx" if self._onnx is not None else "torch"
        self.backend = backend
        if backend == "torch":
            if explicit_threads and self.device.type == "cpu":
                torch.set_num_threads(self.threads)  # torch's pool is per process
            self._model = load_model(self.info, "cpu")
            self._place_model(self.device)
        planned_tile, planned_overlap, fit = default_tiling(card.tile_size, self.precision)
        self.tile_size = int(tile_size) if tile_size else planned_tile
        self.overlap: int | None = planned_overlap if overlap is None else int(overlap)
        self.fit_tiles = fit  # shrink tiles to the photo (tiling.fitted_side)
        self.batch_size = (
            int(batch_size) if batch_size else default_batch_size(self.device, self.tile_size)
        )

    @property
    def result_identity(self) -> str:
        """What decides this Predictor's probability maps, for result caches: the model's
        identity plus the effective precision, tile plan and flip averaging (today's fp32
        448/112 path keeps the bare model identity, so older cache entries stay valid)."""
        parts = [self.info.identity]
        if self.precision != "fp32":
            parts.append(self.precision)
        card = self.info.card
        default_overlap = None if self.overlap is None else int(card.tile_size) // 4
        if (self.tile_size, self.overlap, self.fit_tiles) not in (
            (int(card.tile_size), None, False),
            (int(card.tile_size), default_overlap, False),
        ):
            parts.append(f"tiles{self.tile_size}/{self.overlap}{'fit' if self.fit_tiles else ''}")
        if self.tta:
            parts.append("tta")
        return "+".join(parts)

    def _load_onnx(self, auto: bool) -> None:
        """The ONNX Runtime session at `self.precision`; with an "auto" backend or precision,
        a failure falls back (int8 to fp32, export to torch) with a warning."""
        from crackinspector.core.infer.onnx_backend import EXPORT_FAILED, load_onnx

        try:  # a cached export starts without building the torch model at all
            self._onnx, self.onnx_exported = load_onnx(
                self.info, precision=self.precision, threads=self.threads
            )
            return
        except ModelError as exc:
            if self.precision == "int8" and self.precision_reason.startswith("auto"):
                warnings.warn(f"{exc}; using fp32", FallbackWarning, stacklevel=3)
                self.precision = "fp32"
                self.precision_reason = f"auto: int8 unavailable ({exc.reason})"
                self._load_onnx(auto)
                return
            if not (auto and exc.reason.startswith(EXPORT_FAILED)):
                raise
            warnings.warn(f"{exc}; using torch instead", FallbackWarning, stacklevel=3)
            self.precision = "fp32" if self.precision == "int8" else self.precision

    # ------------------------------------------------------------------ set-up
    def _place_model(self, device: torch.device) -> None:
        assert self._model is not None
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        self._model = self._model.to(device).to(memory_format=fmt)
        if device.type == "cpu" and self.device.type != "cpu":  # out of GPU memory
            self.precision = "bf16" if self.precision == "bf16" and native_bf16() else "fp32"
        self.device = device
        self._amp_dtype = autocast_for(self.precision)
        self._scale_t = torch.from_numpy(self._scale).to(device)
        self._shift_t = torch.from_numpy(self._shift).to(device)

    @property
    def description(self) -> str:
        device = describe_device(self.device)
        if self.device.type == "cpu":
            device = f"CPU ({self.threads} threads)"
        tta = " · TTA" if self.tta else ""
        return f"{device} · {self.backend} {self.precision}{tta} · {self.info.name}"

    # ------------------------------------------------------------------ running
    def _probabilities(self, tiles: np.ndarray) -> np.ndarray:
        """Crack probability (N, h, w) float32 for uint8 tiles (N, h, w, 3); with `tta`, the
        mean over the tile and its horizontal, vertical and double flips."""
        if not self.tta:
            return self._forward(tiles)
        out = self._forward(tiles)
        out += self._forward(tiles[:, :, ::-1])[:, :, ::-1]
        out += self._forward(tiles[:, ::-1])[:, ::-1]
        out += self._forward(tiles[:, ::-1, ::-1])[:, ::-1, ::-1]
        out *= 0.25
        return out

    def _forward(self, tiles: np.ndarray) -> np.ndarray:
        """One network pass: crack probability (N, h, w) float32 for uint8 (N, h, w, 3)."""
        if self._onnx is not None:
            x = np.ascontiguousarray(tiles.transpose(0, 3, 1, 2), dtype=np.float32)
            x *= self._scale
            x += self._shift
            logits = torch.from_numpy(self._onnx(x))
        else:
            assert self._model is not None
            tiles = np.ascontiguousarray(tiles)  # a flipped view has negative strides
            t = torch.from_numpy(tiles).to(self.device).permute(0, 3, 1, 2)  # NHWC memory
            if not self.channels_last:
                t = t.contiguous()
            t = t.float().mul_(self._scale_t).add_(self._shift_t)
            with torch.inference_mode(), autocast(self.device, self._amp_dtype):
                logits = self._model(t)
        return torch.sigmoid(logits.float())[:, 0].cpu().numpy()

    def _fall_back_to_cpu(self, tiles: np.ndarray) -> np.ndarray:
        self._place_model(torch.device("cpu"))
        _release_gpu_memory()
        self.batch_size = default_batch_size(self.device, self.tile_size)
        return self._probabilities(tiles)

    def predict(
        self,
        image: np.ndarray,
        progress: ProgressFn | None = None,
        cancel: CancelFn | None = None,
    ) -> np.ndarray:
        """Crack probability in [0, 1], float32, same height and width as `image`.

        `progress(tiles_done, tiles_total)` is called at the start and after every batch;
        `cancel()` is asked before every batch, and True raises Cancelled.
        """
        image = _as_rgb_uint8(image)
        grid = plan_tiles(
            image.shape[0], image.shape[1], self.tile_size, self.overlap, fit=self.fit_tiles
        )
        out = np.empty((grid.height, grid.width), np.float32)
        out.fill(0.0)  # touch every page now: a photo too big for memory fails here, not late
        positions = list(grid.positions())
        total = len(positions)
        if progress is not None:
            progress(0, total)
        done = 0
        while done < total:
            if cancel is not None and cancel():
                raise Cancelled("cancelled")
            chunk = positions[done : done + self.batch_size]
            tiles = np.stack(
                [
                    extract_tile(image, grid.ys[i], grid.xs[j], grid.tile_h, grid.tile_w)
                    for i, j in chunk
                ]
            )
            on_cuda = self.device.type == "cuda"
            probs, batch = run_with_oom_fallback(
                self._probabilities,
                tiles,
                self.batch_size,
                self._fall_back_to_cpu if on_cuda else None,
            )
            if on_cuda and self.device.type == "cuda":
                self.batch_size = batch
            del tiles
            for (i, j), prob in zip(chunk, probs, strict=True):
                accumulate(out, grid, i, j, prob)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
        np.clip(out, 0.0, 1.0, out=out)
        return out
