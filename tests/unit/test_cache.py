"""The result cache: content-keyed, model-keyed, atomic, corruption-tolerant, bounded."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from crackinspector.core import settings as schema
from crackinspector.core.io.cache import (
    MemoryLRU,
    ResultCache,
    file_digest,
    threshold_u16,
    to_u16,
    user_cache_dir,
)


@pytest.fixture()
def probability(crackforest: Path) -> np.ndarray:
    """A probability-like map derived from a real CrackForest mask (blurred ground truth)."""
    import cv2

    from crackinspector.core.io.imageio import read_mask

    mask = read_mask(crackforest / "masks" / "001.png").astype(np.float32)
    return np.clip(cv2.GaussianBlur(mask, (7, 7), 2.0) * 1.3, 0, 1)


def test_cache_dir_follows_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRACKINSPECTOR_CACHE_DIR", str(tmp_path / "c"))
    assert user_cache_dir() == tmp_path / "c"
    assert ResultCache().folder == tmp_path / "c" / "results"


def test_u16_round_trip_and_threshold(probability: np.ndarray) -> None:
    p16 = to_u16(probability)
    assert p16.dtype == np.uint16
    assert np.abs(p16.astype(np.float64) / 65535 - probability).max() <= 1 / 65535
    for t in (0.1, 0.5, 0.9):
        assert (p16 >= threshold_u16(t)).sum() == pytest.approx((probability >= t).sum(), abs=5)


def test_threshold_mask_is_one_rule_for_float_and_stored_maps(probability: np.ndarray) -> None:
    """The measured cracks (float maps) and the GUI overlay (uint16 maps) use one rule; out
    of range thresholds clip to [0, 1]."""
    from crackinspector.core.analysis.analyse import threshold_mask

    p16 = to_u16(probability)
    for t in (0.1, 0.5, 0.9):
        diff = np.count_nonzero(threshold_mask(p16, t) != threshold_mask(probability, t))
        assert diff <= 5
        assert threshold_mask(probability, t).sum() > 0
    assert threshold_mask(p16, -0.5).all()
    assert np.array_equal(threshold_mask(p16, 1.5), p16 == 65535)


def test_put_get_round_trip_keyed_by_content_and_model(
    tmp_path: Path, crackforest: Path, probability: np.ndarray
) -> None:
    cache = ResultCache(tmp_path / "cache")
    image = crackforest / "images" / "001.jpg"
    copy = tmp_path / "renamed.jpg"
    shutil.copy(image, copy)
    digest = file_digest(image)
    assert file_digest(copy) == digest  # content, not name
    cache.put(digest, "model-a@1#abc", probability, seconds=1.25)

    hit = cache.get(file_digest(copy), "model-a@1#abc")
    assert hit is not None
    assert hit.seconds == 1.25
    assert np.array_equal(hit.probability, to_u16(probability))
    assert cache.get(digest, "model-b@1#def") is None  # other model: miss
    assert cache.get(file_digest(crackforest / "images" / "002.jpg"), "model-a@1#abc") is None
    assert not list(cache.folder.rglob("*.part"))  # nothing half-written left behind


def test_corrupt_entry_is_a_miss_and_removed(tmp_path: Path, probability: np.ndarray) -> None:
    cache = ResultCache(tmp_path)
    path = cache.put("d" * 64, "m", probability, 0.5)
    path.write_bytes(path.read_bytes()[:100])  # truncated by a crash of another program
    assert cache.get("d" * 64, "m") is None
    assert not path.exists()


def test_prune_removes_oldest(tmp_path: Path, probability: np.ndarray) -> None:
    cache = ResultCache(tmp_path)
    paths = [cache.put(f"{i:064d}", "m", probability, 0.1) for i in range(3)]
    for age, p in enumerate(paths):
        os.utime(p, (1000 + age, 1000 + age))
    one = paths[0].stat().st_size
    assert cache.prune(max_bytes=one + 10) == 2
    assert [p.exists() for p in paths] == [False, False, True]


def test_memory_lru_bounded_by_bytes() -> None:
    lru: MemoryLRU[str, int] = MemoryLRU(max_bytes=100)
    lru.put("a", 1, 40)
    lru.put("b", 2, 40)
    assert lru.get("a") == 1  # a is now the most recent
    lru.put("c", 3, 40)  # evicts b
    assert "b" not in lru and "a" in lru and "c" in lru
    assert lru.total_bytes == 80
    lru.put("huge", 4, 1000)  # kept alone: the newest result must stay visible
    assert len(lru) == 1 and lru.get("huge") == 4


def test_settings_schema_coerces_garbage_to_defaults() -> None:
    assert schema.coerce("view/opacity", "0.25") == 0.25
    assert schema.coerce("view/opacity", "7") == schema.default("view/opacity")
    assert schema.coerce("view/opacity", "nan") == schema.default("view/opacity")
    assert schema.coerce("view/show_mask", "false") is False
    assert schema.coerce("view/threshold", "") is None
    assert schema.coerce("view/mask_color", "red") == schema.default("view/mask_color")
    assert schema.coerce("folders/recent", "/one/folder") == ["/one/folder"]
    recent = schema.push_recent(["/b", "/a"], "/a")
    assert recent == [str(Path("/a").resolve()), "/b"]
    assert len(schema.push_recent([f"/f{i}" for i in range(20)], "/new")) == schema.MAX_RECENT
