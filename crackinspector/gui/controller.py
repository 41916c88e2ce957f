"""The analysis queue: which image is analysed next, and what happens with results.

Lives in the GUI thread and keeps all queue state there, handing the inference task runner
(gui/tasks.py, one thread) exactly one job at a time; so "the image being viewed jumps the
queue" is just a choice of the next job, and a model switch or cancel never races with a
half-consumed queue. The image on screen comes from the application state
(`state.current_changed`); the model and inference options too.

Results go to a bounded in-memory LRU (instant revisits) on top of the engine's disk cache
(instant reopening of a folder). A failed image is marked failed with its reason and the
queue moves on. `cancel_all()` keeps every finished photo and returns what it stopped.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from crackinspector.core.infer.options import InferenceOptions
from crackinspector.core.io.cache import MemoryLRU, ResultCache
from crackinspector.core.model.registry import ModelInfo

from .inference import InferenceEngine
from .results import AnalysisResult, Status
from .state import AppState
from .tasks import Task, TaskRunner, one_line

log = logging.getLogger(__name__)


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


@dataclass
class CancelSummary:
    """What Cancel stopped: the photo in progress (with its tiles) and the queued ones."""

    stopped: Path | None = None
    tiles: tuple[int, int] = (0, 0)
    not_started: int = 0
    kept: int = 0  # photos analysed before the cancel, still shown

    def text(self) -> str:
        if self.stopped is None and not self.not_started:
            return "Nothing to cancel."
        parts = []
        if self.stopped is not None:
            done, total = self.tiles
            at = f" at tile {done} of {total}" if total else ""
            parts.append(f"{self.stopped.name} stopped{at}")
        if self.not_started:
            parts.append(f"{self.not_started} photo(s) not started")
        return f"Cancelled: {', '.join(parts)}; {self.kept} analysed photo(s) kept."


class AnalysisController(QObject):
    """Queue, caches and model for inference; see the module docstring."""

    status_changed = Signal(object, object, str)  # path, Status, failure reason
    progress = Signal(object, int, int)  # path, tiles done, tiles total
    inference_started = Signal(object)  # path: inference really runs (not a cache hit)
    result_ready = Signal(object)  # AnalysisResult (for any image, from any source)
    model_ready = Signal(str)  # Predictor.description
    model_error = Signal(str)  # one-line reason the model cannot be used
    batch_progress = Signal(int, int)  # done, total ("Analyse all")
    busy_changed = Signal(bool)  # something running or queued (enables "Cancel")

    def __init__(
        self,
        state: AppState,
        cache: ResultCache | None = None,
        memory_bytes: int = 768 * 1024 * 1024,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.state = state
        self.engine = InferenceEngine(cache)
        self.runner = TaskRunner("inference", threads=1, low_priority=True, parent=self)
        self.memory: MemoryLRU[tuple, AnalysisResult] = MemoryLRU(memory_bytes)
        self.stats: Counter[str] = Counter()
        self._model: ModelInfo | None = None
        self._options = InferenceOptions()
        self._model_state = "none"  # none | pending | loading | ready | failed
        self._model_description = ""
        self._running: Task | None = None
        self._running_image: Path | None = None
        self._running_tiles = (0, 0)
        self._current_auto = True  # analyse the viewed image without being asked
        self._batch: list[Path] = []
        self._batch_total = 0
        self._batch_done = 0
        self._status: dict[Path, Status] = {}
        self._errors: dict[Path, str] = {}
        self._closed = False
        self._was_busy = False
        state.current_changed.connect(self._on_current)
        state.images_changed.connect(self._forget)
        state.model_changed.connect(lambda _m: self._configure())
        state.inference_changed.connect(lambda _o: self._configure())

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

    def status(self, path: Path) -> Status:
        return self._status.get(path, Status.NEW)

    def error(self, path: Path) -> str:
        return self._errors.get(path, "")

    def result_for(self, path: Path) -> AnalysisResult | None:
        """The current model's result for `path` if it is in memory (no disk access)."""
        if self._model is None:
            return None
        return self.memory.get(_memory_key(path, self._model))

    # ----------------------------------------------------------------- commands
    def _configure(self) -> None:
        """The state's model or inference options changed: the viewed image is re-analysed
        first, then the queue and the images already analysed with the previous model."""
        info, options = self.state.model, self.state.inference
        if (
            info is not None
            and self._model is not None
            and _model_key(info) == _model_key(self._model)
            and options == self._options
            and self._model_state != "failed"
        ):
            return
        requeue = [p for p, s in self._status.items() if s in (Status.DONE, Status.QUEUED)]
        requeue += [p for p in self._batch if p not in requeue]
        if self._running_image is not None and self._running_image not in requeue:
            requeue.append(self._running_image)
        self._stop_running()
        if options != self._options:
            self.memory.clear()  # another precision or TTA gives other maps
        self._model, self._options = info, options
        self._model_description = ""
        for path in list(self._status):
            self._set_status(path, Status.NEW)
        self._errors.clear()
        self._batch = []
        self._batch_total = self._batch_done = 0
        self._current_auto = True
        if info is None:
            self._model_state = "none"
            self.batch_progress.emit(0, 0)
            self._check_busy()
            return
        self._model_state = "pending"
        current = self.state.current
        self.analyse([p for p in requeue if p != current])
        self._request_current()
        self._pump()

    def _on_current(self, path: Path | None) -> None:
        """The image now on screen: show its result at once if known, else analyse it next."""
        self._current_auto = True
        for old in [p for p, s in self._status.items() if s == Status.QUEUED]:
            if old != path and old not in self._batch:
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
            if path == self.state.current:
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

    def analyse_all(self) -> None:
        self.analyse(self.state.images)

    def analyse_current(self) -> None:
        """Analyse the viewed image now, even after a cancel or a failure."""
        current = self.state.current
        if current is None:
            return
        self._current_auto = True
        if self.status(current) == Status.FAILED:
            self._set_status(current, Status.NEW)
        self._request_current()
        self._pump()

    def cancel_all(self) -> CancelSummary:
        """Stop the running job and empty the queue; finished photos keep their results.
        The viewed image is left alone until the user asks again or moves on."""
        summary = CancelSummary(
            stopped=self._running_image,
            tiles=self._running_tiles,
            not_started=len([p for p in self._pending_paths() if p != self._running_image]),
        )
        self._current_auto = False
        for path in self._pending_paths():
            self._set_status(path, Status.NEW)
        self._batch = []
        self._stop_running()
        self._batch_total = self._batch_done = 0
        self.batch_progress.emit(0, 0)
        summary.kept = sum(1 for s in self._status.values() if s == Status.DONE)
        self._check_busy()
        return summary

    def _forget(self, paths: list[Path]) -> None:
        """Drop statuses of images that are no longer listed (another folder was opened)."""
        keep = set(paths)
        self._batch = [p for p in self._batch if p in keep]
        for table in (self._status, self._errors):
            for p in [p for p in table if p not in keep]:
                table.pop(p, None)

    def shutdown(self, timeout_ms: int = 60_000) -> bool:
        """Cancel everything and join the inference thread (call before the window goes)."""
        if self._closed:
            return True
        self._closed = True
        self._batch = []
        return self.runner.shutdown(timeout_ms)

    # ----------------------------------------------------------------- internals
    def _stop_running(self) -> None:
        if self._running is not None:
            self._running.cancel()
        if self._running_image is not None and self.status(self._running_image) == Status.RUNNING:
            self._set_status(self._running_image, Status.NEW)
        self._running = None
        self._running_image = None
        self._running_tiles = (0, 0)

    def _set_status(self, path: Path, status: Status, reason: str = "") -> None:
        self._status[path] = status
        if status == Status.FAILED:
            self._errors[path] = reason
        self.status_changed.emit(path, status, reason)

    def _serve_from_memory(self, path: Path) -> bool:
        result = self.result_for(path)
        if result is None:
            return False
        self.stats["memory_hits"] += 1
        self._set_status(path, Status.DONE)
        self.result_ready.emit(result)
        return True

    def _request_current(self) -> None:
        path = self.state.current
        if path is None or self._model is None:
            return
        status = self.status(path)
        if status in (Status.RUNNING, Status.FAILED):
            return
        if self._serve_from_memory(path):
            return
        if self._current_auto and status != Status.QUEUED:
            self._set_status(path, Status.QUEUED)

    def _pending_paths(self) -> list[Path]:
        pending = list(self._batch)
        cur = self.state.current
        if cur is not None and self.status(cur) == Status.QUEUED and cur not in pending:
            pending.insert(0, cur)
        return pending

    def _next_path(self) -> Path | None:
        cur = self.state.current
        if cur is not None and self._current_auto and self.status(cur) == Status.QUEUED:
            return cur
        while self._batch:
            path = self._batch[0]
            if self._serve_from_memory(path):
                self._batch.pop(0)
                self._count_batch_item()
                continue
            return path
        return None

    def _pump(self) -> None:
        """Send the next job if none is running."""
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
        model, options = self._model, self._options
        if self._model_state == "failed":
            return
        if self._model_state == "pending":
            self._model_state = "loading"
            self._running = self.runner.start(
                self.engine.load,
                model,
                options,
                on_returned=lambda text: self._on_model_loaded(model, text),
                on_errored=lambda exc: self._on_model_failed(model, exc),
                on_finished=self._job_finished,
            )
            return
        path = self._next_path()
        if path is None:
            if self._batch_total:
                self._batch_total = self._batch_done = 0
                self.batch_progress.emit(0, 0)
            return
        self._set_status(path, Status.RUNNING)
        self._running_image = path
        self._running_tiles = (0, 0)
        self._running = self.runner.start(
            self.engine.analyse,
            path,
            model,
            options,
            on_yielded=lambda report: self._on_report(path, report),
            on_returned=self._on_result,
            on_errored=lambda exc: self._on_failed(path, exc),
            on_finished=self._job_finished,
        )

    def _job_finished(self) -> None:
        # Runs for the job in `_running` (a replaced job was cancelled and detached).
        task, path = self._running, self._running_image
        if task is not None and task.done:
            cancelled = task.outcome == "cancelled"
            if cancelled and path is not None and self.status(path) == Status.RUNNING:
                self._set_status(path, Status.NEW)
            self._running = None
            self._running_image = None
        self._pump()

    def _count_batch_item(self) -> None:
        self._batch_done += 1
        self.batch_progress.emit(self._batch_done, self._batch_total)

    def _leave_batch(self, path: Path) -> None:
        if path in self._batch:
            self._batch.remove(path)
            self._count_batch_item()

    # ----------------------------------------------------------------- task callbacks
    def _on_model_loaded(self, model: ModelInfo, description: str) -> None:
        if self._model is not None and _model_key(model) == _model_key(self._model):
            self._model_description = description
            self._model_state = "ready"
            self.model_ready.emit(description)

    def _on_model_failed(self, model: ModelInfo, exc: BaseException) -> None:
        if self._model is None or _model_key(model) != _model_key(self._model):
            return
        log.warning("model %s failed to load: %s", model.name, exc)
        self._model_state = "failed"
        for path in self._pending_paths():
            self._set_status(path, Status.NEW)
        self._batch = []
        self._batch_total = self._batch_done = 0
        self.batch_progress.emit(0, 0)
        self.model_error.emit(f"{model.name}: {one_line(exc)}")

    def _on_report(self, path: Path, report: tuple[str, object]) -> None:
        kind, value = report
        if kind == "started":
            self.stats["inferences"] += 1
            self.inference_started.emit(path)
        elif kind == "tiles" and isinstance(value, tuple):
            done, total = value
            self._running_tiles = (done, total)
            self.progress.emit(path, done, total)

    def _on_result(self, result: AnalysisResult) -> None:
        self.memory.put(_memory_key(result.path, result.model), result, result.nbytes)
        if result.source == "disk cache":
            self.stats["disk_hits"] += 1
        self._set_status(result.path, Status.DONE)
        self._leave_batch(result.path)
        self.result_ready.emit(result)

    def _on_failed(self, path: Path, exc: BaseException) -> None:
        log.info("analysis of %s failed: %s", path, exc)
        self.stats["failures"] += 1
        self._set_status(path, Status.FAILED, one_line(exc))
        self._leave_batch(path)
