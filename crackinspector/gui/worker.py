"""Inference off the GUI thread: a QObject worker living in its own QThread.

The worker owns the Predictor (built lazily in the worker thread, rebuilt when the model or
device changes) and the disk cache reads/writes. It receives one `Job` at a time from the
controller through a queued signal, reports per-tile progress and the outcome through
signals, and never touches a widget. Cancelling is a `threading.Event` on the job that the
Predictor polls between tile batches, so a cancel takes effect within one batch.

Everything heavy here (hashing, JPEG decode, torch, uint16 conversion, histogram, zlib)
releases the GIL, so the GUI thread keeps running while a batch goes on.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import sys
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import shiboken6
from PySide6.QtCore import QObject, QThread, QThreadPool, Signal, Slot

from crackinspector.core.errors import Cancelled, CrackInspectorError, FileProblem
from crackinspector.core.io.cache import ResultCache, file_digest, to_u16
from crackinspector.core.io.imageio import read_image
from crackinspector.core.model.registry import ModelInfo

from .results import AnalysisResult

log = logging.getLogger(__name__)
_ids = itertools.count(1)
DISK_CACHE_BYTES = 4 * 1024**3  # probability maps kept on disk, least recently used go first
PRUNE_EVERY = 25  # results written between two size checks


@dataclass(eq=False)
class Job:
    """One request to the worker: load a model, or analyse one image with it."""

    kind: str  # "load" or "analyse"
    model: ModelInfo
    device: str = "auto"
    path: Path | None = None
    backend: str = "auto"
    cancel: threading.Event = field(default_factory=threading.Event)
    id: int = field(default_factory=lambda: next(_ids))


def lower_thread_priority(niceness: int = 10) -> None:
    """Make the calling thread (and the threads it starts later: torch/ONNX Runtime pools)
    yield the CPU to the GUI thread. Linux nice values are per thread and inherited by new
    threads; elsewhere QThread priorities are used instead (see WorkerThread)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            tid = threading.get_native_id()
            current = os.getpriority(os.PRIO_PROCESS, tid)
            os.setpriority(os.PRIO_PROCESS, tid, min(current + niceness, 19))


def one_line(exc: BaseException) -> str:
    """A short reason for a tooltip or status bar, never a traceback."""
    if isinstance(exc, FileProblem):
        return exc.reason
    if isinstance(exc, MemoryError) or "out of memory" in str(exc).lower():
        return "out of memory (try a smaller image or the CPU)"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


