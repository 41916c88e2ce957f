"""One training run followed through its run folder: the Qt side of training.launch.

The trainer is a detached process (training.launch) that outlives the GUI; this object
only watches it: every POLL_MS it reads what was appended to events.jsonl (the chart's
feed) and train.log (the trainer's stdout and stderr: log lines, tqdm bars, tracebacks),
and whether the process is still alive. A run started in this session and one found again
after a restart are followed the same way.
"""

from __future__ import annotations

import signal
from collections import deque

from PySide6.QtCore import QObject, QTimer, Signal

from training.history import RunHistory
from training.launch import LOG_FILE, RunHandle
from training.logtext import StderrCleaner
from training.runs import FAILED, INTERRUPTED, RUNNING
from training.tail import EventTail, FileTail

POLL_MS = 300


class TrainingProcess(QObject):
    """A running (or finished) trainer for one run folder."""

    event = Signal(dict)
    log_line = Signal(str)  # text to keep in the log pane
    progress_line = Signal(str)  # the live tqdm bar ('' clears it)
    finished = Signal(str)  # final status

    def __init__(
        self,
        handle: RunHandle,
        log_offset: int | None = None,
        parent: QObject | None = None,
    ) -> None:
        """`log_offset`: where this process's output starts in train.log (None: its end)."""
        super().__init__(parent)
        self.handle = handle
        self.run_dir = handle.run_dir
        self.status = RUNNING
        self.message = ""
        self.stop_requested = False
        self.log_tail: deque[str] = deque(maxlen=30)
        self._events = EventTail(self.run_dir / "events.jsonl")
        log = self.run_dir / LOG_FILE
        self._log = FileTail.at_end(log) if log_offset is None else FileTail(log, log_offset)
        self._cleaner = StderrCleaner()
        self._recent_logs: deque[str] = deque(maxlen=200)
        # A resumed run continues the history already in its events.jsonl.
        self.history = RunHistory()
        for event in self._events.new_events():
            self.history.feed(event)
        if handle.popen is not None:
            self.history.end = None  # a new process: an earlier end no longer holds
        # everything the log pane showed, so a chart window opened later shows it too
        self.log_lines: deque[str] = deque(self.history.logs[-1000:], maxlen=5000)
        self._timer = QTimer(self, interval=POLL_MS)
        self._timer.timeout.connect(self.poll)
        self._timer.start()

    @property
    def pid(self) -> int:
        return self.handle.pid

    # ------------------------------------------------------------------ control
    def is_running(self) -> bool:
        return self.status == RUNNING

    def stop(self) -> None:
        """Ask for a graceful stop: the trainer finishes the step, exports the best epoch."""
        if not self.is_running():
            return
        self.stop_requested = True
        self.handle.stop()
        self._log_text("Stop requested: the run ends after the current step.")

    def kill(self) -> None:
        """SIGKILL, as a crash or the OS would (the last complete epoch stays resumable)."""
        self.handle.signal(getattr(signal, "SIGKILL", signal.SIGTERM))

    def terminate(self, wait_ms: int = 5000) -> None:
        """SIGTERM (a graceful stop for the trainer), then kill; waits for the end."""
        if self.is_running():
            self.stop_requested = True
            self.handle.terminate(wait_ms / 1000)
            self.poll()

    def detach(self) -> None:
        """Stop following (the GUI quits); the trainer goes on."""
        self._timer.stop()

    # ------------------------------------------------------------------ reading
    def poll(self) -> None:
        alive = self.handle.alive()  # before reading: what a dead process wrote is complete
        for event in self._events.new_events():
            self._handle_event(event)
        self._emit_log(self._cleaner.feed(self._log.read()))
        if not alive and self.is_running():
            self._emit_log(self._cleaner.flush())
            self._on_finished()

    def _handle_event(self, event: dict) -> None:
        self.history.feed(event)
        if event.get("type") == "start" and self.stop_requested:
            self.handle.stop()  # the trainer clears STOP as it starts; ask again
        if event.get("type") == "log":
            message = str(event.get("message", ""))
            self._recent_logs.append(message)
            self._log_text(message)
        self.event.emit(event)

    def _emit_log(self, items: list[tuple[str, str]]) -> None:
        for kind, text in items:
            if kind == "progress":
                self.progress_line.emit(text)
            elif text not in self._recent_logs:  # the trainer echoes each log event
                self.log_tail.append(text)
                self._log_text(text)

    def _log_text(self, text: str) -> None:
        self.log_lines.append(text)
        self.log_line.emit(text)

    # ------------------------------------------------------------------ the end
    def _on_finished(self) -> None:
        self._timer.stop()
        self.progress_line.emit("")
        end = self.history.end
        code = self.handle.returncode
        if end is not None:
            self.status = str(end.get("status") or FAILED)
            self.message = self.history.failure_text() or str(end.get("message") or "")
        elif code is None or code < 0 or self.stop_requested:
            self.status = INTERRUPTED
            self.message = "the training process ended before recording its end"
        else:
            self.status = FAILED
            lines = [t for t in self.log_tail if t.strip()]
            self.message = lines[-1] if lines else f"the trainer exited with code {code}"
        self.finished.emit(self.status)
