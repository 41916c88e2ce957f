"""Where a run writes: the output folder, its lock, and the one way files are written.

- `prepare_out_dir`: the folder is made and a probe file written before any work, so a
  read-only, missing or file-instead-of-folder target fails at once with one line.
- `FolderLock`: one run per output folder. A lock file `.crackinspector.lock` holds the
  owner's PID under an exclusive `flock`; a second run is refused with "in use by PID N".
  The kernel drops the lock when its process dies (even by kill -9), so a stale file never
  blocks a later run; the file is removed when the run ends.
- `OutputWriter.write`: every file atomically (temporary sibling, then rename), existing
  files left alone under the "skip" policy; an OSError becomes `WriteFailed` naming the
  file and the reason in the words of `describe_os_error`, which stops the run.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from crackinspector.core.errors import CrackInspectorError, FileProblem
from crackinspector.core.io.atomic import atomic_write_bytes
from crackinspector.core.io.pidlock import PidLock

EXISTING_POLICIES = ("overwrite", "skip", "new-folder")
LOCK_NAME = ".crackinspector.lock"


def describe_os_error(exc: OSError) -> str:
    """A short lower-case reason for an OS error: 'permission denied', 'no space left'."""
    reasons = {
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ENOSPC: "no space left on device",
        errno.EDQUOT: "disk quota exceeded",
        errno.EROFS: "read-only file system",
        errno.EFBIG: "file too large for the target (size limit reached)",
        errno.ENOTDIR: "a part of the path is a file, not a folder",
        errno.EEXIST: "exists and is not a folder",
        errno.ENAMETOOLONG: "file name too long",
    }
    return reasons.get(exc.errno or 0) or (exc.strerror or str(exc)).lower()


def choose_out_dir(out_dir: Path, existing: str) -> Path:
    """DIR, or for "new-folder" the first of DIR-2, DIR-3 ... that is absent or empty."""
    if existing != "new-folder":
        return out_dir
    candidate, n = out_dir, 1
    while candidate.exists() and (not candidate.is_dir() or any(candidate.iterdir())):
        n += 1
        candidate = out_dir.with_name(f"{out_dir.name}-{n}")
    return candidate


def prepare_out_dir(out_dir: Path) -> None:
    """Make the folder and prove a file can be written there, or raise FileProblem."""
    if out_dir.exists() and not out_dir.is_dir():
        raise FileProblem(out_dir, "is a file, not a folder")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".crackinspector-probe.", suffix=".part", dir=out_dir)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise FileProblem(out_dir, f"cannot write here: {describe_os_error(exc)}") from None


class FolderInUse(CrackInspectorError):
    """Another run holds the output folder."""


class FolderLock:
    """Exclusive use of an output folder for the life of a run (a context manager)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self._lock = PidLock(self.path, remove_on_release=True)

    def acquire(self) -> None:
        try:
            taken = self._lock.acquire()
        except OSError as exc:  # e.g. a full disk: the probe file was empty, this is not
            raise FileProblem(self.folder, f"cannot write here: {describe_os_error(exc)}") from None
        if not taken:
            owner = self._lock.holder_pid or "unknown"
            raise FolderInUse(
                f"{self.folder}: in use by PID {owner} (another crackinspector run writes "
                "there); wait for it to finish or choose another output folder"
            )

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class WriteFailed(Exception):
    """A file could not be written: the run stops (the problem names the file)."""

    def __init__(self, problem: FileProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


@dataclass
class OutputWriter:
    """Writes a run's files under `out_dir` and keeps account of them. Thread-safe enough
    for the pipeline: one writer thread appends, the caller reads after joining it."""

    out_dir: Path
    existing: str = "overwrite"
    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)

    def write(self, rel: str, make: Callable[[], bytes]) -> bool:
        """Write `out_dir/rel` from `make()`; False when an existing file was left alone."""
        target = self.out_dir / rel
        if self.existing == "skip" and target.exists():
            self.skipped.append(target)
            return False
        data = make()
        self.write_with(target, lambda path: atomic_write_bytes(path, data))
        return True

    def write_with(self, target: Path, writer: Callable[[Path], None]) -> None:
        """Run `writer(target)` (an atomic writer), turning an OSError into WriteFailed."""
        try:
            writer(target)
        except OSError as exc:
            raise WriteFailed(FileProblem(target, describe_os_error(exc))) from None
        self.written.append(target)
