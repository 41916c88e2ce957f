"""`crackinspector doctor`: is everything here that the application needs?

One line per item, OK or what to do: Python, PyTorch and its device (CUDA / MPS / CPU, with
the GPU's name and memory), ONNX Runtime, Qt (and whether its binding keeps Python's
reference counts) and its platform plugin, the per-user folders, and the bundled models
(readable, SHA-256 as recorded in resources/models/manifest.json).
Exit 1 when something the GUI needs is missing, else 0.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MIN_PYTHON = (3, 10)


@dataclass(frozen=True)
class Line:
    item: str
    ok: bool
    text: str  # what was found, or what to do
    needed: bool = True  # the GUI cannot work without it

    def render(self) -> str:
        status = "OK  " if self.ok else ("FAIL" if self.needed else "WARN")
        return f"{status} {self.item:<20} {self.text}"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="check this machine: Python, torch, Qt, folders, models")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    lines = [check() for check in CHECKS]
    lines += check_folders() + check_bundled_models()
    for line in lines:
        print(line.render())
    failed = [line for line in lines if line.needed and not line.ok]
    print(f"{len(failed)} problem(s) the application cannot work with" if failed else "all OK")
    return 1 if failed else 0


def check_python() -> Line:
    version = platform.python_version()
    if sys.version_info < MIN_PYTHON:
        return Line("Python", False, f"{version}; CrackInspector needs Python 3.10 or newer")
    return Line("Python", True, f"{version} ({sys.executable})")


def check_torch() -> Line:
    try:
        import torch
    except Exception as exc:  # ImportError, or a broken CUDA library raising OSError
        return Line("PyTorch", False, f"cannot import torch ({exc}); pip install torch")
    return Line("PyTorch", True, f"{torch.__version__}")


def check_device() -> Line:
    try:
        import torch
    except Exception:
        return Line("device", False, "no PyTorch, no device")
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        count = torch.cuda.device_count()
        more = f" (+{count - 1} more)" if count > 1 else ""
        return Line(
            "device", True, f"CUDA: {props.name}, {props.total_memory / 2**30:.1f} GiB{more}"
        )
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return Line("device", True, "Apple GPU (MPS)")
    from crackinspector.core.model.device import hardware_summary

    cpu = hardware_summary(torch.device("cpu")).split(";")[0]
    hint = "no GPU found: inference runs on the CPU (slower"
    hint += (
        "; for an NVIDIA GPU install a CUDA build of torch)" if torch.version.cuda is None else ")"
    )
    return Line("device", True, f"CPU: {cpu}; {hint}")


def check_onnxruntime() -> Line:
    try:
        import onnxruntime
    except Exception as exc:
        return Line(
            "ONNX Runtime", False, f"cannot import onnxruntime ({exc}); pip install onnxruntime"
        )
    providers = ", ".join(onnxruntime.get_available_providers())
    return Line("ONNX Runtime", True, f"{onnxruntime.__version__} ({providers})")


def check_qt() -> Line:
    if importlib.util.find_spec("PySide6") is None:
        return Line("Qt", False, "PySide6 is not installed; pip install PySide6-Essentials")
    try:
        version = importlib.metadata.version("PySide6-Essentials")
    except importlib.metadata.PackageNotFoundError:
        version = "installed"
    leak = binding_reference_leak()
    if leak:
        return Line("Qt", False, f"PySide6 {version} {leak}")
    return Line("Qt", True, f"PySide6 {version}")


_REFCOUNT_PROBE = """
import sys
from PySide6.QtCore import QObject
probe = QObject()
before = sys.getrefcount(None)
for _ in range({calls}):
    probe.setObjectName("probe")
print(before - sys.getrefcount(None))
"""


def binding_reference_leak(calls: int = 200) -> str | None:
    """What the Qt binding does to Python's reference counts, if it breaks them: PySide6
    6.12.0 takes a reference to None on every void call, which on Python < 3.12 frees None
    after a while and crashes the GUI (tests/gui/test_qt_binding.py). Probed in a child
    Python: the commands never import Qt themselves, and a broken binding may crash."""
    try:
        probe = subprocess.run(
            [sys.executable, "-c", _REFCOUNT_PROBE.format(calls=calls)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "did not load within 60 s in a child Python"
    try:
        lost = int(probe.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return f"cannot be loaded by a child Python (exit code {probe.returncode})"
    if lost < calls // 2:
        return None
    return (
        "loses a reference to None on every call (the GUI crashes on Python < 3.12); "
        "pip install 'PySide6-Essentials<6.12'"
    )


def check_platform_plugin() -> Line:
    from crackinspector.qtcheck import gui_problem, platform_to_check

    platform_name = platform_to_check()
    problem = gui_problem()
    if problem:
        return Line("Qt platform", False, problem)
    if platform_name is None:
        chosen = os.environ.get("QT_QPA_PLATFORM") or sys.platform
        return Line("Qt platform", True, f"{chosen}: nothing to check")
    return Line("Qt platform", True, f"{platform_name} plugin: all its libraries found")


def _writable(folder: Path) -> str | None:
    """None when a file can be created in `folder` (made if missing), else the reason."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def settings_folder() -> Path:
    from crackinspector.core.settings import settings_file_override

    override = settings_file_override()
    if override is not None:
        return override.parent
    if os.name == "nt":
        return Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming"))
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Preferences"
    return Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "CrackInspector"


def check_folders() -> list[Line]:
    from crackinspector.core.io.cache import user_cache_dir
    from crackinspector.core.model.registry import user_models_dir

    lines = []
    for item, folder in (
        ("models folder", user_models_dir()),
        ("cache folder", user_cache_dir()),
        ("settings", settings_folder()),
    ):
        reason = _writable(folder)
        if reason is None:
            lines.append(Line(item, True, f"{folder} (writable)"))
        else:
            lines.append(
                Line(item, False, f"{folder} is not writable ({reason}): fix its permissions")
            )
    return lines


def check_bundled_models(folder: Path | None = None) -> list[Line]:
    from crackinspector.core.model.registry import bundled_models_dir, check_model_files

    folder = bundled_models_dir() if folder is None else folder
    checks = check_model_files(folder)
    if not checks:
        return [Line("models", False, f"no bundled models in {folder}: reinstall CrackInspector")]
    lines = []
    for c in checks:
        if c.problem is None:
            lines.append(Line(f"model {c.name}", True, f"readable, sha256 {c.digest[:16]}... ok"))
        else:
            lines.append(Line(f"model {c.name}", False, f"{c.problem}; reinstall CrackInspector"))
    return lines


CHECKS: tuple[Callable[[], Line], ...] = (
    check_python,
    check_torch,
    check_device,
    check_onnxruntime,
    check_qt,
    check_platform_plugin,
)
