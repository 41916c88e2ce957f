"""The per-user cache folder (derived files that can always be rebuilt, e.g. ONNX exports).

Same rule as the result cache in core/cache.py: $CRACKINSPECTOR_CACHE_DIR, else the
platform's cache folder. Nothing here is precious: deleting the folder only costs time.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_CACHE_DIR = "CRACKINSPECTOR_CACHE_DIR"


def user_cache_dir() -> Path:
    """$CRACKINSPECTOR_CACHE_DIR, else the platform's per-user cache folder."""
    override = os.environ.get(ENV_CACHE_DIR)
    if override:
        return Path(override)
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
        return base / "CrackInspector" / "cache"
    if os.uname().sysname == "Darwin":
        return Path.home() / "Library" / "Caches" / "CrackInspector"
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "crackinspector"
