"""The one background-task helper of the GUI: superqt's `thread_worker` machinery, wrapped.

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
- Callbacks always run on the GUI thread (superqt's signal objects live there), so they
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

Built on superqt (`create_worker`: GeneratorWorker / FunctionWorker with started, yielded,
returned, errored, finished signals); superqt starts workers in the global pool, this
module starts them in the runner's own pool instead, which superqt's QRunnables allow.
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
from PySide6.QtCore import QObject, QThread, QThreadPool, Signal
from superqt.utils import WorkerBase, create_worker

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


class _Reporter(QObject):
    report = Signal(object)


class Task:
    """One started job; see the module docstring. `cancel()` may be called at any time."""

    def __init__(self, runner: TaskRunner, key: object, callbacks: dict[str, Callback]) -> None:
        self.runner = runner
        self.key = key
        self.cancel_event = threading.Event()
        self.done = False
        self.outcome = "pending"  # pending | returned | errored | cancelled
        self._callbacks = callbacks
        self.worker: WorkerBase | None = None
        self.reporter = _Reporter()  # created on the GUI thread: deliveries land there
        self.reporter.report.connect(self._on_yielded)

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def cancel(self) -> None:
        """Ask the job to stop; its results will not be delivered."""
        self.cancel_event.set()
        if self.worker is not None and not self.done:
            self.worker.quit()

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
        self.worker = None  # superqt's QRunnable was deleted by the pool after run()


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
        self._tasks: list[Task] = []

    # ------------------------------------------------------------- queries
    def tasks(self, key: object = None) -> list[Task]:
        """Unfinished tasks (with `key`, only those)."""
        return [t for t in self._tasks if key is None or t.key == key]

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
        if "cancel" in parameters:
            kwargs["cancel"] = task.cancel_event
        if "progress" in parameters:
            kwargs["progress"] = task.reporter.report.emit
        job = _wrap(fn, self.low_priority, task.cancel_event)
        worker = create_worker(job, *args, _start_thread=False, _ignore_errors=True, **kwargs)
        task.worker = worker
        if hasattr(worker.signals, "yielded"):
            worker.signals.yielded.connect(task._on_yielded)
        worker.returned.connect(task._on_returned)
        worker.errored.connect(task._on_errored)
        worker.finished.connect(task._on_finished)
        self._tasks.append(task)
        _live.add(task)
        self.pool.start(worker, priority)
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
        for task in list(self._tasks):
            task.cancel()
        if not shiboken6.isValid(self.pool):
            return True
        # queued tasks still start, see their cancel flag and end at once
        ok = self.pool.waitForDone(timeout_ms)
        if not ok:
            log.error("background tasks of %s did not stop within %d ms", self.name, timeout_ms)
            return False
        for task in self._tasks:  # their finished signals are still queued: deliver nothing
            task.done = True  # ... but stay in _live until then (Qt holds a bound method)
        self._tasks = []
        return True

    def _forget(self, task: Task) -> None:
        with contextlib.suppress(ValueError):
            self._tasks.remove(task)


def _wrap(fn: Callable[..., Any], low_priority: bool, cancel: threading.Event) -> Callable:
    """`fn` with the runner's thread set-up first and a cancel check before it starts,
    kept a generator function if it is one (superqt picks its worker class by that)."""

    def prepare() -> None:
        if cancel.is_set():
            raise Cancelled("cancelled before it started")
        if low_priority:
            lower_thread_priority()

    if inspect.isgeneratorfunction(fn):

        def gen(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
            prepare()
            return (yield from fn(*args, **kwargs))

        return gen

    def plain(*args: Any, **kwargs: Any) -> Any:
        prepare()
        return fn(*args, **kwargs)

    return plain
