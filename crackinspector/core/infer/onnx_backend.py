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
    """An ONNX Runtime CPU session with `threads` intra-op threads (None or 0: torch's count,
    which the Predictor sets from its `threads` option)."""
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


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__


def load_onnx(
    info: ModelInfo,
    torch_model: torch.nn.Module | None = None,
    precision: str = "fp32",
    threads: int | None = None,
) -> tuple[OnnxRunner, bool]:
    """(runner, exported_now) for `info` at `precision` ("fp32" or "int8"): the cached
    export, else a fresh one; int8 is quantised from the fp32 export once and cached beside it.

    `torch_model` (CPU, float32) saves loading the weights a second time when the caller
    already has them; it is only used when an export is needed.
    """
    from crackinspector.core.model.registry import load_model

    path = onnx_cache_path(info)
    exported = False
    session = None
    if path.exists():
        try:
            session = make_session(path, threads) if precision == "fp32" else None
            if precision != "fp32":
                _check_loads(path)
        except Exception:  # corrupt or from an incompatible runtime: rebuild it
            session = None
            with contextlib.suppress(OSError):
                path.unlink()
    if not path.exists():
        model = torch_model if torch_model is not None else load_model(info, "cpu")
        try:
            export_onnx(model, path, tile=min(256, info.card.tile_size))
            exported = True
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError(info.weights_path, f"{EXPORT_FAILED} ({_first_line(exc)})") from exc
    if precision == "fp32":
        return OnnxRunner(session or make_session(path, threads)), exported
    if precision != "int8":
        raise ValueError(f"the onnx backend runs fp32 or int8, not {precision}")
    return OnnxRunner(_int8_session(info, path, threads)), exported


def _check_loads(path: Path) -> None:
    import onnx

    onnx.load(str(path), load_external_data=False)


def _int8_session(info: ModelInfo, fp32_path: Path, threads: int | None):
    from crackinspector.core.infer.quantize import int8_cache_path, quantise

    q_path = int8_cache_path(fp32_path)
    if q_path.exists():
        try:
            return make_session(q_path, threads)
        except Exception:  # damaged: quantise again
            with contextlib.suppress(OSError):
                q_path.unlink()
    warnings.warn(
        f"making the int8 model of {info.name} (once; about a minute)",
        QuantisingNotice,
        stacklevel=3,
    )
    from crackinspector.core.infer.quantize import QuantisationUnavailable

    try:
        quantise(fp32_path, q_path, info.card.mean, info.card.std, INPUT_NAME)
        return make_session(q_path, threads)
    except QuantisationUnavailable:
        raise
    except Exception as exc:
        reason = f"int8 quantisation failed ({_first_line(exc)})"
        raise ModelError(info.weights_path, reason) from exc


class QuantisingNotice(UserWarning):
    """The int8 model is being made (once per weights file); the first photo waits for it."""
