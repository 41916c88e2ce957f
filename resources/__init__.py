"""Bundled models, demo samples and icons (installed as `crackinspector.resources`)."""

from importlib.resources import files
from pathlib import Path


def resource_dir(name: str) -> Path:
    """Folder `name` of the bundled resources (models, samples, icons) as a real path."""
    return Path(str(files(__name__) / name))
