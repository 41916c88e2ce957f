"""Result caches are keyed by everything that changes a probability map, not the model alone:
maps made at one precision, tile plan or with flip averaging are never served for another."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from crackinspector.core.infer.predictor import Predictor
from crackinspector.core.io.cache import ResultCache


def test_todays_default_path_keeps_the_bare_model_identity(tiny_model_path: Path) -> None:
    p = Predictor(tiny_model_path, device="cpu", backend="torch")
    assert p.precision == "fp32"
    assert p.result_identity == p.info.identity


def test_tiles_and_flips_change_the_identity(tiny_model_path: Path) -> None:
    base = Predictor(tiny_model_path, device="cpu", backend="torch")
    tiles = Predictor(tiny_model_path, device="cpu", backend="torch", tile_size=640)
    flips = Predictor(tiny_model_path, device="cpu", backend="torch", tta=True)
    ids = {base.result_identity, tiles.result_identity, flips.result_identity}
    assert len(ids) == 3
    assert all(i.startswith(base.info.identity) for i in ids)


def test_a_cached_map_is_not_served_to_another_setting(tiny_model_path: Path, tmp_path) -> None:
    cache = ResultCache(tmp_path / "cache")
    base = Predictor(tiny_model_path, device="cpu", backend="torch")
    flips = Predictor(tiny_model_path, device="cpu", backend="torch", tta=True)
    cache.put("digest", base.result_identity, np.zeros((8, 8), np.float32), 1.0)
    assert cache.get("digest", base.result_identity) is not None
    assert cache.get("digest", flips.result_identity) is None
