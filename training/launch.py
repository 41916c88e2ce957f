"""Starting a trainer that outlives the program that started it, and finding it again
(Qt-free).

`launch` runs `python -m training …` as a detached child: its own session and process
group (so closing the GUI, its terminal or a Ctrl-C there does not reach it), stdin closed,
stdout and stderr appended to `train.log` in the run folder. Everything about the run is
then in its folder: the trainer's lock (`run.lock`, training.runlock) says it is alive and
its PID, events.jsonl its progress. `running_runs` finds the runs that are training now,
whoever started them; `RunHandle.stop` asks any of them to stop gracefully (a STOP file,
which the trainer checks between steps; it keeps the best epoch and exports it).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from crackinspector.core.io.atomic import atomic_write_text

from .runlock import holder

LOG_FILE = "train.log"
STOP_FILE = "STOP"  # training.loop.STOP_FILE (not imported: that module pulls in torch)


def trainer_command(args: list[str]) -> list[str]:
    """The interpreter running this program, so it works from a venv with nothing on PATH."""
    return [sys.executable, "-m", "training", *args]


@dataclass
class RunHandle:
    """A trainer process for one run folder: started here (`popen`) or found (`popen` None)."""

    run_dir: Path
    pid: int
    popen: subprocess.Popen[bytes] | None = None

    def alive(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is None  # also reaps our own child when it ends
        return holder(self.run_dir) is not None

    @property
    def returncode(self) -> int | None:
        """The exit status of a child started here (negative: killed by that signal)."""
        return self.popen.poll() if self.popen is not None else None

    def stop(self) -> None:
        """Ask for a graceful stop: the trainer ends after the current step."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.run_dir / STOP_FILE, "stop requested\n")

    def signal(self, sig: int) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.pid, sig)

    def terminate(self, wait_s: float = 5.0) -> None:
        """SIGTERM (also a graceful stop for the trainer), then SIGKILL after `wait_s`."""
        self.signal(signal.SIGTERM)
        deadline = time.monotonic() + wait_s
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.alive():
            self.signal(getattr(signal, "SIGKILL", signal.SIGTERM))
            if self.popen is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.popen.wait(5)


def launch(run_dir: Path, args: list[str]) -> RunHandle:
    """Start the trainer with `args` (which include --out run_dir), detached; see the module
    docstring. Its output goes to run_dir/train.log."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"}
    detach: dict[str, object] = {"start_new_session": True}
    if sys.platform == "win32":
        flags = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS
        detach = {"creationflags": flags}
    with open(run_dir / LOG_FILE, "ab") as log:
        popen = subprocess.Popen(
            trainer_command(args),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            close_fds=True,
            **detach,  # type: ignore[call-overload]  # platform-specific keyword arguments
        )
    return RunHandle(run_dir, popen.pid, popen)


def running_runs(root: Path) -> list[RunHandle]:
    """The runs under `root` that a trainer holds right now (started by anyone)."""
    if not root.is_dir():
        return []
    handles = []
    for run_dir in sorted(root.iterdir()):
        pid = holder(run_dir) if run_dir.is_dir() else None
        if pid is not None:
            handles.append(RunHandle(run_dir, pid))
    return handles
