"""The one background-task helper of the GUI, after superqt's `thread_worker` model.

Every job that must not run on the GUI thread (inference, photo and thumbnail decoding,
full-size layers, measuring, exporting, the training wizard's checks) goes through a
`TaskRunner`. The work is a plain function or, for long jobs, a generator function:

    def count_to(n, cancel):              # `cancel` is passed when the function has it
        for i in range(n):
            heavy_step(i, cancel=cancel.is_set)   # long calls poll it themselves
            yield i                       # a progress report and a cancel point
        return "done"

    def predict_one(path, progress, cancel):  # `progress` is passed when the function has it
        # for work that reports through a callback: progress(value) is delivered to
        # on_yielded exactly like a yielded value
        return predictor.predict(read(path), progress=lambda d, n: progress((d, n)),
                                 cancel=cancel.is_set)

    runner = TaskRunner("export", threads=1, parent=self)
    task = runner.start(
        count_to, 10,
        key="export",                     # optional: a newer task with this key replaces it
        on_yielded=self.show_progress,    # each yielded value
        on_returned=self.show_result,     # the return value
        on_errored=self.show_error,       # the exception (not Cancelled)
        on_cancelled=self.show_cancelled, # the task was cancelled or replaced
        on_finished=self.tidy_up,         # always, last
    )
    task.cancel()                         # cooperative: takes effect at the next yield/poll
    runner.shutdown()                     # cancel all and join (closeEvent)

Rules the helper keeps so callers need no bookkeeping of their own:
- Callbacks always run on the GUI thread (the runner's mailbox lives there), so they
  may touch widgets; the work itself must never touch a widget.
- Latest wins: starting a task with the `key` of an unfinished one cancels the older one,
  and none of the older one's yielded or returned values are delivered afterwards. A
  cancelled task delivers only `on_cancelled` and `on_finished`.
- A function that raises `crackinspector.core.errors.Cancelled` counts as cancelled.
- Each runner has its own QThreadPool (`threads` workers), so a long inference never
  starves photo decoding; `priority` orders queued tasks (higher first).
- `low_priority=True` lowers the OS priority of the runner's threads (Linux nice, plus
  QThread priority), so heavy work yields the CPU to the GUI thread.
- A task cancelled while still queued ends as soon as a thread picks it up, unrun.
- After `shutdown()` nothing is delivered and nothing new starts.

`running_tasks()` lists unfinished tasks of every runner and `live_pools()` the runners'
pools; the GUI tests' leak check asserts both are idle after each test.

The model is superqt's `thread_worker` (generators whose yields are progress reports and
cancel points; started/yielded/returned/errored/finished), but the runnable is our own:
- superqt gives every job a QObject of signals inside a QRunnable that the pool deletes
  on its worker thread, so the last reference to that QObject can drop there while the GUI
  thread still delivers its queued signals (a use-after-free reported for PySide6 6.8+).
  Here a job is a plain Python callable with no Qt object of its own: it posts (task id,
  what, value) to its runner's one mailbox QObject, which lives on the GUI thread as long
  as the runner, and a `@Slot` of the runner hands each post to its Task.
- superqt takes a RuntimeError raised inside a generator job for a deleted worker and
  never reports the end, so a torch error during tiled inference left its task running
  forever; here it is an error like any other.
(The GUI suite's occasional segfaults were PySide6 6.12.0's reference-count bug, see
pyproject.toml and tests/gui/test_qt_binding.py, not this.)
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import sys
import threading
import weakref
from collections.abc import Callable, Generator
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt, QThread, QThreadPool, Signal, Slot

from crackinspector.core.errors import Cancelled, FileProblem

log = logging.getLogger(__name__)
Callback = Callable[..., Any] | None

_live: set[Task] = set()
_pools: weakref.WeakSet[QThreadPool] = weakref.WeakSet()
_lowered = threading.local()


def running_tasks() -> list[Task]:
    """Tasks of any runner that have not finished yet."""
    return [t for t in list(_live) if not t.done]


def live_pools() -> list[QThreadPool]:
    """The runners' pools whose C++ object still exists."""
    return [p for p in list(_pools) if shiboken6.isValid(p)]


