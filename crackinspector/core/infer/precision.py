"""Which arithmetic a Predictor uses: fp32, bf16, fp16 or int8, and what "auto" means.

- fp32: today's numerics (ONNX Runtime or torch, float32).
- int8: ONNX Runtime on the CPU with a statically quantised model (core/infer/quantize.py).
- bf16: torch with bf16 autocast; on the CPU only where it is native (AMX, AVX-512 BF16),
  on CUDA where the GPU supports it.
- fp16: torch with fp16 autocast, CUDA only.
- auto: on a GPU, its autocast (bf16, else fp16: what the Predictor always did there); on
  the CPU, the fastest precision whose accuracy was checked for this model, i.e. recorded in
  the model card's `precision_checks` (written by benchmarks/bench_precision.py) within
  `STRICT_F1_TOLERANCE` / `TOLERANT_F1_TOLERANCE` of the card's fp32 check; else fp32.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from crackinspector.core.infer import hardware

PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8")
STRICT_F1_TOLERANCE = 0.01  # strict F1 may drop this much against fp32
TOLERANT_F1_TOLERANCE = 0.005  # 2-px F1 may drop this much against fp32
CHECKED_ON = "crackforest-test"


class PrecisionWarning(RuntimeWarning):
    """A requested precision cannot run here; another one is used instead."""


@dataclass(frozen=True)
class Choice:
    precision: str  # "fp32" | "bf16" | "fp16" | "int8"
    backend: str  # "torch" | "onnx"
    reason: str  # one line for logs: why this precision


def cpu_preference() -> tuple[str, ...]:
    """Reduced precisions in the order they are expected to be fastest on this CPU.

    Measured with unet-resnet34 on 46 CrackForest photos against ONNX fp32
    (docs/BENCHMARKS.md): on a Xeon with AMX torch bf16 2.8x, int8 3.8x but bf16 the closer
    to fp32, so bf16 comes first there; on an AMD EPYC with AVX-512 BF16 and no AMX, bf16
    1.1x and int8 4.5x, so int8 comes first. Without native bf16 int8 is the only
    candidate (bf16 would be emulated, slower than fp32).
    """
    if hardware.amx():
        return ("bf16", "int8")
    if hardware.native_bf16():
        return ("int8", "bf16")
    return ("int8",)


def check_passes(checks: Mapping[str, Any], precision: str, weights: str | None = None) -> bool:
    """True when the card records `precision` within tolerance of the card's fp32 check.
    With `weights` (the weights file's SHA-256), checks recorded for other weights (a card
    copied onto a retrained model) do not count."""
    ref, got = checks.get("fp32"), checks.get(precision)
    if not isinstance(ref, Mapping) or not isinstance(got, Mapping):
        return False
    for record in (ref, got):
        recorded = record.get("weights_sha256")
        if weights and isinstance(recorded, str) and not weights.startswith(recorded):
            return False
    try:
        strict = float(ref["strict_f1"]) - float(got["strict_f1"])
        tolerant = float(ref["tolerant_f1"]) - float(got["tolerant_f1"])
    except (KeyError, TypeError, ValueError):
        return False
    return strict <= STRICT_F1_TOLERANCE and tolerant <= TOLERANT_F1_TOLERANCE


def choose(
    requested: str,
    device: torch.device,
    backend: str,
    checks: Mapping[str, Any] | None,
    weights: str | None = None,
) -> Choice:
    """The precision and backend for `requested` on `device` with `backend` ("auto",
    "torch" or "onnx"), given the card's `checks` for the weights whose SHA-256 is `weights`.
    Raises ValueError for a combination that cannot run at all; warns
    (PrecisionWarning) and uses fp32 where a reduced precision is not available here."""
    requested = (requested or "auto").lower()
    if requested not in PRECISIONS:
        raise ValueError(f"unknown precision {requested!r}; choose one of {', '.join(PRECISIONS)}")
    if device.type != "cpu":
        return _choose_gpu(requested, device, backend)
    if requested == "fp16":
        raise ValueError("fp16 runs on CUDA only; on the CPU use fp32, bf16 or int8")
    if requested == "int8":
        if backend == "torch":
            raise ValueError("int8 runs with the onnx backend; use --backend onnx or auto")
        return Choice("int8", "onnx", "requested")
    if requested == "bf16":
        if backend == "onnx":
            raise ValueError("bf16 runs with the torch backend; use --backend torch or auto")
        if not hardware.native_bf16():
            warnings.warn(
                "bf16 requested, but this CPU has no native bf16 (AMX or AVX-512 BF16) and "
                "would emulate it slower than fp32; using fp32",
                PrecisionWarning,
                stacklevel=3,
            )
            return Choice("fp32", _cpu_backend(backend), "bf16 not native on this CPU")
        return Choice("bf16", "torch", "requested")
    if requested == "fp32":
        return Choice("fp32", _cpu_backend(backend), "requested")
    for candidate in cpu_preference():  # auto
        wanted = "torch" if candidate == "bf16" else "onnx"
        if backend not in ("auto", wanted):
            continue
        if check_passes(checks or {}, candidate, weights):
            return Choice(candidate, wanted, f"auto: {candidate} checked on {CHECKED_ON}")
    return Choice("fp32", _cpu_backend(backend), "auto: no faster precision checked")


def _cpu_backend(backend: str) -> str:
    from crackinspector.core.infer.predictor import AUTO_CPU_BACKEND

    return AUTO_CPU_BACKEND if backend == "auto" else backend


def _choose_gpu(requested: str, device: torch.device, backend: str) -> Choice:
    if requested == "int8":
        raise ValueError("int8 runs on the CPU only (ONNX Runtime); use --device cpu")
    if requested == "auto":
        from crackinspector.core.model.device import autocast_dtype

        dtype = autocast_dtype(device)
        name = "bf16" if dtype == torch.bfloat16 else "fp16" if dtype == torch.float16 else "fp32"
        return Choice(name, "torch", f"auto: {name} autocast on {device.type}")
    if requested == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        warnings.warn("this GPU has no bf16; using fp16", PrecisionWarning, stacklevel=3)
        return Choice("fp16", "torch", "bf16 not supported by this GPU")
    return Choice(requested, "torch", "requested")


def autocast_for(precision: str) -> torch.dtype | None:
    return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
