"""The inspection store with real processes: a writer killed with SIGKILL mid-edit, and two
processes on one folder."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from crackinspector.core.review import StoreReadOnly, open_store
from crackinspector.core.review.location import folder_store_path

REPO = Path(__file__).resolve().parents[2]
ROWS, COLS = 1200, 1600  # 1.9 MP: a large blob, so kills land while it is being written

# Each loop: a note (committed before set_status returns), then a mask (committed by the
# background writer) whose right half has as many leading True rows as the loop count and
# whose left half is noise seeded by it, so a torn or mixed mask cannot pass for a whole one.
WRITER = f"""
import sys
import numpy as np
from crackinspector.core.review import open_store

store = open_store(sys.argv[1])
start = int(sys.argv[2])
print("ready", store.read_only, flush=True)
i = start
while True:
    i += 1
    store.set_status("001.jpg", "follow_up", note=f"edit {{i}}")
    mask = np.zeros(({ROWS}, {COLS}), bool)
    mask[:, : {COLS} // 2] = np.random.default_rng(i).random(({ROWS}, {COLS} // 2)) > 0.5
    mask[:i, {COLS} // 2 :] = True
    store.save_mask("002.jpg", mask)
    print(f"committed {{i}}", flush=True)
"""


def _loop_of(mask: np.ndarray) -> int:
    """The loop that saved `mask`; fails for a mask no loop saved."""
    assert mask.shape == (ROWS, COLS)
    right = mask[:, COLS // 2 :]
    loop = int(right.any(axis=1).sum())
    assert right[:loop].all() and not right[loop:].any()
    noise = np.random.default_rng(loop).random((ROWS, COLS // 2)) > 0.5
    assert np.array_equal(mask[:, : COLS // 2], noise)
    return loop


HOLDER = """
import sys
from crackinspector.core.review import open_store

store = open_store(sys.argv[1])
if not store.read_only:
    store.set_status("001.jpg", "accepted", note="by the first process")
print("ready", store.read_only, store.read_only_reason, flush=True)
sys.stdin.readline()
if not store.read_only:
    store.set_status("002.jpg", "false_alarm")
print("wrote", flush=True)
sys.stdin.readline()
store.close()
"""


@pytest.fixture
def photos(crackforest, tmp_path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for stem in ("001", "002"):
        shutil.copy(crackforest / "images" / f"{stem}.jpg", folder)
    return folder


def _spawn(script: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _read_line(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait(timeout=30)
        raise AssertionError(f"child ended early: {proc.stderr.read() if proc.stderr else ''}")
    return line.strip()


def _mask_pixels(path: Path) -> int | None:
    """Crack pixels of the committed mask, read by a connection of our own (None: none)."""
    if not path.exists():
        return None
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as conn:
        row = conn.execute("SELECT crack_pixels FROM masks").fetchone()
    return int(row[0]) if row else None


def _kill_after(proc: subprocess.Popen[str], loops: int, path: Path) -> int:
    """SIGKILL the writer once it reports `loops` more loops and a newly committed mask;
    returns the last loop it reported."""
    assert _read_line(proc).startswith("ready False")
    before = _mask_pixels(path)
    last = 0
    for _ in range(loops):
        last = int(_read_line(proc).split()[1])
    extra = 0
    while _mask_pixels(path) == before:  # masks are being written now: kill among them
        last = int(_read_line(proc).split()[1])
        extra += 1
        if extra > 5000:
            proc.kill()
            raise AssertionError("the writer committed no mask in 5000 loops")
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.stdout is not None
    for line in proc.stdout.read().split():  # lines printed before the kill landed
        if line.isdigit():
            last = int(line)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    return last


@pytest.mark.parametrize("loops", [[7, 40, 150]])
def test_kill_9_during_edits_never_corrupts_or_loses_commits(photos, loops):
    path = folder_store_path(photos)
    done = 0
    for n in loops:
        proc = _spawn(WRITER, str(photos), str(done))
        last = _kill_after(proc, n, path)
        with sqlite3.connect(path) as conn:  # before anything of ours touches the file
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        with open_store(photos) as store:
            assert not store.read_only and store.messages == []  # the kernel lock died too
            note = store.photo("001.jpg").note
            stored = int(note.split()[1])
            assert last <= stored <= last + 1  # every reported commit is there
            mask = store.mask("002.jpg")
            assert mask is not None
            assert _loop_of(mask) <= stored  # a whole mask of one loop, never a torn one
        done = stored


def test_a_second_process_opens_read_only_naming_the_first(photos):
    first = _spawn(HOLDER, str(photos))
    assert first.stdin is not None
    try:
        assert _read_line(first) == "ready False"
        with open_store(photos) as second:
            path = folder_store_path(photos.resolve())
            assert second.read_only
            assert second.messages == [f"{path}: opened read-only: in use by PID {first.pid}"]
            assert second.photo("001.jpg").note == "by the first process"
            with pytest.raises(StoreReadOnly, match=f"in use by PID {first.pid}"):
                second.set_status("002.jpg", "accepted")
            with pytest.raises(StoreReadOnly):
                second.save_mask("002.jpg", np.zeros((320, 480), bool))
            first.stdin.write("go\n")
            first.stdin.flush()
            assert _read_line(first) == "wrote"
            assert second.photo("002.jpg").status == "false_alarm"  # sees live changes
            first.stdin.write("close\n")
            first.stdin.flush()
            assert first.wait(timeout=60) == 0
        with open_store(photos) as third:  # the first is gone: writable again
            assert not third.read_only
            third.set_status("002.jpg", "accepted")
    finally:
        if first.poll() is None:
            first.kill()


def test_this_process_first_then_another_is_read_only(photos):
    with open_store(photos) as store:
        store.set_status("001.jpg", "accepted")
        other = _spawn(HOLDER, str(photos))
        assert other.stdin is not None
        try:
            line = _read_line(other)
            assert line == f"ready True opened read-only: in use by PID {os.getpid()}"
            other.stdin.write("go\nclose\n")
            other.stdin.flush()
            assert _read_line(other) == "wrote"
            assert other.wait(timeout=60) == 0
        finally:
            if other.poll() is None:
                other.kill()
        assert store.photo("002.jpg").status == "unreviewed"  # the other wrote nothing
