"""The application's training runs: one RunManager per QApplication.

It owns the QProcess of every run started in this session, so closing the wizard or a chart
window never stops training, and any window can find a run's live process again. When the
application quits, running trainers get a graceful stop (STOP file and SIGTERM), then a
kill after a few seconds; their last complete epoch stays resumable.
"""

from __future__ import annotations

from pathlib import Path

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Signal

from .process import TrainingProcess

_instance: RunManager | None = None


class RunManager(QObject):
    run_started = Signal(object)  # Path of the run folder
    run_event = Signal(object, dict)  # run folder, event
    run_finished = Signal(object, str)  # run folder, status

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runs: dict[Path, TrainingProcess] = {}

    @staticmethod
    def _key(run_dir: Path) -> Path:
        return Path(run_dir).resolve()

    def start(self, run_dir: Path, args: list[str]) -> TrainingProcess:
        """Start `crackinspector-train` with `args` (which include --out run_dir)."""
        key = self._key(run_dir)
        old = self._runs.get(key)
        if old is not None and old.is_running():
            raise RuntimeError(f"{run_dir}: this run is already training")
        proc = TrainingProcess(Path(run_dir), args, self)
        proc.event.connect(lambda e, p=proc: self.run_event.emit(p.run_dir, e))
        proc.finished.connect(lambda status, p=proc: self._finished(p, status))
        self._runs[key] = proc
        proc.start()
        self.run_started.emit(proc.run_dir)
        return proc

    def resume(self, run_dir: Path) -> TrainingProcess:
        """Continue a stopped or interrupted run from its last complete epoch."""
        return self.start(run_dir, ["--resume", "--out", str(run_dir)])

    def process(self, run_dir: Path) -> TrainingProcess | None:
        return self._runs.get(self._key(run_dir))

    def is_running(self, run_dir: Path) -> bool:
        proc = self.process(run_dir)
        return proc is not None and proc.is_running()

    def running(self) -> list[TrainingProcess]:
        return [p for p in self._runs.values() if p.is_running()]

    def live_dirs(self) -> set[Path]:
        return {p.run_dir for p in self.running()}

    def stop(self, run_dir: Path) -> None:
        proc = self.process(run_dir)
        if proc is not None:
            proc.stop()

    def shutdown(self, wait_ms: int = 5000) -> None:
        for proc in self.running():
            proc.terminate(wait_ms)

    def _finished(self, proc: TrainingProcess, status: str) -> None:
        self.run_finished.emit(proc.run_dir, status)


def run_manager() -> RunManager:
    """The application-wide manager (created on first use, parented to the QApplication)."""
    global _instance
    app = QCoreApplication.instance()
    if _instance is None or not shiboken6.isValid(_instance) or _instance.parent() is not app:
        _instance = RunManager(app)
        if app is not None:
            app.aboutToQuit.connect(_instance.shutdown)
    return _instance