class InferenceWorker(QObject):
    """Runs jobs sent by AnalysisController; lives in the worker thread."""

    model_loaded = Signal(object, str)  # job, Predictor.description
    model_failed = Signal(object, str)  # job, reason
    started = Signal(object)  # job (inference really runs: not a cache hit)
    progress = Signal(object, int, int)  # job, tiles done, tiles total
    finished = Signal(object, object)  # job, AnalysisResult
    failed = Signal(object, str)  # job, reason
    cancelled = Signal(object)  # job

    def __init__(self, cache: ResultCache | None = None) -> None:
        super().__init__()
        self.cache = cache if cache is not None else ResultCache()
        self._predictor = None
        self._predictor_key: tuple[str, str, str] | None = None
        self.inference_count = 0  # real predictions run (not cache hits); tests read it
        self._lowered = False
        self._puts = 0

    @Slot(object)
    def run(self, job: Job) -> None:
        if not self._lowered:
            self._lowered = True
            lower_thread_priority()
        try:
            predictor, fresh = self._ensure_predictor(job)
        except Exception as exc:  # any failure to build the model is reported, not raised
            log.warning("model %s failed to load: %s", job.model.name, exc)
            self.model_failed.emit(job, one_line(exc))
            return
        if fresh or job.kind == "load":
            self.model_loaded.emit(job, predictor.description)
        if job.kind == "load":
            return
        try:
            result = self._analyse(job, predictor)
        except Cancelled:
            self.cancelled.emit(job)
        except Exception as exc:  # one bad image must never stop the queue
            log.info("analysis of %s failed: %s", job.path, exc)
            self.failed.emit(job, one_line(exc))
        else:
            self.finished.emit(job, result)

    def _ensure_predictor(self, job: Job):
        """(predictor, built_now): the cached Predictor, rebuilt for another model/device."""
        key = (str(job.model.weights_path), job.device, job.backend)
        if self._predictor is not None and self._predictor_key == key:
            return self._predictor, False
        from crackinspector.core.infer.predictor import Predictor

        self._predictor = None  # free the old model before building the new one
        self._predictor_key = None
        self._predictor = Predictor(job.model, device=job.device, backend=job.backend)
        self._predictor_key = key
        return self._predictor, True

    def _analyse(self, job: Job, predictor) -> AnalysisResult:
        assert job.path is not None
        path = job.path
        if job.cancel.is_set():
            raise Cancelled("cancelled before start")
        if not path.is_file():
            raise FileProblem(path, "file not found")
        digest = file_digest(path)
        identity = job.model.identity
        cached = self._cache_get(digest, identity)
        if cached is not None:
            return AnalysisResult(path, job.model, cached.probability, cached.seconds, "disk cache")
        image = read_image(path)
        self.started.emit(job)
        self.inference_count += 1
        t0 = time.perf_counter()
        probability = predictor.predict(
            image,
            progress=lambda done, total: self.progress.emit(job, int(done), int(total)),
            cancel=job.cancel.is_set,
        )
        seconds = time.perf_counter() - t0
        del image
        p16 = to_u16(probability)
        del probability
        self._cache_put(digest, identity, p16, seconds)
        return AnalysisResult(path, job.model, p16, seconds, "inference")

    def _cache_get(self, digest: str, identity: str):
        try:
            return self.cache.get(digest, identity)
        except OSError as exc:  # an unreadable cache folder only costs a recomputation
            log.warning("result cache read failed: %s", exc)
            return None

    def _cache_put(self, digest: str, identity: str, p16, seconds: float) -> None:
        try:
            self.cache.put(digest, identity, p16, seconds)
            self._puts += 1
            if self._puts % PRUNE_EVERY == 1:  # keep the disk cache bounded (oldest go first)
                self.cache.prune(DISK_CACHE_BYTES)
        except (OSError, CrackInspectorError) as exc:  # e.g. disk full: the result still shows
            log.warning("result cache write failed: %s", exc)


_threads: weakref.WeakSet[QThread] = weakref.WeakSet()
_pools: weakref.WeakSet[QThreadPool] = weakref.WeakSet()


def running_threads() -> list[QThread]:
    """QThreads started by the GUI that are still running (tests assert this is empty)."""
    return [t for t in list(_threads) if t.isRunning()]


def register_pool(pool: QThreadPool) -> QThreadPool:
    """Remember a private thread pool so tests can check nothing is left running in it."""
    _pools.add(pool)
    return pool


def live_pools() -> list[QThreadPool]:
    """Registered pools whose C++ object still exists (a QThreadPool owned by a widget is
    deleted with it, after waiting for its tasks, while its Python wrapper may live on)."""
    return [p for p in list(_pools) if shiboken6.isValid(p)]


class WorkerThread:
    """An InferenceWorker moved to a fresh, started QThread; `stop()` joins it."""

    def __init__(self, cache: ResultCache | None = None, name: str = "inference") -> None:
        self.thread = QThread()
        self.thread.setObjectName(name)
        self.worker = InferenceWorker(cache)
        self.worker.moveToThread(self.thread)
        _threads.add(self.thread)
        self.thread.start(QThread.Priority.LowPriority)  # the GUI thread comes first

    def stop(self, timeout_ms: int = 60_000) -> bool:
        """Ask the event loop to quit after the current job and wait; True when it ended.

        Callers cancel the running job first so this returns within one tile batch.
        """
        if not self.thread.isRunning():
            return True
        self.thread.quit()
        return self.thread.wait(timeout_ms)
