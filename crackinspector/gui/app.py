"""Qt application start-up (being built by the GUI issue)."""

from __future__ import annotations


def run_gui(argv: list[str]) -> int:
    raise SystemExit("the GUI is not built yet")
