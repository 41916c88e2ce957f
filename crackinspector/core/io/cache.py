"""Analysis results cached in memory and on disk, so revisiting an image is instant.

Disk entries are keyed by the SHA-256 of the image file's *content* plus the model's identity
(`ModelInfo.identity`, which changes with the weights or the card), so a renamed or copied
photo still hits and retrained weights never serve stale maps. Each entry is one compressed
`.npz` (the probability map quantised to uint16, plus a small JSON header), written
atomically: a crash leaves the old entry or none. A corrupt entry counts as a miss and is
removed. Nothing here imports Qt; the GUI and the CLI share it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np

from crackinspector.core.io.atomic import atomic_write_bytes
from crackinspector.core.io.paths import user_folder

ENV_CACHE_DIR = "CRACKINSPECTOR_CACHE_DIR"
CACHE_FORMAT = 1
U16_MAX = 65535


def user_cache_dir() -> Path:
    """$CRACKINSPECTOR_CACHE_DIR, else the platform's per-user cache folder."""
    override = os.environ.get(ENV_CACHE_DIR)
    return Path(override) if override else user_folder("cache")


_digest_lock = threading.Lock()
_digests: dict[tuple[str, int, int], str] = {}


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes, remembered by (path, size, mtime) so re-asking is free.

    hashlib releases the GIL on large buffers, so hashing in a worker thread does not stall
    the GUI thread.
    """
    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _digest_lock:
        known = _digests.get(key)
    if known:
        return known
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    digest = h.hexdigest()
    with _digest_lock:
        _digests[key] = digest
    return digest


def to_u16(probability: np.ndarray) -> np.ndarray:
    """Probability in [0, 1] (float) as uint16 0..65535; thresholds map with `threshold_u16`."""
    out = np.empty(probability.shape, dtype=np.float32)
    np.multiply(probability, U16_MAX, out=out, casting="unsafe")
    np.add(out, 0.5, out=out)
    np.clip(out, 0, U16_MAX, out=out)
    return out.astype(np.uint16)


def threshold_u16(threshold: float) -> int:
    """The uint16 level at or above which a pixel is crack for `threshold` in [0, 1]."""
    return round(min(max(threshold, 0.0), 1.0) * U16_MAX)


@dataclass
class CachedResult:
    """One stored analysis: the quantised probability map and how long inference took."""

    probability: np.ndarray  # uint16 (H, W), 0..65535 for 0..1
    seconds: float
    model_identity: str
    image_digest: str


class ResultCache:
    """Probability maps on disk under `folder` (default: the user cache folder)."""

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else user_cache_dir() / "results"

    @staticmethod
    def key(image_digest: str, model_identity: str) -> str:
        return hashlib.sha256(f"{image_digest}\n{model_identity}".encode()).hexdigest()

    def path_for(self, image_digest: str, model_identity: str) -> Path:
        key = self.key(image_digest, model_identity)
        return self.folder / key[:2] / f"{key}.npz"

    def get(self, image_digest: str, model_identity: str) -> CachedResult | None:
        """The stored result, or None when absent, unreadable or for another model."""
        path = self.path_for(image_digest, model_identity)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(str(data["header"]))
                probability = np.ascontiguousarray(data["probability"])
        except Exception:  # truncated, corrupt, or another program's file: drop it
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        if (
            header.get("format") != CACHE_FORMAT
            or header.get("model_identity") != model_identity
            or header.get("image_digest") != image_digest
            or probability.dtype != np.uint16
            or probability.ndim != 2
        ):
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used entries survive `prune`
        seconds = float(header.get("seconds", 0.0))
        return CachedResult(probability, seconds, model_identity, image_digest)

    def put(
        self, image_digest: str, model_identity: str, probability: np.ndarray, seconds: float
    ) -> Path:
        """Store a uint16 (or float [0, 1]) probability map atomically; returns the file."""
        if probability.dtype != np.uint16:
            probability = to_u16(probability)
        header = {
            "format": CACHE_FORMAT,
            "model_identity": model_identity,
            "image_digest": image_digest,
            "seconds": float(seconds),
            "shape": list(probability.shape),
        }
        buf = io.BytesIO()
        np.savez_compressed(buf, probability=probability, header=np.array(json.dumps(header)))
        path = self.path_for(image_digest, model_identity)
        atomic_write_bytes(path, buf.getvalue())
        return path

    def prune(self, max_bytes: int) -> int:
        """Delete least recently used entries until the cache fits; returns files removed."""
        entries = []
        for p in self.folder.glob("*/*.npz"):
            with contextlib.suppress(OSError):
                st = p.stat()
                entries.append((st.st_mtime, st.st_size, p))
        total = sum(size for _, size, _ in entries)
        removed = 0
        for _, size, p in sorted(entries, key=lambda e: e[0]):
            if total <= max_bytes:
                break
            with contextlib.suppress(OSError):
                p.unlink()
                total -= size
                removed += 1
        return removed

    def clear(self) -> None:
        for p in self.folder.glob("*/*.npz"):
            with contextlib.suppress(OSError):
                p.unlink()


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class MemoryLRU(Generic[K, V]):
    """A least-recently-used map bounded by total bytes (each value's size given on `put`).

    Thread-safe, so a worker may fill it while the GUI thread reads.
    """

    def __init__(self, max_bytes: int = 768 * 1024 * 1024) -> None:
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: K, default: Any = None) -> V | Any:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return default
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: K, value: V, nbytes: int) -> None:
        """Insert or replace; evicts the oldest entries. A value larger than the bound is kept
        alone (the newest result must stay visible)."""
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._items[key] = (value, int(nbytes))
            self._bytes += int(nbytes)
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, (_, size) = self._items.popitem(last=False)
                self._bytes -= size

    def pop(self, key: K) -> V | None:
        with self._lock:
            item = self._items.pop(key, None)
            if item is None:
                return None
            self._bytes -= item[1]
            return item[0]

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    @property
    def total_bytes(self) -> int:
        return self._bytes

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0
