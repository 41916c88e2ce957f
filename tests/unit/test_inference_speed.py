"""Issue 14's inference options with real models and real photos: precision (int8 from a real
ONNX Runtime quantisation calibrated on real training crops), fitted tile plans, flip TTA,
threads, and how `auto` reads the model card's precision checks."""

from __future__ import annotations

import argparse
import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from crackinspector.core.errors import ModelError
from crackinspector.core.infer import hardware, onnx_backend, precision, quantize
from crackinspector.core.infer.options import (
    InferenceOptions,
    add_inference_arguments,
    make_predictor,
    options_from_args,
)
from crackinspector.core.infer.predictor import FallbackWarning, Predictor, default_tiling
from crackinspector.core.infer.tiling import accumulate, fitted_side, plan_tiles
from crackinspector.core.io.imageio import read_image
from crackinspector.core.model.registry import load_model, resolve, save_model, weights_digest

CPU = torch.device("cpu")
PASSING = {
    "fp32": {"strict_f1": 0.600, "tolerant_f1": 0.800, "on": "crackforest-test"},
    "int8": {"strict_f1": 0.595, "tolerant_f1": 0.798, "on": "crackforest-test"},
    "bf16": {"strict_f1": 0.601, "tolerant_f1": 0.801, "on": "crackforest-test"},
}


@pytest.fixture(scope="module")
def photo(crackforest: Path) -> np.ndarray:
    return read_image(crackforest / "images" / "010.jpg")  # 320 x 480, a train photo


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.getbasetemp() / "user-cache"  # the autouse fixture's cache


@pytest.fixture(scope="module")
def int8_predictor(tiny_model_path: Path, cache_dir: Path):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRACKINSPECTOR_CACHE_DIR", str(cache_dir))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", onnx_backend.QuantisingNotice)
            yield Predictor(tiny_model_path, precision="int8")


def checked_copy(tiny_model_path: Path, folder: Path, checks: dict) -> Path:
    """The tiny model saved again with `checks` in its card (weights unchanged)."""
    info = resolve(tiny_model_path)
    info.card.precision_checks = checks
    return save_model(load_model(info), info.card, folder, dtype=torch.float32).weights_path


# ---------------------------------------------------------------- tile plans
@pytest.mark.parametrize(("h", "w"), [(3000, 4000), (801, 1203), (1500, 449), (320, 480)])
@pytest.mark.parametrize(("tile", "overlap"), [(448, 112), (896, 64), (1024, 32), (640, 96)])
def test_fitted_plans_cost_less_and_still_blend_to_one(h, w, tile, overlap) -> None:
    plain = plan_tiles(h, w, tile, overlap)
    fitted = plan_tiles(h, w, tile, overlap, fit=True)
    assert fitted.total <= plain.total
    assert fitted.total * fitted.tile_h * fitted.tile_w <= plain.total * plain.tile_h * plain.tile_w
    assert fitted.tile_h % 32 == 0 and fitted.tile_w % 32 == 0
    assert fitted.tile_h <= tile and fitted.tile_w <= tile
    for starts, side, length in ((fitted.ys, fitted.tile_h, h), (fitted.xs, fitted.tile_w, w)):
        assert starts[0] == 0 and starts[-1] + side >= length
        gaps = np.diff(starts)
        assert (len(starts) == 1) or (side - gaps.max() >= min(overlap, side - 32))
    out = np.zeros((h, w), np.float32)
    for i, j in fitted.positions():
        accumulate(out, fitted, i, j, np.ones((fitted.tile_h, fitted.tile_w), np.float32))
    assert np.abs(out - 1).max() < 1e-5


def test_fitting_a_4000_by_3000_photo() -> None:
    assert fitted_side(3000, 1024, 64) == 800  # 4 tiles either way, 800 px suffice
    today = plan_tiles(3000, 4000, 448, 112)
    assert today.total == 108  # the plan before issue 14: 1.81 pixels computed per pixel
    assert today.total * 448 * 448 / 12e6 > 1.8


