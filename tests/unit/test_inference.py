"""The inference engine on real CrackForest photos with real (randomly initialised) models.

Random weights say nothing about quality, but everything about the mechanics tested here:
shapes, tiling and blending, backends agreeing, caching, progress, cancel and fallbacks.
"""

from __future__ import annotations

import itertools
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from crackinspector.core.errors import Cancelled, ModelError
from crackinspector.core.infer import onnx_backend
from crackinspector.core.infer.predictor import (
    FallbackWarning,
    Predictor,
    run_with_oom_fallback,
    threshold_map,
)
from crackinspector.core.infer.tiling import accumulate, blend_window, extract_tile, plan_tiles
from crackinspector.core.io.imageio import read_image
from crackinspector.core.report.overlay import tint as overlay


@pytest.fixture(scope="module")
def photo(crackforest: Path) -> np.ndarray:
    return read_image(crackforest / "images" / "001.jpg")  # 320 x 480


@pytest.fixture(scope="module")
def photos(crackforest: Path) -> list[np.ndarray]:
    return [read_image(crackforest / "images" / f"{n:03d}.jpg") for n in (5, 17, 42, 88)]


def mosaic(photos: list[np.ndarray], height: int, width: int) -> np.ndarray:
    """A large real-content image: CrackForest photos laid side by side, cropped."""
    rows = []
    for r in range(-(-height // 320)):
        row = [photos[(r + c) % len(photos)] for c in range(-(-width // 480))]
        rows.append(np.concatenate(row, axis=1))
    return np.ascontiguousarray(np.concatenate(rows, axis=0)[:height, :width])


@pytest.fixture(scope="module")
def torch_predictor(tiny_model_path: Path) -> Predictor:
    return Predictor(tiny_model_path, device="cpu", backend="torch")


@pytest.fixture(scope="module")
def onnx_predictor(tiny_model_path: Path, tmp_path_factory):
    # the same cache folder the autouse isolation fixture gives each test, set for the module
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRACKINSPECTOR_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "user-cache"))
        yield Predictor(tiny_model_path, backend="onnx")


# ---------------------------------------------------------------- tiling arithmetic
@pytest.mark.parametrize(
    ("h", "w", "tile"),
    [(320, 480, 128), (1, 7, 128), (33, 1000, 448), (449, 1200, 448), (2000, 3000, 448)],
)
def test_blend_weights_sum_to_one_everywhere(h: int, w: int, tile: int) -> None:
    grid = plan_tiles(h, w, tile)
    out = np.zeros((h, w), np.float32)
    for i, j in grid.positions():
        accumulate(out, grid, i, j, np.ones((grid.tile_h, grid.tile_w), np.float32))
    assert np.abs(out - 1).max() < 1e-5  # a constant map stays exactly that constant
    assert grid.tile_h % 32 == 0 and grid.tile_w % 32 == 0
    assert grid.tile_h <= max(tile, 32) and grid.ys[-1] + grid.tile_h >= h


def test_small_images_are_one_tile_padded_to_32_only() -> None:
    grid = plan_tiles(251, 317, 448)
    assert grid.total == 1 and (grid.tile_h, grid.tile_w) == (256, 320)
    grid = plan_tiles(33, 1000, 448)
    assert grid.tile_h == 64 and len(grid.ys) == 1 and len(grid.xs) == 3


def test_window_is_smooth_with_a_floor() -> None:
    w = blend_window(448, 112)
    assert w.min() > 0 and w.max() == 1 and np.allclose(w, w[::-1])
    assert np.abs(np.diff(w)).max() < 0.03


def test_extract_tile_reflects_past_the_edge(photo: np.ndarray) -> None:
    small = photo[:40, :50]
    tile = extract_tile(small, 0, 0, 64, 64)
    assert tile.shape == (64, 64, 3)
    assert np.array_equal(tile[:40, :50], small)
    assert np.array_equal(tile[40, :50], small[38])  # reflect: row 40 mirrors row 38


# ---------------------------------------------------------------- predicting
def test_predictor_attributes(torch_predictor: Predictor, onnx_predictor: Predictor) -> None:
    assert torch_predictor.backend == "torch" and onnx_predictor.backend == "onnx"
    assert torch_predictor.device == torch.device("cpu")
    assert torch_predictor.threshold == 0.5
    assert torch_predictor.info.name == "tiny-resnet18"
    assert "torch" in torch_predictor.description and "tiny-resnet18" in onnx_predictor.description
    assert "CPU" in onnx_predictor.description


@pytest.mark.parametrize(("h", "w"), [(251, 317), (33, 1000), (320, 480), (45, 29)])
def test_output_has_the_input_size(onnx_predictor: Predictor, photos, h: int, w: int) -> None:
    image = mosaic(photos, h, w)
    prob = onnx_predictor.predict(image)
    assert prob.shape == (h, w) and prob.dtype == np.float32
    assert prob.min() >= 0 and prob.max() <= 1 and np.isfinite(prob).all()


def test_gray_and_rgba_input(onnx_predictor: Predictor, photo: np.ndarray) -> None:
    rgb = onnx_predictor.predict(photo)
    rgba = onnx_predictor.predict(np.dstack([photo, np.full(photo.shape[:2], 255, np.uint8)]))
    assert np.array_equal(rgb, rgba)
    assert onnx_predictor.predict(photo[..., 0]).shape == photo.shape[:2]
    with pytest.raises(ValueError):
        onnx_predictor.predict(photo.astype(np.float32))


def _seam_contrast(prob: np.ndarray, seams: list[int]) -> float:
    """Mean jump between neighbouring columns at `seams`, relative to the jump elsewhere."""
    jumps = np.abs(np.diff(prob, axis=1)).mean(axis=0)
    at = np.array([jumps[s - 1] for s in seams])
    return float(at.mean() / np.median(jumps))


def test_tiled_result_matches_one_pass_without_seams(
    onnx_predictor: Predictor, photo: np.ndarray
) -> None:
    p = onnx_predictor
    assert p.tile_size == 128
    tiled = p.predict(photo)  # 128 px tiles: 5 x 3 stride-96 grid
    p.tile_size = 1024
    try:
        whole = p.predict(photo)  # the whole photo in one pass: the reference
        p.tile_size, p.overlap = 128, 0  # hard-edged tiles, no blending: seams
        hard = p.predict(photo)
    finally:
        p.tile_size, p.overlap = 128, None
    blended_err = np.abs(tiled - whole)
    hard_err = np.abs(hard - whole)
    # Random weights see far past a 128 px tile, so tiles cannot equal one pass exactly;
    # blending must still beat hard tiles clearly and stay close on average.
    assert blended_err.mean() < 0.03
    assert blended_err.mean() < 0.7 * hard_err.mean()
    hard_seams = [128 * k for k in range(1, 4)]
    assert _seam_contrast(hard, hard_seams) > 2.0  # the check can see seams...
    grid = plan_tiles(*photo.shape[:2], 128)
    ramp_edges = sorted({x + d for x in grid.xs[1:] for d in (0, 32, 64, 96)} - {0})
    assert _seam_contrast(tiled, ramp_edges) < 1.5  # ...and blending shows none


def _reference_predict(image: np.ndarray, tile: int, forward) -> np.ndarray:
    """Straightforward whole-image blending with full-size float32 accumulators (what the
    streamed version avoids), from the same windows: the banded result must equal it."""
    h, w = image.shape[:2]
    overlap = tile // 4
    stride = tile - overlap
    ys = [*range(0, h - tile, stride), h - tile]
    xs = [*range(0, w - tile, stride), w - tile]
    window = blend_window(tile, overlap)
    w2d = np.outer(window, window).astype(np.float32)
    num = np.zeros((h, w), np.float32)
    den = np.zeros((h, w), np.float32)
    for y in ys:
        for x in xs:
            num[y : y + tile, x : x + tile] += forward(image[y : y + tile, x : x + tile]) * w2d
            den[y : y + tile, x : x + tile] += w2d
    return num / den


def test_banded_streaming_equals_whole_image_blending(onnx_predictor: Predictor, photos) -> None:
    image = mosaic(photos, 801, 1203)  # 9 bands of 13 tiles of 128 px
    p = onnx_predictor
    seen: dict[bytes, np.ndarray] = {}
    real_forward = p._probabilities
    count = [0]

    def recording_forward(tiles: np.ndarray) -> np.ndarray:
        out = real_forward(tiles)
        count[0] += len(tiles)
        seen.update({t.tobytes(): o for t, o in zip(tiles, out, strict=True)})
        return out

    p._probabilities = recording_forward  # the real network, its outputs remembered
    try:
        banded = p.predict(image)
    finally:
        del p._probabilities
    assert banded.shape == (801, 1203) and banded.min() >= 0 and banded.max() <= 1
    # each tile's network output is the same function of its pixels: look it up, not rerun
    reference = _reference_predict(image, 128, lambda tile: seen[tile.tobytes()])
    assert count[0] == plan_tiles(801, 1203, 128).total == 9 * 13
    assert np.abs(banded - reference).max() < 1e-5


def test_torch_and_onnx_agree(
    torch_predictor: Predictor, onnx_predictor: Predictor, photo: np.ndarray
) -> None:
    image = photo[:200, :300]  # 2 x 3 tiles of 128 px with overlaps: tiling and blending too
    a = torch_predictor.predict(image)
    b = onnx_predictor.predict(image)
    assert np.abs(a - b).max() < 1e-3


@pytest.fixture(scope="module")
def resnet34_path(tmp_path_factory) -> Path:
    """A U-Net ResNet-34 of the bundled size (random weights) as a real model pair."""
    from crackinspector.core.model.card import ModelCard
    from crackinspector.core.model.registry import build_model, save_model

    torch.manual_seed(1)
    card = ModelCard(name="random-resnet34", encoder="resnet34")
    folder = tmp_path_factory.mktemp("resnet34")
    return save_model(build_model(card), card, folder, dtype=torch.float32).weights_path


@pytest.mark.slow
def test_torch_and_onnx_agree_on_a_bundled_size_model(resnet34_path: Path, photo) -> None:
    image = photo[:224, :250]  # one forward pass of 224 x 256 (padded to a multiple of 32)
    a = Predictor(resnet34_path, device="cpu", backend="torch").predict(image)
    b = Predictor(resnet34_path, backend="onnx").predict(image)
    assert a.std() > 1e-4  # a real map, not a constant
    assert np.abs(a - b).max() < 1e-3


def test_onnx_export_is_cached_and_reused(tiny_model_path: Path, onnx_predictor, photo) -> None:
    from crackinspector.core.model.registry import resolve

    path = onnx_backend.onnx_cache_path(resolve(tiny_model_path))
    assert path.exists() and path.parent.parent == Path(os.environ["CRACKINSPECTOR_CACHE_DIR"])
    mtime, count = path.stat().st_mtime_ns, onnx_backend.export_count
    again = Predictor(tiny_model_path, backend="onnx")
    assert not again.onnx_exported
    assert path.stat().st_mtime_ns == mtime and onnx_backend.export_count == count
    leftovers = [
        p.name for p in path.parent.iterdir() if p.name.startswith(".") or "part" in p.name
    ]
    assert leftovers == []  # the atomic export left no temporary files

    path.write_bytes(path.read_bytes()[:1000])  # a damaged cache file is rebuilt
    rebuilt = Predictor(tiny_model_path, backend="onnx")
    assert rebuilt.onnx_exported and onnx_backend.export_count == count + 1
    assert np.abs(rebuilt.predict(photo) - onnx_predictor.predict(photo)).max() < 1e-6


def test_onnx_cache_key_follows_the_weights(tiny_model_path: Path, tmp_path: Path) -> None:
    from crackinspector.core.model.registry import load_model, resolve, save_model

    info = resolve(tiny_model_path)
    model = load_model(info)
    with torch.no_grad():
        next(model.parameters()).add_(0.01)
    changed = save_model(model, info.card, tmp_path, dtype=torch.float32)
    assert onnx_backend.onnx_cache_path(changed) != onnx_backend.onnx_cache_path(info)


def test_progress_reaches_total(onnx_predictor: Predictor, photos) -> None:
    calls: list[tuple[int, int]] = []
    default, onnx_predictor.batch_size = onnx_predictor.batch_size, 3
    try:
        onnx_predictor.predict(mosaic(photos, 400, 700), progress=lambda d, t: calls.append((d, t)))
    finally:
        onnx_predictor.batch_size = default
    total = calls[-1][1]
    assert total == len(plan_tiles(400, 700, 128).ys) * len(plan_tiles(400, 700, 128).xs)
    assert calls[0] == (0, total) and calls[-1] == (total, total)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert all(b - a <= 3 for (a, _), (b, _) in itertools.pairwise(calls))


def test_cancel_stops_between_batches(onnx_predictor: Predictor, photo) -> None:
    done: list[int] = []
    asked: list[int] = []

    def cancel() -> bool:
        asked.append(done[-1])
        return len(done) >= 3  # after the start call and two batches

    default, onnx_predictor.batch_size = onnx_predictor.batch_size, 2
    try:
        with pytest.raises(Cancelled):
            onnx_predictor.predict(photo, progress=lambda d, t: done.append(d), cancel=cancel)
    finally:
        onnx_predictor.batch_size = default
    assert done == [0, 2, 4] and asked == [0, 2, 4]  # asked before every batch; stopped early


def test_bad_model_path_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "model.safetensors"
    with pytest.raises(ModelError) as info:
        Predictor(missing)
    assert str(missing) in str(info.value)


def test_corrupt_weights_name_the_file(tiny_model_path: Path, tmp_path: Path) -> None:
    weights = tmp_path / "broken.safetensors"
    weights.write_bytes(tiny_model_path.read_bytes()[:5000])
    (tmp_path / "broken.json").write_text(
        tiny_model_path.with_suffix(".json").read_text(encoding="utf-8"), encoding="utf-8"
    )
    for backend in ("torch", "onnx"):
        with pytest.raises(ModelError) as info:
            Predictor(weights, backend=backend)
        assert str(weights) in str(info.value) and "corrupt" in str(info.value)


def test_unknown_backend_and_onnx_on_gpu_are_refused(tiny_model_path: Path) -> None:
    with pytest.raises(ValueError, match="backend"):
        Predictor(tiny_model_path, backend="tensorrt")
    with pytest.raises(ValueError, match="CPU only"):
        Predictor(tiny_model_path, device="cuda", backend="onnx")


# ---------------------------------------------------------------- running out of GPU memory
class RationedForward:
    """A real forward function (a fixed conv) that runs out of memory above `limit` tiles,
    the way CUDA does, and records the batch sizes it was asked for."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.sizes: list[int] = []
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 1, 3, padding=1)

    def __call__(self, tiles: np.ndarray) -> np.ndarray:
        self.sizes.append(len(tiles))
        if len(tiles) > self.limit:
            raise torch.cuda.OutOfMemoryError(
                f"CUDA out of memory. Tried to allocate {len(tiles)} tiles"
            )
        x = torch.from_numpy(tiles).permute(0, 3, 1, 2).float() / 255
        with torch.inference_mode():
            return torch.sigmoid(self.conv(x))[:, 0].numpy()


@pytest.fixture(scope="module")
def tiles(photo: np.ndarray) -> np.ndarray:
    return np.stack([photo[y : y + 64, x : x + 64] for y in (0, 100, 200) for x in (0, 150, 300)])


def test_oom_halves_the_batch(tiles: np.ndarray) -> None:
    forward = RationedForward(limit=2)
    expected = RationedForward(limit=99)(tiles)
    with pytest.warns(FallbackWarning, match="retrying with 4") as record:
        out, batch = run_with_oom_fallback(forward, tiles, batch_size=8)
    assert batch == 2
    assert forward.sizes[:3] == [8, 4, 2]
    assert [str(w.message) for w in record][-1].endswith("2 tile(s) per batch")
    assert np.allclose(out, expected, atol=1e-6)  # batch size may change the last float bit


def test_oom_at_one_tile_falls_back(tiles: np.ndarray) -> None:
    forward = RationedForward(limit=0)  # nothing fits on the "GPU"
    cpu = RationedForward(limit=99)
    with pytest.warns(FallbackWarning, match="CPU"):
        out, batch = run_with_oom_fallback(forward, tiles, batch_size=4, on_exhausted=cpu)
    assert forward.sizes == [4, 2, 1] and cpu.sizes == [len(tiles)]
    assert batch == 1 and np.allclose(out, cpu(tiles), atol=1e-6)
    with pytest.raises(torch.cuda.OutOfMemoryError), warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)
        run_with_oom_fallback(RationedForward(limit=0), tiles, batch_size=2)


def test_other_errors_are_not_mistaken_for_oom(tiles: np.ndarray) -> None:
    def broken(batch: np.ndarray) -> np.ndarray:
        raise RuntimeError("Given groups=1, weight of size [1, 3, 3, 3], expected 3 channels")

    with pytest.raises(RuntimeError, match="groups"):
        run_with_oom_fallback(broken, tiles, batch_size=4, on_exhausted=broken)


# ---------------------------------------------------------------- masks and overlays
def test_threshold_map_and_overlay(photo: np.ndarray) -> None:
    prob = np.linspace(0, 1, photo.shape[0] * photo.shape[1], dtype=np.float32)
    prob = prob.reshape(photo.shape[:2])
    mask = threshold_map(prob, 0.75)
    assert mask.dtype == np.bool_ and abs(mask.mean() - 0.25) < 0.01
    out = overlay(photo, mask, color=(255, 0, 0), alpha=0.5)
    assert out.dtype == np.uint8 and out.shape == photo.shape
    assert np.array_equal(out[~mask], photo[~mask])  # background untouched
    expected = np.clip(photo[mask] * 0.5 + np.array([255, 0, 0]) * 0.5 + 0.5, 0, 255)
    assert np.array_equal(out[mask], expected.astype(np.uint8))
    assert np.array_equal(overlay(photo, mask, alpha=0.0), photo)
    with pytest.raises(ValueError):
        overlay(photo, mask[:-1])
