"""Errors the user sees as one line: they name the file and what is wrong with it."""

from __future__ import annotations

from pathlib import Path


class CrackInspectorError(Exception):
    """Base of every error meant for the user rather than a traceback."""


class FileProblem(CrackInspectorError):
    """A file that cannot be used, and why."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ModelError(FileProblem):
    """A model file that is missing, truncated, corrupt or of the wrong architecture."""


class Cancelled(CrackInspectorError):
    """Long work stopped because the caller asked it to."""
