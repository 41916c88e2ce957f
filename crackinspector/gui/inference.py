"""The work of one analysis, run by the controller as a background task (gui/tasks.py).

`InferenceEngine` owns the Predictor (built on first use, rebuilt when the model or the
inference options change) and the disk cache of probability maps. Its methods run in the
controller's one-thread task runner, so the Predictor is never used by two threads at
once; they never touch a widget. Cancelling is the task's cancel event, which the
Predictor polls between tile batches.

Everything heavy here (hashing, JPEG decode, torch, uint16 conversion, zlib) releases the
GIL, so the GUI thread keeps running while a batch goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from crackinspector.core.errors import Cancelled, CrackInspectorError, FileProblem
from crackinspector.core.infer.options import InferenceOptions, make_predictor
from crackinspector.core.infer.predictor import Predictor
from crackinspector.core.io.cache import CachedResult, ResultCache, file_digest, to_u16
from crackinspector.core.io.imageio import read_image
from crackinspector.core.model.registry import ModelInfo

from .results import AnalysisResult

log = logging.getLogger(__name__)
DISK_CACHE_BYTES = 4 * 1024**3  # probability maps kept on disk, least recently used go first
PRUNE_EVERY = 25  # results written between two size checks
Progress = Callable[[object], None]


class InferenceEngine:
    """Predictor and disk cache for the controller's tasks; see the module docstring."""

    def __init__(self, cache: ResultCache | None = None) -> None:
        self.cache = cache if cache is not None else ResultCache()
        self.inference_count = 0  # real predictions run (not cache hits); tests read it
        self._predictor: Predictor | None = None
        self._key: tuple[str, InferenceOptions] | None = None
        self._lock = threading.Lock()  # the runner has one thread; this makes it a rule
        self._puts = 0

    def load(self, model: ModelInfo, options: InferenceOptions) -> str:
        """Build (or reuse) the Predictor; returns its description. Raises on a bad model."""
        with self._lock:
            return self._ensure(model, options).description

    def analyse(
        self,
        path: Path,
        model: ModelInfo,
        options: InferenceOptions,
        progress: Progress,
        cancel: threading.Event,
    ) -> AnalysisResult:
        """The probability map of `path`: from the disk cache, else by inference.

        `progress` receives ("started", None) when inference really runs, then
        ("tiles", (done, total)) after each tile batch.
        """
        with self._lock:
            if cancel.is_set():
                raise Cancelled("cancelled before start")
            predictor = self._ensure(model, options)
            if not path.is_file():
                raise FileProblem(path, "file not found")
            digest = file_digest(path)
            identity = predictor.result_identity
            cached = self._cache_get(digest, identity)
            if cached is not None:
                return AnalysisResult(path, model, cached.probability, cached.seconds, "disk cache")
            image = read_image(path)
            progress(("started", None))
            self.inference_count += 1
            t0 = time.perf_counter()
            probability = predictor.predict(
                image,
                progress=lambda done, total: progress(("tiles", (int(done), int(total)))),
                cancel=cancel.is_set,
            )
            seconds = time.perf_counter() - t0
            del image
            p16 = to_u16(probability)
            del probability
            self._cache_put(digest, identity, p16, seconds)
            return AnalysisResult(path, model, p16, seconds, "inference")

    def _ensure(self, model: ModelInfo, options: InferenceOptions) -> Predictor:
        wanted = replace(options, model=model.weights_path)
        key = (str(model.weights_path), wanted)
        if self._predictor is not None and self._key == key:
            return self._predictor
        self._predictor = None  # free the old model before building the new one
        self._key = None
        try:
            self._predictor = make_predictor(wanted)
        except ValueError as exc:  # unknown backend/device combination: one line
            raise CrackInspectorError(str(exc)) from None
        self._key = key
        return self._predictor

    def _cache_get(self, digest: str, identity: str) -> CachedResult | None:
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
