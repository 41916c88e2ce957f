"""One writer per store: an operating-system lock on a file beside it, holding the PID.

The lock is crackinspector.core.io.pidlock's (the kernel's), so it goes away with its
process however that ends, kill -9 included: no stale lock files to clean up. The file's
text names the holder so a second process can say who has the store.
"""

from __future__ import annotations

from pathlib import Path

from crackinspector.core.io.pidlock import PidLock


class StoreLock(PidLock):
    """`acquire()` -> True, or False with `holder_pid` set to the process that has it."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
