"""Background work for the wizard (pairing a folder, timing a training step) in QThreads.

A Task is not parented to a widget: closing the wizard while a task runs must not destroy a
running thread. Tasks keep themselves alive in `_live` until they finish; the wizard sets
their cancel flag on closing, and functions that take long check it between steps. Results
reach the widgets through queued signals, which Qt drops if the receiver is gone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QThread, Signal

from crackinspector.gui.worker import one_line

_live: set[Task] = set()


def live_tasks() -> list[Task]:
    """Tasks whose thread is still running (the tests' leak check reads this)."""
    return [t for t in _live if t.isRunning()]


class Task(QThread):
    """Runs `fn(cancel, *args)` once; emits `succeeded(tag, result)` or `failed(tag, reason)`.

    Connect them to bound methods of the receiving widget (not lambdas), so Qt drops the
    delivery when that widget is gone; the tag tells the receiver which request this was.
    """

    succeeded = Signal(object, object)
    failed = Signal(object, str)

    def __init__(self, name: str, tag: Any, fn: Callable[..., Any], *args: Any) -> None:
        super().__init__()
        self.setObjectName(name)
        self.tag = tag
        self.cancel = threading.Event()
        self._fn, self._args = fn, args
        self.finished.connect(self._forget)

    def start_task(self) -> Task:
        _live.add(self)
        self.start()
        return self

    def run(self) -> None:
        try:
            result = self._fn(self.cancel, *self._args)
        except Exception as exc:  # reported to the page as a line of text, never a crash
            self.failed.emit(self.tag, one_line(exc))
            return
        if not self.cancel.is_set():
            self.succeeded.emit(self.tag, result)

    def _forget(self) -> None:
        _live.discard(self)
        self.deleteLater()