def test_planned_tiles_for_int8_and_todays_tiles_for_fp32(tiny_model_path: Path) -> None:
    tile, overlap, fit = default_tiling(448, "int8")
    assert tile >= 448 and overlap is not None and overlap < tile and fit
    assert default_tiling(448, "fp32") == (448, None, False)  # exactly today's plan
    p = Predictor(tiny_model_path, precision="fp32")
    assert (p.tile_size, p.overlap, p.fit_tiles) == (128, None, False)
    p = Predictor(tiny_model_path, precision="fp32", tile_size=256, overlap=48)
    assert (p.tile_size, p.overlap) == (256, 48)


# ---------------------------------------------------------------- choosing a precision
def test_auto_uses_only_checked_precisions() -> None:
    assert precision.choose("auto", CPU, "auto", None).precision == "fp32"
    assert precision.choose("auto", CPU, "auto", {"fp32": PASSING["fp32"]}).precision == "fp32"
    choice = precision.choose("auto", CPU, "auto", PASSING)
    expected = precision.cpu_preference()[0]  # bf16 with AMX, int8 elsewhere
    assert expected == ("bf16" if hardware.amx() else "int8")
    assert choice.precision == expected and "auto" in choice.reason
    assert choice.backend == ("torch" if expected == "bf16" else "onnx")
    # a forced backend narrows the choice
    assert precision.choose("auto", CPU, "onnx", PASSING).precision == "int8"
    only_bf16 = {"fp32": PASSING["fp32"], "bf16": PASSING["bf16"]}
    torch_choice = precision.choose("auto", CPU, "torch", only_bf16)
    assert torch_choice.precision == ("bf16" if hardware.native_bf16() else "fp32")


def test_auto_rejects_a_check_outside_the_tolerance() -> None:
    strict_drop = {**PASSING, "int8": {**PASSING["int8"], "strict_f1": 0.585}}  # -0.015
    tolerant_drop = {**PASSING, "int8": {**PASSING["int8"], "tolerant_f1": 0.794}}  # -0.006
    for checks in (strict_drop, tolerant_drop):
        assert not precision.check_passes(checks, "int8")
        assert precision.choose("auto", CPU, "onnx", checks).precision == "fp32"
    assert precision.check_passes(PASSING, "int8")
    assert not precision.check_passes({"int8": PASSING["int8"]}, "int8")  # no fp32 reference
    assert not precision.check_passes({**PASSING, "int8": {"strict_f1": "n/a"}}, "int8")


def test_checks_of_other_weights_do_not_count() -> None:
    stamped = {k: {**v, "weights_sha256": "abc123"} for k, v in PASSING.items()}
    assert precision.check_passes(stamped, "int8", weights="abc123" + "0" * 58)
    assert not precision.check_passes(stamped, "int8", weights="fff000" + "0" * 58)


def test_impossible_combinations_are_refused_in_one_line() -> None:
    with pytest.raises(ValueError, match="onnx backend"):
        precision.choose("int8", CPU, "torch", None)
    with pytest.raises(ValueError, match="CUDA only"):
        precision.choose("fp16", CPU, "auto", None)
    with pytest.raises(ValueError, match="CPU only"):
        precision.choose("int8", torch.device("cuda"), "auto", None)
    with pytest.raises(ValueError, match="unknown precision"):
        precision.choose("fp8", CPU, "auto", None)


@pytest.mark.skipif(hardware.native_bf16(), reason="this CPU does bf16 natively")
def test_bf16_without_native_support_runs_fp32_with_a_warning(tiny_model_path: Path) -> None:
    with pytest.warns(precision.PrecisionWarning, match="no native bf16"):
        p = Predictor(tiny_model_path, device="cpu", precision="bf16")
    assert p.precision == "fp32"


