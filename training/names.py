"""Where training runs live and what they are called.

Runs go to `<user data folder>/runs/<name>` (beside the user model folder), or to
$CRACKINSPECTOR_RUNS_DIR, which is how tests keep away from the user's real folders.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from pathlib import Path

from crackinspector.core.model.registry import ALIASES, bundled_models_dir, user_models_dir

ENV_RUNS_DIR = "CRACKINSPECTOR_RUNS_DIR"
# The run folder name becomes the exported model's name, so it follows the model-name rule.
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def runs_dir() -> Path:
    override = os.environ.get(ENV_RUNS_DIR)
    if override:
        return Path(override)
    return user_models_dir().parent / "runs"


def bundled_names() -> set[str]:
    """Names (and aliases) of the bundled models: a user model so named would be hidden."""
    return {p.stem for p in bundled_models_dir().glob("*.safetensors")} | set(ALIASES)


def name_problem(name: str, runs: Path, export_dir: Path) -> str:
    """Why `name` cannot be used for a new run ('' when it can)."""
    if not name:
        return "Give the run a name."
    if not NAME_RE.match(name):
        return "Use letters, digits, '.', '_' and '-' only (the name becomes the model's name)."
    if name in bundled_names():
        return f"{name!r} is the name of a bundled model; pick another name."
    if (runs / name).exists():
        return f"A run named {name!r} already exists in {runs}."
    if (export_dir / f"{name}.safetensors").exists():
        return f"A model named {name!r} already exists in {export_dir}; pick another name."
    return ""


def default_run_name(
    encoder: str, runs: Path, export_dir: Path, now: _dt.datetime | None = None
) -> str:
    """`<encoder>-<YYYYmmdd-HHMM>`, with -2, -3 … when that is taken."""
    stamp = (now or _dt.datetime.now()).strftime("%Y%m%d-%H%M")
    base = f"{encoder}-{stamp}"
    name, n = base, 1
    while name_problem(name, runs, export_dir):
        n += 1
        name = f"{base}-{n}"
    return name
