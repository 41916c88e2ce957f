"""What the application remembers between runs: names, types, defaults, and clean-up.

Qt-free on purpose: the GUI stores these through QSettings (INI text, where every value comes
back as a string or a list), and `coerce` turns whatever comes back into the declared type,
falling back to the default for anything garbled, so a hand-edited or old settings file can
never crash start-up.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_SETTINGS = "CRACKINSPECTOR_SETTINGS"
MAX_RECENT = 10
_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class Setting:
    key: str
    kind: str  # "bytes", "str", "bool", "float", "int", "list", "color", "optional_float"
    default: Any
    doc: str


_ALL = (
    Setting("window/geometry", "bytes", b"", "main window geometry (Qt saveGeometry)"),
    Setting("window/state", "bytes", b"", "toolbars and docks (Qt saveState)"),
    Setting("folders/last", "str", "", "folder shown at the last exit"),
    Setting("folders/recent", "list", [], "recently opened folders, newest first"),
    Setting("model/name", "str", "", "registry name or weights path of the chosen model"),
    Setting("model/extra", "list", [], "weights files added with 'Add model from file'"),
    Setting("model/device", "str", "auto", "auto, cpu, cuda or mps"),
    Setting("model/precision", "str", "auto", "inference precision: auto, fp32, bf16 or int8"),
    Setting("model/threads", "int", 0, "CPU threads for inference; 0 = automatic"),
    Setting("model/tta", "bool", False, "test-time augmentation (average over flips)"),
    Setting("analysis/min_area_px", "int", 20, "regions smaller than this are specks"),
    Setting("analysis/severity", "str", "auto", "severity scale: auto or a preset name"),
    Setting("view/threshold", "optional_float", None, "crack threshold; empty = the model's"),
    Setting("view/opacity", "float", 0.6, "crack mask opacity 0..1"),
    Setting("view/mask_color", "color", "#ff2d55", "crack mask colour"),
    Setting("view/outlines_color", "color", "#ffd60a", "crack outline colour"),
    Setting("view/show_mask", "bool", True, "show the crack mask layer"),
    Setting("view/show_heatmap", "bool", False, "show the probability heat map layer"),
    Setting("view/show_outlines", "bool", False, "show the crack outline layer"),
    Setting("view/heatmap_opacity", "float", 0.7, "heat map opacity 0..1"),
)
SCHEMA: dict[str, Setting] = {s.key: s for s in _ALL}


def default(key: str) -> Any:
    value = SCHEMA[key].default
    return list(value) if isinstance(value, list) else value


def coerce(key: str, raw: Any) -> Any:
    """`raw` as read back from storage, converted to the key's type, or the default."""
    setting = SCHEMA[key]
    if raw is None:
        return default(key)
    try:
        return _CONVERT[setting.kind](raw, setting)
    except (TypeError, ValueError):
        return default(key)


def _to_bool(raw: Any, s: Setting) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ValueError(text)


def _to_float(raw: Any, s: Setting) -> float:
    value = float(raw)
    if value != value or not 0.0 <= value <= 1.0:  # NaN or out of range
        raise ValueError(raw)
    return value


def _to_int(raw: Any, s: Setting) -> int:
    value = int(str(raw).strip())
    if value < 0:
        raise ValueError(raw)
    return value


def _to_optional_float(raw: Any, s: Setting) -> float | None:
    if isinstance(raw, str) and raw.strip() in ("", "none", "None"):
        return None
    return _to_float(raw, s)


def _to_list(raw: Any, s: Setting) -> list[str]:
    if isinstance(raw, str):  # QSettings returns a one-item list as a plain string
        raw = [raw] if raw else []
    if not isinstance(raw, (list, tuple)):
        raise ValueError(raw)
    return [str(x) for x in raw if str(x)]


def _to_color(raw: Any, s: Setting) -> str:
    text = str(raw).strip()
    if not _COLOR_RE.match(text):
        raise ValueError(text)
    return text.lower()


def _to_bytes(raw: Any, s: Setting) -> bytes:
    if isinstance(raw, (bytes, bytearray, memoryview)):
        return bytes(raw)
    if hasattr(raw, "data"):  # QByteArray without importing Qt here
        return bytes(raw.data())
    raise ValueError(type(raw).__name__)


_CONVERT = {
    "bytes": _to_bytes,
    "str": lambda raw, s: str(raw),
    "bool": _to_bool,
    "float": _to_float,
    "int": _to_int,
    "optional_float": _to_optional_float,
    "list": _to_list,
    "color": _to_color,
}


def push_recent(recent: list[str], folder: str | Path, limit: int = MAX_RECENT) -> list[str]:
    """`folder` first, without duplicates (same resolved path), at most `limit` entries."""
    new = str(Path(folder).resolve())
    out = [new]
    for item in recent:
        if str(Path(item).resolve()) != new and item not in out:
            out.append(item)
    return out[:limit]


def existing_recent(recent: list[str]) -> list[str]:
    """Recent folders that still exist (a removed USB stick should not clutter the menu)."""
    return [item for item in recent if Path(item).is_dir()]


def settings_file_override() -> Path | None:
    """The INI file named by $CRACKINSPECTOR_SETTINGS (tests and portable installs)."""
    value = os.environ.get(ENV_SETTINGS)
    return Path(value) if value else None
