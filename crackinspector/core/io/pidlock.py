"""One process at a time: an operating-system lock on a file that holds the owner's PID.

The lock is the kernel's (`flock` on POSIX; on Windows a locked byte far past the PID text,
which stays readable), so it goes away with its process however that ends, kill -9
included: a stale PID in the file never counts. The file's text names the holder so a
second process can say "in use by PID N"; `holder()` asks from outside whether anyone
holds it (the PID, -1 while the holder is still writing it, or None).

Used by the review store (core/review/lock.py), a run's output folder
(core/pipeline/outputs.py) and a training run folder (training/runlock.py); each turns a
refusal into its own message.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    _REGION = 1 << 30  # the locked byte, far past the PID text

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

    _QUERY_FLAGS = os.O_RDWR  # msvcrt.locking needs a writable descriptor

else:
    import fcntl

    def _try_lock(fd: int, exclusive: bool) -> bool:
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except OSError:  # BlockingIOError, or a file system that refuses locks
            return False
        return True

    def _unlock(fd: int) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)

    _QUERY_FLAGS = os.O_RDONLY


def _read_pid(fd: int) -> int | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 64).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


class PidLock:
    """`acquire()` -> True, or False with `holder_pid` set to the process that has it
    (None when its PID cannot be read). OSError from opening or writing the file passes
    through (the lock is not held then). With `remove_on_release` the file is deleted when
    the lock is let go; otherwise it is emptied and stays."""

    def __init__(self, path: str | Path, *, remove_on_release: bool = False) -> None:
        self.path = Path(path)
        self.remove_on_release = remove_on_release
        self.holder_pid: int | None = None
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, retry_s: float = 0.0) -> bool:
        """Take the lock, trying again for up to `retry_s` seconds while another has it."""
        if self._fd is not None:
            return True
        deadline = time.monotonic() + retry_s
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            if _try_lock(fd, exclusive=True):
                if _same_file(fd, self.path):
                    break
                # its previous owner removed the file between our open and our lock
                os.close(fd)
                continue
            pid = _read_pid(fd)
            os.close(fd)
            if time.monotonic() >= deadline:
                self.holder_pid = pid
                return False
            time.sleep(0.05)
        try:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"{os.getpid()}\n".encode())
            os.fsync(fd)
        except OSError:  # e.g. a full disk
            if self.remove_on_release:
                with contextlib.suppress(OSError):
                    os.unlink(self.path)
            _unlock(fd)
            os.close(fd)
            raise
        self._fd = fd
        self.holder_pid = os.getpid()
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            if self.remove_on_release:
                os.unlink(self.path)  # while still held: no one can take a file going away
            else:
                os.ftruncate(fd, 0)
        _unlock(fd)
        os.close(fd)


def holder(path: str | Path) -> int | None:
    """The PID of the process holding the lock at `path` (-1 while it is still writing its
    PID), or None when no one does. The lock is taken (shared) for an instant to ask, so a
    process acquiring at that moment should pass a small `retry_s`."""
    try:
        fd = os.open(path, _QUERY_FLAGS)
    except OSError:
        return None
    try:
        if _try_lock(fd, exclusive=False):
            _unlock(fd)
            return None
        pid = _read_pid(fd)
        return pid if pid is not None else -1
    finally:
        os.close(fd)
