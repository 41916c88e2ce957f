"""Per-user folders: one rule for where models and caches live on each platform."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def user_folder(kind: str) -> Path:
    """The platform's per-user "data" or "cache" folder for CrackInspector."""
    if kind not in ("data", "cache"):
        raise ValueError(f"unknown folder kind {kind!r}")
    home = Path.home()
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local")) / "CrackInspector"
        return base / ("cache" if kind == "cache" else "")
    if sys.platform == "darwin":
        sub = "Caches" if kind == "cache" else "Application Support"
        return home / "Library" / sub / "CrackInspector"
    if kind == "cache":
        return Path(os.environ.get("XDG_CACHE_HOME", home / ".cache")) / "crackinspector"
    return Path(os.environ.get("XDG_DATA_HOME", home / ".local" / "share")) / "CrackInspector"
