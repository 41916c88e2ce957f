"""The application's training runs: one RunManager per QApplication.

It starts trainers as detached processes (training.launch) and follows every run that is
training now: those it started, and those it finds holding their run folder's lock when it
is created or asked to `discover` (a run started before the GUI was closed and reopened, or
from the command line). Closing a window or quitting the application never stops training:
quitting only stops following; the next launch finds the runs again.
"""

from __future__ import annotations

from pathlib import Path

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Signal

from training.launch import LOG_FILE, launch, running_runs
from training.names import runs_dir

from .process import TrainingProcess

_instance: RunManager | None = None


class RunManager(QObject):
    run_started = Signal(object)  # Path of the run folder (started or found)
    run_event = Signal(object, dict)  # run folder, event
    run_finished = Signal(object, str)  # run folder, status

    def __init__(self, parent: QObject | None = None, discover: bool = True) -> None:
        super().__init__(parent)
        self._runs: dict[Path, TrainingProcess] = {}
        if discover:
            self.discover()

    @staticmethod
    def _key(run_dir: Path) -> Path:
        return Path(run_dir).resolve()

    def start(self, run_dir: Path, args: list[str]) -> TrainingProcess:
        """Start `crackinspector-train` with `args` (which include --out run_dir)."""
        run_dir = Path(run_dir)
        if self.is_running(run_dir):
            raise RuntimeError(f"{run_dir}: this run is already training")
        log = run_dir / LOG_FILE
        offset = log.stat().st_size if log.exists() else 0
        return self._follow(TrainingProcess(launch(run_dir, args), offset, self))

    def resume(self, run_dir: Path) -> TrainingProcess:
        """Continue a stopped or interrupted run from its last complete epoch."""
        return self.start(run_dir, ["--resume", "--out", str(run_dir)])

    def discover(self, root: Path | None = None) -> list[TrainingProcess]:
        """Follow the runs under `root` (the runs folder) that a trainer holds now."""
        found = []
        for handle in running_runs(root or runs_dir()):
            if not self.is_running(handle.run_dir):
                found.append(self._follow(TrainingProcess(handle, None, self)))
        return found

    def _follow(self, proc: TrainingProcess) -> TrainingProcess:
        proc.event.connect(lambda e, p=proc: self.run_event.emit(p.run_dir, e))
        proc.finished.connect(lambda status, p=proc: self.run_finished.emit(p.run_dir, status))
        self._runs[self._key(proc.run_dir)] = proc
        self.run_started.emit(proc.run_dir)
        return proc

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

    def detach_all(self) -> None:
        """On quitting: stop following; the trainers go on and are found again next time."""
        for proc in self._runs.values():
            proc.detach()


def run_manager() -> RunManager:
    """The application-wide manager (created on first use, parented to the QApplication)."""
    global _instance
    app = QCoreApplication.instance()
    if _instance is None or not shiboken6.isValid(_instance) or _instance.parent() is not app:
        _instance = RunManager(app)
        if app is not None:
            app.aboutToQuit.connect(_instance.detach_all)
    return _instance