@pytest.mark.skipif(not hardware.native_bf16(), reason="needs AMX or AVX-512 BF16")
def test_bf16_on_a_native_cpu_is_close_to_fp32(tiny_model_path: Path, photo) -> None:
    p = Predictor(tiny_model_path, device="cpu", precision="bf16")
    assert (p.precision, p.backend) == ("bf16", "torch")
    ref = Predictor(tiny_model_path, device="cpu", backend="torch", precision="fp32")
    assert np.abs(p.predict(photo) - ref.predict(photo)).mean() < 0.02


# ---------------------------------------------------------------- int8
def test_calibration_uses_training_crops_only() -> None:
    photos = quantize.calibration_photos()
    assert len(photos) == quantize.CALIBRATION_CROPS
    pool = photos[0].parents[1]
    train = set(json.loads((pool / "split.json").read_text())["train"])
    assert all(p.exists() and p.stem in train for p in photos)
    assert len({p.stem.split("__")[0] for p in photos}) >= 3  # every source set
    assert photos == quantize.calibration_photos()  # the same crops every time


def test_int8_runs_a_quantised_model_close_to_fp32(
    int8_predictor: Predictor, tiny_model_path: Path, photo, cache_dir: Path, monkeypatch
) -> None:
    monkeypatch.setenv("CRACKINSPECTOR_CACHE_DIR", str(cache_dir))
    assert (int8_predictor.precision, int8_predictor.backend) == ("int8", "onnx")
    assert "int8" in int8_predictor.description
    fp32 = Predictor(tiny_model_path, precision="fp32")
    a, b = int8_predictor.predict(photo), fp32.predict(photo)
    diff = np.abs(a - b)
    assert diff.max() > 1e-4  # really another arithmetic...
    assert diff.mean() < 0.02  # ...that gives nearly the same map
    q_path = quantize.int8_cache_path(onnx_backend.onnx_cache_path(resolve(tiny_model_path)))
    assert (
        q_path.exists()
        and q_path.parent == onnx_backend.onnx_cache_path(resolve(tiny_model_path)).parent
    )
    import onnx

    ops = {n.op_type for n in onnx.load(str(q_path)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops


def test_int8_model_is_cached_and_rebuilt_when_damaged(
    int8_predictor: Predictor, tiny_model_path: Path, cache_dir: Path, monkeypatch, photo
) -> None:
    monkeypatch.setenv("CRACKINSPECTOR_CACHE_DIR", str(cache_dir))
    count = quantize.quantise_count
    again = Predictor(tiny_model_path, precision="int8")
    assert quantize.quantise_count == count  # reused, not quantised again
    q_path = quantize.int8_cache_path(onnx_backend.onnx_cache_path(resolve(tiny_model_path)))
    q_path.write_bytes(q_path.read_bytes()[:2000])
    with pytest.warns(onnx_backend.QuantisingNotice):
        rebuilt = Predictor(tiny_model_path, precision="int8")
    assert quantize.quantise_count == count + 1
    assert np.abs(rebuilt.predict(photo) - again.predict(photo)).max() < 1e-6  # deterministic


def test_int8_cache_follows_the_weights(tiny_model_path: Path, tmp_path: Path) -> None:
    info = resolve(tiny_model_path)
    model = load_model(info)
    with torch.no_grad():
        next(model.parameters()).add_(0.01)
    changed = save_model(model, info.card, tmp_path, dtype=torch.float32)
    a = quantize.int8_cache_path(onnx_backend.onnx_cache_path(info))
    b = quantize.int8_cache_path(onnx_backend.onnx_cache_path(changed))
    assert a != b and weights_digest(info.weights_path)[:24] in a.name


def test_without_calibration_photos_int8_says_why_and_auto_falls_back(
    tiny_model_path: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("CRACKINSPECTOR_CACHE_DIR", str(tmp_path / "cache"))  # nothing cached
    empty = tmp_path / "no-photos"
    empty.mkdir()
    monkeypatch.setenv(quantize.ENV_CALIBRATION_DIR, str(empty))
    with pytest.raises(ModelError) as info, warnings.catch_warnings():
        warnings.simplefilter("ignore", onnx_backend.QuantisingNotice)
        Predictor(tiny_model_path, precision="int8")
    assert str(empty) in str(info.value) and "calibration" in str(info.value)
    assert len(str(info.value).splitlines()) == 1

    weights = checked_copy(tiny_model_path, tmp_path / "checked", PASSING)
    if hardware.amx():
        pytest.skip("auto picks bf16 before int8 on a CPU with AMX")
    with pytest.warns(FallbackWarning, match="using fp32"), warnings.catch_warnings():
        warnings.simplefilter("ignore", onnx_backend.QuantisingNotice)
        p = Predictor(weights, precision="auto")
    assert p.precision == "fp32" and "int8 unavailable" in p.precision_reason


def test_auto_picks_int8_for_a_checked_model(
    tiny_model_path: Path, int8_predictor: Predictor, tmp_path: Path, photo
) -> None:
    if hardware.amx():
        pytest.skip("auto picks bf16 before int8 on a CPU with AMX")
    weights = checked_copy(tiny_model_path, tmp_path, PASSING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", onnx_backend.QuantisingNotice)
        p = Predictor(weights, precision="auto")
    assert (p.precision, p.backend) == ("int8", "onnx")
    stale = {k: {**v, "weights_sha256": "0000"} for k, v in PASSING.items()}
    other = checked_copy(tiny_model_path, tmp_path / "stale", stale)
    assert Predictor(other, precision="auto").precision == "fp32"  # checks for other weights
    assert Predictor(weights).precision == "fp32"  # a Predictor built directly: today's path
    assert make_predictor(InferenceOptions(model=weights)).precision == "int8"  # CLI, GUI


# ---------------------------------------------------------------- TTA and threads
def test_tta_is_the_mean_over_flips(tiny_model_path: Path, photo) -> None:
    image = np.ascontiguousarray(photo[:128, :128])  # one tile: flipping commutes with tiling
    plain = Predictor(tiny_model_path, device="cpu", backend="torch", precision="fp32")
    tta = Predictor(tiny_model_path, device="cpu", backend="torch", precision="fp32", tta=True)
    assert plan_tiles(128, 128, plain.tile_size, plain.overlap).total == 1
    flips = [
        plain.predict(image),
        plain.predict(image[:, ::-1])[:, ::-1],
        plain.predict(image[::-1])[::-1],
        plain.predict(image[::-1, ::-1])[::-1, ::-1],
    ]
    expected = np.mean(flips, axis=0)
    got = tta.predict(image)
    assert np.abs(got - expected).max() < 1e-5
    assert np.abs(got - flips[0]).max() > 1e-4  # random weights are not flip-invariant
    assert "TTA" in tta.description


def test_threads_reach_onnx_runtime_and_default_to_physical_cores(tiny_model_path) -> None:
    one = Predictor(tiny_model_path, backend="onnx", precision="fp32", threads=1)
    assert one.threads == 1 and one._onnx is not None
    assert one._onnx.session.get_session_options().intra_op_num_threads == 1
    default = Predictor(tiny_model_path, backend="onnx", precision="fp32")
    cores = hardware.physical_cores()
    assert default.threads == cores and 1 <= cores <= (os.cpu_count() or 1)
    assert f"{cores} threads" in default.description


@pytest.fixture()
def keep_torch_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_make_predictor_applies_every_flag(tiny_model_path: Path, keep_torch_threads) -> None:
    parser = argparse.ArgumentParser()
    add_inference_arguments(parser)
    argv = ["--model", str(tiny_model_path), "--precision", "fp32", "--threads", "1"]
    argv += ["--tile-size", "256", "--overlap", "48", "--tta", "--backend", "torch"]
    p = make_predictor(options_from_args(parser.parse_args(argv)))
    assert (p.precision, p.backend, p.threads, p.tile_size, p.overlap, p.tta) == (
        "fp32",
        "torch",
        1,
        256,
        48,
        True,
    )
    assert torch.get_num_threads() == 1  # --threads reaches torch's pool too
    with pytest.raises(SystemExit):
        parser.parse_args(["--precision", "fp8"])
