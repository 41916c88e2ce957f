"""The analysis queue: which image the worker analyses next, and what happens with results.

Lives in the GUI thread and keeps all queue state there, handing the worker exactly one job
at a time; so "the image being viewed jumps the queue" is just a choice of the next job, and
a model switch or cancel never races with a half-consumed queue inside the worker.

Results go to a bounded in-memory LRU (instant revisits) on top of the worker's disk cache
(instant reopening of a folder). A failed image is marked failed with its reason and the
queue moves on.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from crackinspector.core.io.cache import MemoryLRU, ResultCache
from crackinspector.core.model.registry import ModelInfo

from .results import AnalysisResult, Status
from .worker import Job, WorkerThread

log = logging.getLogger(__name__)
FRACTION_STEPS = 1000  # crack % remembered per image at thresholds 0.000, 0.001 .. 1.000


def _model_key(info: ModelInfo) -> tuple[str, int]:
    p = info.weights_path
    try:
        return (str(p.resolve()), p.stat().st_mtime_ns)
    except OSError:
        return (str(p), 0)


def _memory_key(path: Path, info: ModelInfo) -> tuple:
    try:
        st = path.stat()
        file_key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    except OSError:
        file_key = (str(path), -1, -1)
    return (*file_key, *_model_key(info))


def fraction_table(result: AnalysisResult) -> np.ndarray:
    """Crack fraction at each threshold i/FRACTION_STEPS (small enough to keep per image)."""
    levels = np.round(np.arange(FRACTION_STEPS + 1) / FRACTION_STEPS * 65535).astype(np.int64)
    return (result.counts[np.maximum(levels, 1)] / max(result.probability.size, 1)).astype(
        np.float32
    )


class AnalysisController(QObject):
    """Queue, caches and model for the inference worker; see the module docstring."""

    status_changed = Signal(object, object, str)  # path, Status, failure reason
    progress = Signal(object, int, int)  # path, tiles done, tiles total
    result_ready = Signal(object)  # AnalysisResult (for any image, from any source)
    model_ready = Signal(str)  # Predictor.description
    model_error = Signal(str)  # one-line reason the model cannot be used
    batch_progress = Signal(int, int)  # done, total ("Analyse all")
    idle = Signal()  # nothing running, nothing queued
    busy_changed = Signal(bool)  # something running or queued (enables "Cancel")
    _submit = Signal(object)  # Job -> worker thread

    def __init__(
        self,
        cache: ResultCache | None = None,
        memory_bytes: int = 768 * 1024 * 1024,
        backend: str = "auto",
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.backend = backend
        self.memory: MemoryLRU[tuple, AnalysisResult] = MemoryLRU(memory_bytes)
        self.stats: Counter[str] = Counter()
        self._model: ModelInfo | None = None
        self._device = "auto"
        self._model_state = "none"  # none | pending | loading | ready | failed
        self._model_description = ""
        self._running: Job | None = None
        self._current: Path | None = None
        self._current_auto = True  # analyse the viewed image without being asked
        self._batch: list[Path] = []
        self._batch_total = 0
        self._batch_done = 0
        self._status: dict[Path, Status] = {}
        self._errors: dict[Path, str] = {}
        self._fractions: dict[Path, np.ndarray] = {}
        self._closed = False
        self._was_busy = False

        self._thread = WorkerThread(cache)
        self.worker = self._thread.worker
        self._submit.connect(self.worker.run)
        self.worker.model_loaded.connect(self._on_model_loaded)
        self.worker.model_failed.connect(self._on_model_failed)
        self.worker.started.connect(self._on_started)
        self.worker.progress.connect(self._on_progress)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self.worker.cancelled.connect(self._on_cancelled)

    # ----------------------------------------------------------------- queries
    @property
    def model(self) -> ModelInfo | None:
        return self._model

    @property
    def model_ready_state(self) -> str:
        return self._model_state

    @property
    def model_description(self) -> str:
        return self._model_description

    @property
    def busy(self) -> bool:
        return self._running is not None or bool(self._pending_paths())

    @property
    def running_path(self) -> Path | None:
        job = self._running
        return job.path if job is not None and job.kind == "analyse" else None

    def status(self, path: Path) -> Status:
        return self._status.get(path, Status.NEW)

    def error(self, path: Path) -> str:
        return self._errors.get(path, "")

    def result_for(self, path: Path) -> AnalysisResult | None:
        """The current model's result for `path` if it is in memory (no disk access)."""
        if self._model is None:
            return None
        return self.memory.get(_memory_key(path, self._model))

    def crack_fraction(self, path: Path, threshold: float) -> float | None:
        table = self._fractions.get(path)
        if table is None:
            return None
        return float(table[round(min(max(threshold, 0.0), 1.0) * FRACTION_STEPS)])

    # ----------------------------------------------------------------- commands
    def set_model(self, info: ModelInfo | None, device: str = "auto") -> None:
        """Use another model: the viewed image is re-analysed first, then the queue and the
        images already analysed with the previous model."""
        if (
            info is not None
            and self._model is not None
            and _model_key(info) == _model_key(self._model)
            and device == self._device
            and self._model_state != "failed"
        ):
            return
        requeue = [p for p, s in self._status.items() if s in (Status.DONE, Status.QUEUED)]
        requeue += [p for p in self._batch if p not in requeue]
        if self._running is not None:
            self._running.cancel.set()
            if self._running.path is not None and self._running.path not in requeue:
                requeue.append(self._running.path)
        self._model, self._device = info, device
        self._model_description = ""
        self._fractions.clear()
        for path in list(self._status):
            self._set_status(path, Status.NEW)
        self._errors.clear()
        self._batch = []
        self._batch_total = self._batch_done = 0
        self._current_auto = True
        if info is None:
            self._model_state = "none"
            self.batch_progress.emit(0, 0)
            return
        self._model_state = "pending"
        self.analyse([p for p in requeue if p != self._current])
        self._request_current()
        self._pump()

    def set_current(self, path: Path | None) -> None:
        """The image now on screen: show its result at once if known, else analyse it next."""
        old = self._current
        self._current = path
        self._current_auto = True
        stale = old is not None and old != path and old not in self._batch
        if stale and self.status(old) == Status.QUEUED:
            self._set_status(old, Status.NEW)
        self._request_current()
        self._pump()

    def analyse(self, paths: list[Path]) -> None:
        """Queue images ("Analyse all"); those already analysed or queued are skipped."""
        if self._model is None:
            return
        added = 0
        for path in paths:
            if path in self._batch or self.status(path) == Status.RUNNING:
                continue
            if path == self._current:
                self._current_auto = True
            if self._serve_from_memory(path):
                continue
            self._batch.append(path)
            self._errors.pop(path, None)
            self._set_status(path, Status.QUEUED)
            added += 1
        self._batch_total += added
        self.batch_progress.emit(self._batch_done, self._batch_total)
        self._pump()

    def analyse_current(self) -> None:
        """Analyse the viewed image now, even after a cancel or a failure."""
        if self._current is None:
            return
        self._current_auto = True
        if self.status(self._current) == Status.FAILED:
            self._set_status(self._current, Status.NEW)
        self._request_current()
        self._pump()

    def cancel_all(self) -> None:
        """Stop the running job and empty the queue; the viewed image is left alone until the
        user asks again or moves to another image."""
        self._current_auto = False
        for path in self._batch:
            self._set_status(path, Status.NEW)
        if self._current is not None and self.status(self._current) == Status.QUEUED:
            self._set_status(self._current, Status.NEW)
        self._batch = []
        if self._running is not None:
            self._running.cancel.set()
        self._batch_total = self._batch_done = 0
        self.batch_progress.emit(0, 0)
        self._check_busy()

    def forget(self, paths: list[Path]) -> None:
        """Drop statuses of images that are no longer listed (another folder was opened)."""
        keep = set(paths)
        self._batch = [p for p in self._batch if p in keep]
        for table in (self._status, self._errors, self._fractions):
            for p in [p for p in table if p not in keep]:
                table.pop(p, None)

    def shutdown(self, timeout_ms: int = 60_000) -> bool:
        """Cancel everything and join the worker thread (call before the window goes)."""
        if self._closed:
            return True
        self._closed = True
        self._batch = []
        if self._running is not None:
            self._running.cancel.set()
        ok = self._thread.stop(timeout_ms)
        if not ok:
            log.error("inference thread did not stop within %d ms", timeout_ms)
        return ok

    # ----------------------------------------------------------------- internals
    def _set_status(self, path: Path, status: Status, reason: str = "") -> None:
        self._status[path] = status
        if status == Status.FAILED:
            self._errors[path] = reason
        self.status_changed.emit(path, status, reason)

    def _serve_from_memory(self, path: Path) -> bool:
        if self._model is None:
            return False
        result = self.memory.get(_memory_key(path, self._model))
        if result is None:
            return False
        self.stats["memory_hits"] += 1
        self._fractions[path] = fraction_table(result)
        self._set_status(path, Status.DONE)
        self.result_ready.emit(result)
        return True

    def _request_current(self) -> None:
        path = self._current
        if path is None or self._model is None:
            return
        status = self.status(path)
        if status in (Status.RUNNING, Status.FAILED):
            return
        if self._serve_from_memory(path):
            return
        if self._current_auto and status != Status.QUEUED:
            self._set_status(path, Status.QUEUED)

    def _current_needs_work(self) -> bool:
        path = self._current
        return path is not None and self._current_auto and self.status(path) == Status.QUEUED

    def _pending_paths(self) -> list[Path]:
        pending = list(self._batch)
        cur = self._current
        if cur is not None and self.status(cur) == Status.QUEUED and cur not in pending:
            pending.insert(0, cur)
        return pending

    def _next_path(self) -> Path | None:
        if self._current_needs_work():
            return self._current
        while self._batch:
            path = self._batch[0]
            if self._serve_from_memory(path):
                self._batch.pop(0)
                self._count_batch_item()
                continue
            return path
        return None

    def _pump(self) -> None:
        """Send the next job if the worker is free."""
        self._send_next()
        self._check_busy()

    def _check_busy(self) -> None:
        busy = self.busy
        if busy != self._was_busy:
            self._was_busy = busy
            self.busy_changed.emit(busy)

    def _send_next(self) -> None:
        if self._closed or self._running is not None or self._model is None:
            return
        if self._model_state == "failed":
            return
        if self._model_state == "pending":
            self._model_state = "loading"
            self._send(Job("load", self._model, self._device, backend=self.backend))
            return
        path = self._next_path()
        if path is None:
            if self._batch_total:
                self._batch_total = self._batch_done = 0
                self.batch_progress.emit(0, 0)
            self.idle.emit()
            return
        self._set_status(path, Status.RUNNING)
        self._send(Job("analyse", self._model, self._device, path, backend=self.backend))

    def _send(self, job: Job) -> None:
        self._running = job
        self._submit.emit(job)

    def _job_done(self, job: Job) -> bool:
        """Bookkeeping when the worker returns `job`; False if the job was stale."""
        if job is not self._running:
            return False
        self._running = None
        return True

    def _count_batch_item(self) -> None:
        self._batch_done += 1
        self.batch_progress.emit(self._batch_done, self._batch_total)

    def _leave_batch(self, path: Path) -> None:
        if path in self._batch:
            self._batch.remove(path)
            self._count_batch_item()

    # ----------------------------------------------------------------- worker signals
    def _on_model_loaded(self, job: Job, description: str) -> None:
        finished_load = job.kind == "load" and self._job_done(job)
        if self._model is not None and _model_key(job.model) == _model_key(self._model):
            self._model_description = description
            if self._model_state != "ready":
                self._model_state = "ready"
                self.model_ready.emit(description)
        if finished_load:
            self._pump()

    def _on_model_failed(self, job: Job, reason: str) -> None:
        if not self._job_done(job):
            return
        if self._model is not None and _model_key(job.model) == _model_key(self._model):
            self._model_state = "failed"
            for path in self._pending_paths():
                self._set_status(path, Status.NEW)
            if job.path is not None:
                self._set_status(job.path, Status.NEW)
            self._batch = []
            self._batch_total = self._batch_done = 0
            self.batch_progress.emit(0, 0)
            self.model_error.emit(f"{job.model.name}: {reason}")
        self._pump()

    def _on_started(self, job: Job) -> None:
        if job is self._running:
            self.stats["inferences"] += 1

    def _on_progress(self, job: Job, done: int, total: int) -> None:
        if job is self._running and job.path is not None:
            self.progress.emit(job.path, done, total)

    def _on_finished(self, job: Job, result: AnalysisResult) -> None:
        self.memory.put(_memory_key(result.path, job.model), result, result.nbytes)
        if not self._job_done(job):
            return
        if self._model is not None and _model_key(job.model) == _model_key(self._model):
            if result.source == "disk cache":
                self.stats["disk_hits"] += 1
            self._fractions[result.path] = fraction_table(result)
            self._set_status(result.path, Status.DONE)
            self._leave_batch(result.path)
            self.result_ready.emit(result)
        self._pump()

    def _on_failed(self, job: Job, reason: str) -> None:
        if not self._job_done(job):
            return
        assert job.path is not None
        if self._model is not None and _model_key(job.model) == _model_key(self._model):
            self.stats["failures"] += 1
            self._set_status(job.path, Status.FAILED, reason)
            self._leave_batch(job.path)
        self._pump()

    def _on_cancelled(self, job: Job) -> None:
        if not self._job_done(job):
            return
        path = job.path
        if path is not None and self.status(path) == Status.RUNNING:
            self._set_status(path, Status.NEW)
        self._pump()
