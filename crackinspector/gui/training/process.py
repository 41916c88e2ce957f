"""One training run as a child process, read line by line.

The trainer runs as `python -m training … --events -` in a QProcess: a crash, an
out-of-memory kill or a hang in training cannot take the GUI down, and the window stays
responsive. Events arrive as JSON lines on stdout; stderr (tqdm bars, tracebacks) is cleaned
into log lines. Stopping is the trainer's own graceful stop: a file named STOP in the run
folder, checked between steps; the trainer then keeps the best checkpoint and exports it.
"""

from __future__ import annotations

import json
import sys
from collections import deque
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Signal

from crackinspector.core.io.atomic import atomic_write_text
from training.history import RunHistory
from training.logtext import StderrCleaner
from training.runs import FAILED, INTERRUPTED, RUNNING

STOP_FILE = "STOP"  # training.loop.STOP_FILE (not imported: that module pulls in torch)


def trainer_command(args: list[str]) -> tuple[str, list[str]]:
    """The interpreter running the GUI, so it works from a venv with nothing on PATH."""
    return sys.executable, ["-m", "training", *args, "--events", "-"]


class TrainingProcess(QObject):
    """A running (or finished) trainer for one run folder."""

    event = Signal(dict)
    log_line = Signal(str)  # text to keep in the log pane
    progress_line = Signal(str)  # the live tqdm bar ('' clears it)
    finished = Signal(str)  # final status

    def __init__(self, run_dir: Path, args: list[str], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.run_dir = Path(run_dir)
        self.args = list(args)
        self.resumed = "--resume" in args
        # A resumed run continues the history already in its events.jsonl.
        self.history = RunHistory.from_file(self.run_dir / "events.jsonl")
        if self.resumed:
            self.history.end = None
        self.status = RUNNING
        self.message = ""
        self.stop_requested = False
        self.stderr_tail: deque[str] = deque(maxlen=30)
        # everything the log pane showed, so a chart window opened later shows it too
        self.log_lines: deque[str] = deque(self.history.logs[-1000:], maxlen=5000)
        self._recent_logs: deque[str] = deque(maxlen=8)
        self._stdout = b""
        self._cleaner = StderrCleaner()
        self.proc = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        env.insert("PYTHONIOENCODING", "utf-8")
        self.proc.setProcessEnvironment(env)
        self.proc.readyReadStandardOutput.connect(self._read_stdout)
        self.proc.readyReadStandardError.connect(self._read_stderr)
        self.proc.finished.connect(self._on_finished)
        self.proc.errorOccurred.connect(self._on_error)

    # ------------------------------------------------------------------ control
    def start(self) -> None:
        program, arguments = trainer_command(self.args)
        self.proc.start(program, arguments)

    def is_running(self) -> bool:
        return self.status == RUNNING

    def stop(self) -> None:
        """Ask for a graceful stop: the trainer finishes the step, exports the best epoch."""
        if not self.is_running():
            return
        self.stop_requested = True
        self._write_stop_file()
        self._log("Stop requested: the run ends after the current step.")

    def _log(self, text: str) -> None:
        self.log_lines.append(text)
        self.log_line.emit(text)

    def _write_stop_file(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.run_dir / STOP_FILE, "stop requested from the CrackInspector GUI\n")

    def terminate(self, wait_ms: int = 5000) -> None:
        """On quitting the GUI: SIGTERM (a graceful stop for the trainer), then kill."""
        if self.proc.state() == QProcess.ProcessState.NotRunning:
            return
        self.stop()
        self.proc.terminate()
        if not self.proc.waitForFinished(wait_ms):
            self.proc.kill()
            self.proc.waitForFinished(2000)

    # ------------------------------------------------------------------ reading
    def _read_stdout(self) -> None:
        self._stdout += bytes(self.proc.readAllStandardOutput().data())
        *lines, self._stdout = self._stdout.split(b"\n")
        for raw in lines:
            self._handle_stdout_line(raw.decode("utf-8", errors="replace").rstrip("\r"))

    def _handle_stdout_line(self, line: str) -> None:
        if not line.strip():
            return
        event: Any = None
        if line.startswith("{"):
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                event = None
        if not isinstance(event, dict) or "type" not in event:
            # tqdm.write() echoes every log event as plain text; show other text once
            if line not in self._recent_logs:
                self._log(line)
            return
        self.history.feed(event)
        if event["type"] == "start" and self.stop_requested:
            self._write_stop_file()  # the trainer clears STOP as it starts; ask again
        if event["type"] == "log":
            message = str(event.get("message", ""))
            self._recent_logs.append(message)
            self._log(message)
        self.event.emit(event)

    def _read_stderr(self) -> None:
        text = bytes(self.proc.readAllStandardError().data()).decode("utf-8", errors="replace")
        self._emit_stderr(self._cleaner.feed(text))

    def _emit_stderr(self, items: list[tuple[str, str]]) -> None:
        for kind, text in items:
            if kind == "line":
                self.stderr_tail.append(text)
                self._log(text)
            else:
                self.progress_line.emit(text)

    # ------------------------------------------------------------------ the end
    def _on_finished(self, exit_code: int, exit_status: QProcess.ExitStatus) -> None:
        self._read_stdout()
        if self._stdout:
            self._handle_stdout_line(self._stdout.decode("utf-8", errors="replace"))
            self._stdout = b""
        self._read_stderr()
        self._emit_stderr(self._cleaner.flush())
        self.progress_line.emit("")
        end = self.history.end
        if end is not None:
            self.status = str(end.get("status") or FAILED)
            self.message = self.history.failure_text() or str(end.get("message") or "")
        elif exit_status == QProcess.ExitStatus.CrashExit or self.stop_requested:
            self.status = INTERRUPTED
            self.message = "the training process ended before recording its end"
        else:
            self.status = FAILED
            lines = [t for t in self.stderr_tail if t.strip()]
            self.message = lines[-1] if lines else f"the trainer exited with code {exit_code}"
        (self.run_dir / STOP_FILE).unlink(missing_ok=True)
        self.finished.emit(self.status)

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.status = FAILED
            self.message = f"could not start {sys.executable}: {self.proc.errorString()}"
            self._log(self.message)
            self.finished.emit(self.status)
