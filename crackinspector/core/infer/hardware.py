"""What the CPU can do, for choosing precision and threads: flags, native bf16, cores.

Read from /proc/cpuinfo on Linux (and torch's capability string elsewhere), once per process.
"""

from __future__ import annotations

import functools
import os
import platform
from pathlib import Path

import torch

CPUINFO = Path("/proc/cpuinfo")
BF16_FLAGS = ("amx_bf16", "avx512_bf16")  # native bf16 arithmetic
AMX_FLAGS = ("amx_bf16",)  # bf16 on AMX tiles: the fastest bf16 there is on a CPU
INT8_FLAGS = ("amx_int8", "avx512_vnni", "avx_vnni")  # int8 dot-product instructions


@functools.cache
def _cpuinfo() -> str:
    try:
        return CPUINFO.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def cpu_model() -> str:
    for line in _cpuinfo().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags (lower case); empty where the OS does not tell."""
    for line in _cpuinfo().splitlines():
        if line.startswith(("flags", "Features")):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def capability() -> str:
    """torch's view of the vector unit: "AVX2", "AVX512", "AMX"... (may be "DEFAULT")."""
    try:
        return str(torch.backends.cpu.get_cpu_capability())
    except (AttributeError, RuntimeError):
        return "unknown"


def _has_any(flags: tuple[str, ...]) -> bool:
    """One of `flags` in the CPU's flags; where the OS does not tell, torch's capability
    string says AMX (the one bf16 unit it names)."""
    known = cpu_flags()
    if known:
        return any(f in known for f in flags)
    return "AMX" in capability().upper()


def native_bf16() -> bool:
    """True where the CPU does bf16 arithmetic in hardware (AMX or AVX-512 BF16); elsewhere
    bf16 is emulated and slower than fp32."""
    return _has_any(BF16_FLAGS)


def amx() -> bool:
    """True where the CPU has AMX tile units, on which bf16 matrix products run fastest."""
    return _has_any(AMX_FLAGS)


def int8_dot_product() -> bool:
    """True where the CPU has int8 dot-product instructions (VNNI or AMX)."""
    return any(f in cpu_flags() for f in INT8_FLAGS)


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


@functools.cache
def physical_cores() -> int:
    """Physical cores this process may use (hyper-threads counted once).

    From /proc/cpuinfo's (physical id, core id) pairs of the CPUs in this process's affinity
    mask; where that is not available, logical CPUs divided by the threads per core that
    `siblings` / `cpu cores` report, else the logical count.
    """
    allowed: set[int] | None
    try:
        allowed = set(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        allowed = None
    cores: set[tuple[str, str]] = set()
    cpu, phys, core = None, "0", None
    for line in [*_cpuinfo().splitlines(), ""]:
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key == "processor":
            cpu = int(value) if value.isdigit() else None
        elif key == "physical id":
            phys = value
        elif key == "core id":
            core = value
        elif not key:  # end of one processor's block
            if cpu is not None and core is not None and (allowed is None or cpu in allowed):
                cores.add((phys, core))
            cpu, phys, core = None, "0", None
    if cores:
        return len(cores)
    return max(1, available_cpus())


def describe_cpu() -> dict[str, object]:
    """For benchmark tables and precision checks: model, cores and the flags that matter."""
    interesting = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", *BF16_FLAGS, "amx_int8")
    flags = cpu_flags()
    return {
        "cpu": cpu_model(),
        "logical_cpus": available_cpus(),
        "physical_cores": physical_cores(),
        "flags": [f for f in interesting if f in flags],
        "torch_capability": capability(),
        "native_bf16": native_bf16(),
        "int8_dot_product": int8_dot_product(),
    }
