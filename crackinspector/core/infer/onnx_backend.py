"""Running a model with ONNX Runtime on the CPU, from an export cached per weights file.

The export is made once per weights file (keyed by its SHA-256, the card's architecture and
`ONNX_FORMAT_VERSION`) and kept in the user cache folder, written atomically so two
processes exporting at once, or a crash midway, never leave a half file that looks valid.
A cached file that ONNX Runtime cannot load is deleted and exported again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import warnings
from pathlib import Path

import numpy as np
import torch

from crackinspector.core.errors import ModelError
from crackinspector.core.io.atomic import atomic_path
from crackinspector.core.io.cache import user_cache_dir
from crackinspector.core.model.registry import ModelInfo, weights_digest

ONNX_FORMAT_VERSION = 1  # bump when the export (opset, names, axes) changes
OPSET = 17
INPUT_NAME = "image"
OUTPUT_NAME = "logits"
EXPORT_FAILED = "ONNX export failed"

export_count = 0  # exports made by this process; tests read it to prove the cache is reused


def onnx_cache_path(info: ModelInfo) -> Path:
    """Where the export of `info` lives: one file per (weights, architecture, format)."""
    card = info.card
    arch = json.dumps(
        [
            card.architecture,
            card.encoder,
            list(card.decoder_channels),
            card.in_channels,
            card.classes,
            OPSET,
        ],
    )
    arch_key = hashlib.sha256(arch.encode()).hexdigest()[:8]
    digest = weights_digest(info.weights_path)[:24]
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in info.name)[:60]
    return user_cache_dir() / "onnx" / f"{safe}-{digest}-{arch_key}-f{ONNX_FORMAT_VERSION}.onnx"


def export_onnx(model: torch.nn.Module, path: Path, tile: int = 256) -> None:
    """Export `model` (CPU, float32, eval) with dynamic batch, height and width, atomically."""
    global export_count
    dummy = torch.zeros(1, 3, tile, tile)
    axes = {0: "batch", 2: "height", 3: "width"}
    with warnings.catch_warnings(), atomic_path(path) as tmp:
        warnings.simplefilter("ignore")  # the TorchScript exporter announces its deprecation
        torch.onnx.export(
            model,
            (dummy,),
            str(tmp),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: axes, OUTPUT_NAME: axes},
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,  # the dynamo exporter is slower here and gains nothing for a CNN
        )
    export_count += 1


def make_session(path: Path, threads: int | None = None):
    """An ONNX Runtime CPU session using the same number of threads as torch."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = int(threads or torch.get_num_threads())
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3  # errors only; warnings about unused initialisers are noise
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


class OnnxRunner:
    """Logits for a float32 NCHW batch, like calling the torch model."""

    def __init__(self, session) -> None:
        self.session = session

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run([OUTPUT_NAME], {INPUT_NAME: np.ascontiguousarray(batch)})[0]


def load_onnx(
    info: ModelInfo, torch_model: torch.nn.Module | None = None
) -> tuple[OnnxRunner, bool]:
    """(runner, exported_now) for `info`: the cached export, else a fresh one.

    `torch_model` (CPU, float32) saves loading the weights a second time when the caller
    already has them; it is only used when an export is needed.
    """
    from crackinspector.core.model.registry import load_model

    path = onnx_cache_path(info)
    if path.exists():
        try:
            return OnnxRunner(make_session(path)), False
        except Exception:  # corrupt or from an incompatible runtime: rebuild it
            with contextlib.suppress(OSError):
                path.unlink()
    model = torch_model if torch_model is not None else load_model(info, "cpu")
    try:
        export_onnx(model, path, tile=min(256, info.card.tile_size))
        return OnnxRunner(make_session(path)), True
    except ModelError:
        raise
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise ModelError(info.weights_path, f"{EXPORT_FAILED} ({reason})") from exc
