"""The lock of a run folder: one trainer at a time writes it, and anyone can ask which.

`run.lock` in the run folder holds the trainer's PID while it runs, under an exclusive
`flock` that the kernel drops when the process ends, however it ends (kill -9 included), so
a stale PID in the file never counts. A second trainer into the same folder fails at once
with "in use by PID …"; the GUI asks `holder()` to find runs that are still training after
it was closed and reopened. Readers take a shared lock for an instant; the trainer retries
its exclusive lock for a moment so such a glance is never mistaken for a running trainer.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from crackinspector.core.io.pairing import DataError

try:
    import fcntl
except ImportError:  # Windows: no flock; the PID in the file is then checked instead
    fcntl = None  # type: ignore[assignment]  # the module is optional on this platform

LOCK_FILE = "run.lock"
RETRY_S = 1.0


class RunInUse(DataError):
    """Another process is training into this run folder."""


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunLock:
    """Held from `acquire()` to `release()` (or the end of the process)."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            self._lock(fd)
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        os.fsync(fd)
        self._fd = fd
        return self

    def _lock(self, fd: int) -> None:
        if fcntl is None:
            pid = _read_pid(self.path)
            if pid is not None and pid != os.getpid() and _pid_alive(pid):
                raise self._in_use(pid)
            return
        deadline = time.monotonic() + RETRY_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise self._in_use(_read_pid(self.path)) from None
                time.sleep(0.05)

    def _in_use(self, pid: int | None) -> RunInUse:
        who = f"PID {pid}" if pid is not None else "another process"
        return RunInUse(
            f"{self.run_dir}: in use by {who} (a training run is writing this folder); "
            "stop it first or choose another --out"
        )

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        os.close(self._fd)  # closing drops the flock
        self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *_: object) -> None:
        self.release()


def holder(run_dir: str | Path) -> int | None:
    """The PID of the trainer running in `run_dir` (-1 while it is still writing its PID),
    or None when none is."""
    path = Path(run_dir) / LOCK_FILE
    if fcntl is None:
        pid = _read_pid(path)
        return pid if pid is not None and _pid_alive(pid) else None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = _read_pid(path)
        return pid if pid is not None else -1
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
