"""Moved: the one overlay renderer is crackinspector.core.report.overlay (`tint` for a mask,
`render_overlay` for a measurement). This name stays only until tests/unit/test_inference.py
imports `tint` from there; it holds no code of its own."""

from crackinspector.core.report.overlay import CRACK_RED, tint

overlay = tint

__all__ = ["CRACK_RED", "overlay"]
