"""The one PID lock (core/io/pidlock) and its three users, against real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from crackinspector.core.io.pidlock import PidLock, holder
from crackinspector.core.pipeline.outputs import LOCK_NAME, FolderInUse, FolderLock
from crackinspector.core.review.lock import StoreLock
from training.runlock import LOCK_FILE, RunInUse, RunLock

# each takes its lock in a child process, says "ready" and waits to be killed
HOLDERS = {
    "pid": "from crackinspector.core.io.pidlock import PidLock; PidLock(p).acquire()",
    "store": "from crackinspector.core.review.lock import StoreLock; StoreLock(p).acquire()",
    "folder": "from crackinspector.core.pipeline.outputs import FolderLock; "
    "FolderLock(p.parent).acquire()",
    "run": "from training.runlock import RunLock; RunLock(p.parent).acquire()",
}


def _hold(kind: str, path: Path) -> subprocess.Popen[str]:
    code = (
        "import sys, time\nfrom pathlib import Path\np = Path(sys.argv[1])\n"
        f"{HOLDERS[kind]}\nprint('ready', flush=True)\ntime.sleep(60)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    return child


def _kill(child: subprocess.Popen[str]) -> None:
    os.kill(child.pid, signal.SIGKILL)
    child.wait()


def test_a_second_process_is_refused_with_the_holders_pid_and_free_after_kill_9(tmp_path):
    path = tmp_path / "x.lock"
    child = _hold("pid", path)
    try:
        lock = PidLock(path)
        assert lock.acquire() is False and not lock.held
        assert lock.holder_pid == child.pid
        assert holder(path) == child.pid
    finally:
        _kill(child)
    assert holder(path) is None  # the PID is still in the file; the lock is not
    lock = PidLock(path)
    assert lock.acquire() is True and lock.held and lock.holder_pid == os.getpid()
    assert holder(path) is not None  # a shared query conflicts with our exclusive lock
    lock.release()
    assert path.read_text() == "" and holder(path) is None


def test_remove_on_release_deletes_the_file_and_a_later_lock_still_excludes(tmp_path):
    path = tmp_path / "x.lock"
    first = PidLock(path, remove_on_release=True)
    assert first.acquire()
    assert path.read_text().strip() == str(os.getpid())
    first.release()
    assert not path.exists()
    again = PidLock(path, remove_on_release=True)
    assert again.acquire()
    other = PidLock(path)
    assert other.acquire() is False and other.holder_pid == os.getpid()
    again.release()


@pytest.mark.parametrize("kind", ["store", "folder", "run"])
def test_every_user_writes_the_same_lock_that_holder_reads(kind, tmp_path):
    name = {"store": "inspection.sqlite.lock", "folder": LOCK_NAME, "run": LOCK_FILE}[kind]
    path = tmp_path / name
    child = _hold(kind, path)
    try:
        assert holder(path) == child.pid
        if kind == "store":
            lock = StoreLock(path)
            assert lock.acquire() is False and lock.holder_pid == child.pid
        elif kind == "folder":
            with pytest.raises(FolderInUse, match=f"in use by PID {child.pid} "):
                FolderLock(tmp_path).acquire()
        else:
            with pytest.raises(RunInUse, match=f"in use by PID {child.pid} "):
                RunLock(tmp_path).acquire()
    finally:
        _kill(child)
    assert holder(path) is None
