"""The one place that decides device and precision; every caller asks it."""

from __future__ import annotations

import contextlib

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def pick_device(requested: str = "auto") -> torch.device:
    """CUDA, then Apple MPS, then CPU for "auto"; an explicit choice must be available."""
    requested = (requested or "auto").lower()
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("CUDA was requested but no CUDA GPU is available")
    if requested == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise ValueError("MPS was requested but is not available")
    if requested not in DEVICE_CHOICES and not requested.startswith("cuda:"):
        raise ValueError(f"unknown device {requested!r}; choose one of {', '.join(DEVICE_CHOICES)}")
    return torch.device(requested)


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """Reduced precision used for inference on `device`, or None for float32."""
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return None


def autocast(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    """Mixed precision as a context manager that is a no-op when `dtype` is None."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def describe_device(device: torch.device) -> str:
    """Human name for the status bar: the GPU's name, or CPU with its thread count."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return f"CPU ({torch.get_num_threads()} threads)"


def cpu_supports_bf16() -> bool:
    """True where oneDNN runs bfloat16 natively (AVX512-BF16 or AMX), which roughly halves
    CPU training time; elsewhere bf16 would be emulated and slower."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def training_autocast_dtype(device: torch.device, mode: str = "auto") -> torch.dtype | None:
    """Mixed precision for training: "auto" is bf16 (or fp16) on CUDA, bf16 on CPUs that do it
    natively, else float32; "off", "bf16" and "fp16" force a choice."""
    mode = mode.lower()
    if mode == "off":
        return None
    if mode == "bf16":
        return torch.bfloat16
    if mode == "fp16":
        return torch.float16
    if mode != "auto":
        raise ValueError(f"unknown mixed-precision mode {mode!r}; choose auto, off, bf16 or fp16")
    if device.type == "cuda":
        return autocast_dtype(device)
    if device.type == "cpu" and cpu_supports_bf16():
        return torch.bfloat16
    return None


def hardware_summary(device: torch.device) -> str:
    """What a run ran on, for model cards and benchmark tables."""
    import os
    import platform

    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)}; torch {torch.__version__}"
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next(ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores; torch {torch.__version__}"
