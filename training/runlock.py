"""The lock of a run folder: one trainer at a time writes it, and anyone can ask which.

`run.lock` in the run folder holds the trainer's PID while it runs, under the project's one
PID lock (crackinspector.core.io.pidlock: `flock`; on Windows a byte-range lock), which the
kernel drops when the process ends, however it ends (kill -9 included), so a stale PID in
the file never counts. A second trainer into the same folder fails at once with "in use by
PID …"; the GUI asks `holder()` to find runs that are still training after it was closed
and reopened. Readers take the
lock for an instant; the trainer retries its own for a moment so such a glance is never
mistaken for a running trainer.
"""

from __future__ import annotations

from pathlib import Path

from crackinspector.core.io import pidlock
from crackinspector.core.io.pairing import DataError

LOCK_FILE = "run.lock"
RETRY_S = 1.0


class RunInUse(DataError):
    """Another process is training into this run folder."""


class RunLock:
    """Held from `acquire()` to `release()` (or the end of the process)."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_FILE
        self._lock = pidlock.PidLock(self.path)

    def acquire(self) -> RunLock:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if not self._lock.acquire(retry_s=RETRY_S):
            raise self._in_use(self._lock.holder_pid)
        return self

    def _in_use(self, pid: int | None) -> RunInUse:
        who = f"PID {pid}" if pid is not None else "another process"
        return RunInUse(
            f"{self.run_dir}: in use by {who} (a training run is writing this folder); "
            "stop it first or choose another --out"
        )

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *_: object) -> None:
        self.release()


def holder(run_dir: str | Path) -> int | None:
    """The PID of the trainer running in `run_dir` (-1 while it is still writing its PID),
    or None when none is."""
    return pidlock.holder(Path(run_dir) / LOCK_FILE)
