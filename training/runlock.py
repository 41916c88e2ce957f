"""The lock of a run folder: one trainer at a time writes it, and anyone can ask which.

`run.lock` in the run folder holds the trainer's PID while it runs, under an exclusive OS
lock (`flock`; on Windows a byte-range lock) that the kernel drops when the process ends,
however it ends (kill -9 included), so a stale PID in the file never counts. A second
trainer into the same folder fails at once with "in use by PID …"; the GUI asks `holder()`
to find runs that are still training after it was closed and reopened. Readers take the
lock for an instant; the trainer retries its own for a moment so such a glance is never
mistaken for a running trainer.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path

from crackinspector.core.io.pairing import DataError

LOCK_FILE = "run.lock"
RETRY_S = 1.0

if sys.platform == "win32":
    import msvcrt

    _REGION = 1 << 30  # lock a byte far past the PID text, which stays readable

    def _try_lock(fd: int, exclusive: bool) -> bool:
        os.lseek(fd, _REGION, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, _REGION, os.SEEK_SET)
        with contextlib.suppress(OSError):
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int, exclusive: bool) -> bool:
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class RunInUse(DataError):
    """Another process is training into this run folder."""


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


class RunLock:
    """Held from `acquire()` to `release()` (or the end of the process)."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + RETRY_S
        while not _try_lock(fd, exclusive=True):
            if time.monotonic() > deadline:
                os.close(fd)
                raise self._in_use(_read_pid(self.path))
            time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n".encode())
        os.fsync(fd)
        self._fd = fd
        return self

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
        _unlock(self._fd)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *_: object) -> None:
        self.release()


def holder(run_dir: str | Path) -> int | None:
    """The PID of the trainer running in `run_dir` (-1 while it is still writing its PID),
    or None when none is."""
    path = Path(run_dir) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR if sys.platform == "win32" else os.O_RDONLY)
    except OSError:
        return None
    try:
        if _try_lock(fd, exclusive=False):
            _unlock(fd)
            return None
        pid = _read_pid(path)
        return pid if pid is not None else -1
    finally:
        os.close(fd)
