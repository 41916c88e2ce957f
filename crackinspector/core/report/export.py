"""Moved: the export job is crackinspector.core.pipeline.export (on the one per-image engine,
crackinspector.core.pipeline.engine). These names stay only until gui/export_dialog.py and
tests/gui/test_export_dialog.py import them from crackinspector.core.pipeline; no code here.
"""

from crackinspector.core.pipeline.engine import MaskFolderSource, ProbabilitySource
from crackinspector.core.pipeline.export import (
    EXISTING_POLICIES,
    FORMATS,
    ExportOptions,
    ExportProgress,
    ExportResult,
    run_export,
)

__all__ = [
    "EXISTING_POLICIES",
    "FORMATS",
    "ExportOptions",
    "ExportProgress",
    "ExportResult",
    "MaskFolderSource",
    "ProbabilitySource",
    "run_export",
]