def one_line(exc: BaseException) -> str:
    """A short reason for a tooltip or the status bar, never a traceback."""
    if isinstance(exc, FileProblem):
        return exc.reason
    if isinstance(exc, MemoryError) or "out of memory" in str(exc).lower():
        return "out of memory (try a smaller image or the CPU)"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


def lower_thread_priority(niceness: int = 10) -> None:
    """Make the calling thread (and threads it starts later, e.g. torch's pools) yield the
    CPU to the GUI thread; once per thread. Linux nice values are per thread."""
    if getattr(_lowered, "done", False):
        return
    _lowered.done = True
    QThread.currentThread().setPriority(QThread.Priority.LowPriority)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            tid = threading.get_native_id()
            current = os.getpriority(os.PRIO_PROCESS, tid)
            os.setpriority(os.PRIO_PROCESS, tid, min(current + niceness, 19))


class _Mailbox(QObject):
    """Where a runner's jobs post from their threads: (task id, what, value)."""

    post = Signal(int, str, object)


Post = Callable[[int, str, object], None]


class Task:
    """One started job; see the module docstring. `cancel()` may be called at any time.

    It holds no Qt object: worker threads only ever see its id and its cancel event."""

    _ids = 0

    def __init__(self, runner: TaskRunner, key: object, callbacks: dict[str, Callback]) -> None:
        Task._ids += 1
        self.id = Task._ids
        self.runner = runner
        self.key = key
        self.cancel_event = threading.Event()
        self.done = False
        self.outcome = "pending"  # pending | returned | errored | cancelled
        self._callbacks = callbacks

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def cancel(self) -> None:
        """Ask the job to stop (at its next yield or poll); its results are not delivered."""
        self.cancel_event.set()

    # ------------------------------------------------------------- delivery (GUI thread)
    def _deliver(self, name: str, *args: Any) -> None:
        if self.runner.closed:
            return
        callback = self._callbacks.get(name)
        if callback is not None:
            callback(*args)

    def _on_yielded(self, value: Any) -> None:
        if not self.cancelled:
            self._deliver("on_yielded", value)

    def _on_returned(self, value: Any) -> None:
        if not self.cancelled:
            self.outcome = "returned"
            self._deliver("on_returned", value)

    def _on_errored(self, exc: BaseException) -> None:
        if isinstance(exc, Cancelled) or self.cancelled:
            self.cancel_event.set()
            return
        self.outcome = "errored"
        log.debug("task %s failed", self.key, exc_info=exc)
        self._deliver("on_errored", exc)

    def _on_finished(self) -> None:
        self.done = True
        _live.discard(self)
        self.runner._forget(self)
        if self.cancelled:
            self.outcome = "cancelled"
            self._deliver("on_cancelled")
        self._deliver("on_finished")


