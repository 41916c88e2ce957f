"""The Qt binding keeps Python's reference counts: PySide6 6.12.0 took a reference to None
on every void call and to True on every signal emit, so on Python < 3.12 (where None and
True are ordinary objects) they were freed after enough calls and the GUI suite died of a
segfault or "deallocating None" at random places. pyproject.toml excludes that release;
these tests fail on any binding that does it again."""

from __future__ import annotations

import sys

from PySide6.QtCore import QCoreApplication, QObject, Signal

CALLS = 200


class _Sender(QObject):
    changed = Signal(int)


def _drift(obj: object, call) -> int:
    before = sys.getrefcount(obj)
    for _ in range(CALLS):
        call()
    return sys.getrefcount(obj) - before


def test_void_calls_keep_none_alive(qapp):
    sender = _Sender()
    assert abs(_drift(None, lambda: sender.setObjectName("x"))) < CALLS // 2
    assert abs(_drift(None, QCoreApplication.processEvents)) < CALLS // 2


def test_emitting_keeps_true_alive(qapp):
    sender = _Sender()
    assert abs(_drift(True, lambda: sender.changed.emit(1))) < CALLS // 2