class TaskRunner(QObject):
    """Starts Tasks in a private thread pool and joins them on `shutdown()`."""

    def __init__(
        self,
        name: str,
        threads: int = 1,
        low_priority: bool = False,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName(f"tasks_{name}")
        self.name = name
        self.low_priority = low_priority
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max(1, threads))
        _pools.add(self.pool)
        self.closed = False
        self._tasks: dict[int, Task] = {}
        self._mailbox = _Mailbox(self)
        self._mailbox.post.connect(self._receive, Qt.ConnectionType.QueuedConnection)

    # ------------------------------------------------------------- queries
    def tasks(self, key: object = None) -> list[Task]:
        """Unfinished tasks (with `key`, only those)."""
        return [t for t in self._tasks.values() if key is None or t.key == key]

    def busy(self, key: object = None) -> bool:
        return any(not t.cancelled for t in self.tasks(key))

    # ------------------------------------------------------------- commands
    def start(
        self,
        fn: Callable[..., Any],
        *args: Any,
        key: object = None,
        priority: int = 0,
        on_yielded: Callback = None,
        on_returned: Callback = None,
        on_errored: Callback = None,
        on_cancelled: Callback = None,
        on_finished: Callback = None,
        **kwargs: Any,
    ) -> Task:
        """Run `fn(*args, **kwargs)` in this runner's pool; see the module docstring."""
        callbacks = {
            "on_yielded": on_yielded,
            "on_returned": on_returned,
            "on_errored": on_errored,
            "on_cancelled": on_cancelled,
            "on_finished": on_finished,
        }
        if key is not None:
            self.cancel(key)
        task = Task(self, key, callbacks)
        if self.closed:  # shutting down: nothing new runs, nothing is delivered
            task.cancel_event.set()
            task.done = True
            return task
        try:
            parameters = set(inspect.signature(fn).parameters)
        except (TypeError, ValueError):  # some builtins have no signature: plain arguments
            parameters = set()
        post: Post = self._mailbox.post.emit
        if "cancel" in parameters:
            kwargs["cancel"] = task.cancel_event
        if "progress" in parameters:
            kwargs["progress"] = _progress(post, task.id)
        job = _job(fn, args, kwargs, task.id, task.cancel_event, post, self.low_priority)
        self._tasks[task.id] = task
        _live.add(task)
        self.pool.start(job, priority)
        return task

    def cancel(self, key: object = None) -> None:
        """Cancel unfinished tasks (with `key`, only those)."""
        for task in self.tasks(key):
            task.cancel()

    def wait(self, timeout_ms: int = 60_000) -> bool:
        """Block until every started task has returned (tests, closing)."""
        return self.pool.waitForDone(timeout_ms)

    def shutdown(self, timeout_ms: int = 60_000) -> bool:
        """Cancel everything, join the threads, deliver nothing more; safe to repeat."""
        self.closed = True
        for task in list(self._tasks.values()):
            task.cancel()
        if not shiboken6.isValid(self.pool):
            return True
        # queued tasks still start, see their cancel flag and end at once
        ok = self.pool.waitForDone(timeout_ms)
        if not ok:
            log.error("background tasks of %s did not stop within %d ms", self.name, timeout_ms)
            return False
        for task in self._tasks.values():  # their posts are still queued: deliver nothing
            task.done = True
            _live.discard(task)
        self._tasks = {}
        return True

    # ------------------------------------------------------------- delivery (GUI thread)
    @Slot(int, str, object)
    def _receive(self, task_id: int, what: str, value: object) -> None:
        task = self._tasks.get(task_id)
        if task is None:  # after shutdown()
            return
        if what == "yielded":
            task._on_yielded(value)
        elif what == "returned":
            task._on_returned(value)
        elif what == "errored":
            task._on_errored(value)  # type: ignore[arg-type]
        else:
            task._on_finished()

    def _forget(self, task: Task) -> None:
        self._tasks.pop(task.id, None)


def _progress(post: Post, task_id: int) -> Callable[[object], None]:
    """The `progress` callback of a job: its value is delivered like a yielded one."""

    def progress(value: object) -> None:
        post(task_id, "yielded", value)

    return progress


def _job(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    task_id: int,
    cancel: threading.Event,
    post: Post,
    low_priority: bool,
) -> Callable[[], None]:
    """What a pool thread runs: `fn` with the runner's thread set-up, a cancel check before
    it starts and at every yield, and its outcome posted to the GUI thread. The job lets go
    of the function and its arguments before it posts the end."""
    work: list[Any] = [fn, args, kwargs]

    def run() -> None:
        what, value = "returned", None
        try:
            if cancel.is_set():
                raise Cancelled("cancelled before it started")
            if low_priority:
                lower_thread_priority()
            value = work[0](*work[1], **work[2])  # no locals: work.clear() lets go of them
            if inspect.isgenerator(value):
                value = _drain(value, task_id, cancel, post)
        except Exception as exc:
            what, value = "errored", exc
        work.clear()
        with contextlib.suppress(RuntimeError):  # the runner was deleted without shutdown()
            post(task_id, what, value)
            del value
            post(task_id, "finished", None)

    return run


def _drain(gen: Generator[Any, Any, Any], task_id: int, cancel: threading.Event, post: Post) -> Any:
    """Run a generator job to its end: each yield is posted, and is a cancel point."""
    while True:
        if cancel.is_set():
            gen.close()
            raise Cancelled("cancelled")
        try:
            value = next(gen)
        except StopIteration as stop:
            return stop.value
        post(task_id, "yielded", value)
