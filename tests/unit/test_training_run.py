"""Real (tiny) training runs: events, kill -9 and resume, stop, export, DDP, offline ImageNet."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from training_helpers import TINY_ARGS, make_pairs

from crackinspector.core.model import registry
from training.cli import main as train_main
from training.events import EVENT_TYPES, read_events

BIN = Path(sys.executable).parent
STEP_KEYS = {"epoch", "step", "global_step", "steps_per_epoch", "train_loss", "lr",
             "images_per_s", "eta_s"}  # fmt: skip
EPOCH_KEYS = {"epoch", "epochs", "train_loss", "val_loss", "precision", "recall", "f1", "iou",
              "f1_tol2", "iou_tol2", "best_threshold", "best_f1", "lr", "images_per_s",
              "seconds", "eta_s", "is_best"}  # fmt: skip


@pytest.fixture(scope="module")
def data(crackforest, tmp_path_factory):
    root = tmp_path_factory.mktemp("train-data")
    images, masks = make_pairs(crackforest, root, ["001", "002", "003", "004", "005", "006"])
    return ["--images", str(images), "--masks", str(masks), "--val-fraction", "0.34"]


def _final_row(run: Path) -> dict[str, str]:
    with open(run / "metrics.csv", newline="") as fh:
        return list(csv.DictReader(fh))[-1]


EMA_ARGS = ["--ema", "0.5"]


def _straight(data, root: Path, extra: list[str]) -> Path:
    args = [*data, *TINY_ARGS, *extra, "--out", str(root / "run")]
    code = train_main([*args, "--export-dir", str(root / "models"), "--name", "tiny-trained"])
    assert code == 0
    return root


@pytest.fixture(scope="module")
def straight_run(data, tmp_path_factory):
    return _straight(data, tmp_path_factory.mktemp("straight"), [])


@pytest.fixture(scope="module")
def ema_run(data, tmp_path_factory):
    return _straight(data, tmp_path_factory.mktemp("ema"), EMA_ARGS)


def test_run_folder_holds_config_metrics_events_and_checkpoints(straight_run):
    run = straight_run / "run"
    for name in ("config.json", "metrics.csv", "events.jsonl", "last.pt", "best.pt"):
        assert (run / name).is_file(), name
    with open(run / "metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert float(rows[-1]["train_loss"]) > 0


def test_event_schema(straight_run):
    events = read_events(straight_run / "run" / "events.jsonl")
    types = [e["type"] for e in events]
    assert set(types) <= set(EVENT_TYPES)
    assert types.count("start") == 1 and types.count("end") == 1 and types.count("epoch") == 2
    assert types.count("step") == 4  # 2 epochs x 2 steps, logged every step
    for e in events:
        assert {"type", "time", "run"} <= e.keys()
        if e["type"] == "step":
            assert e.keys() >= STEP_KEYS
        if e["type"] == "epoch":
            assert e.keys() >= EPOCH_KEYS
            assert 0.0 <= e["f1"] <= 1.0
    end = events[[e["type"] for e in events].index("end")]
    assert end["status"] == "finished" and end["model"].endswith("tiny-trained.safetensors")


def test_exported_model_loads_back_through_the_registry(straight_run, monkeypatch):
    monkeypatch.setenv("CRACKINSPECTOR_MODELS_DIR", str(straight_run / "models"))
    info = registry.resolve("tiny-trained")
    assert info.source == "user" and info.card.encoder == "resnet18"
    assert "validation" in info.card.metrics and info.card.training["config"]["epochs"] == 2
    assert 0.05 <= info.card.threshold <= 0.95
    assert any(m.name == "tiny-trained" for m in registry.list_models())
    model = registry.load_model(info)
    assert sum(p.numel() for p in model.parameters()) > 0


@pytest.mark.parametrize("extra", [[], EMA_ARGS], ids=["plain", "ema"])
def test_kill_9_then_resume_ends_like_an_uninterrupted_run(data, extra, request, tmp_path):
    straight_run = request.getfixturevalue("ema_run" if extra else "straight_run")
    run = tmp_path / "run"
    cmd = [
        str(BIN / "crackinspector-train"),
        *data,
        *TINY_ARGS,
        *extra,
        "--out",
        str(run),
        "--export-dir",
        str(tmp_path / "models"),
        "--name",
        "tiny-trained",
    ]
    proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and not (run / "last.pt").exists() and proc.poll() is None:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)  # a hard kill, no chance to clean up
    assert proc.wait() == -signal.SIGKILL
    assert (run / "last.pt").exists(), "first epoch never completed"
    assert "end" not in [e["type"] for e in read_events(run / "events.jsonl")]
    # resumed with another thread count (a machine setting, not the recipe's): it applies
    subprocess.run(
        [str(BIN / "crackinspector-train"), "--out", str(run), "--resume", "--threads", "2"],
        check=True,
        stderr=subprocess.DEVNULL,
        timeout=600,
    )
    starts = [e for e in read_events(run / "events.jsonl") if e["type"] == "start"]
    assert [s["config"]["threads"] for s in starts] == [1, 2]
    assert starts[1]["config"]["epochs"] == 2 and starts[1]["config"]["crop_size"] == 64
    resumed, straight = _final_row(run), _final_row(straight_run / "run")
    keys = ("train_loss", "val_loss", "f1", "iou", "best_f1", *(("raw_f1",) if extra else ()))
    for key in keys:
        assert float(resumed[key]) == pytest.approx(float(straight[key]), rel=1e-5, abs=1e-6), key
    # whatever the kill cut short (a checkpoint being written) is gone after the next start
    assert not [p.name for p in run.iterdir() if ".part" in p.name]


def test_stop_file_stops_gracefully_and_keeps_the_best(data, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    proc = subprocess.Popen(
        [
            str(BIN / "crackinspector-train"),
            *data,
            *TINY_ARGS,
            "--epochs",
            "50",
            "--out",
            str(run),
            "--export-dir",
            str(tmp_path / "models"),
        ],
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 300
    while time.time() < deadline and not (run / "best.pt").exists():
        time.sleep(0.05)
    (run / "STOP").touch()
    assert proc.wait(timeout=300) == 0
    end = [e for e in read_events(run / "events.jsonl") if e["type"] == "end"][-1]
    assert end["status"] == "stopped"
    assert Path(end["model"]).is_file()
    assert len((run / "metrics.csv").read_text().splitlines()) < 50


def test_imagenet_start_fails_clearly_when_offline(data, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    code = train_main([*data, *TINY_ARGS, "--init", "imagenet", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 1
    assert "ImageNet weights for resnet18 could not be downloaded" in err
    assert "--init random" in err


def test_ddp_with_two_cpu_processes(data, tmp_path):
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(
        [
            str(BIN / "torchrun"),
            "--standalone",
            "--nproc_per_node=2",
            "-m",
            "training",
            *data,
            *TINY_ARGS,
            "--device",
            "cpu",
            "--out",
            str(run),
            "--export-dir",
            str(tmp_path / "m"),
            "--name",
            "ddp-tiny",
        ],
        check=True,
        env=env,
        timeout=600,
        stderr=subprocess.PIPE,
    )
    events = read_events(run / "events.jsonl")
    start = next(e for e in events if e["type"] == "start")
    assert start["world_size"] == 2
    assert [e["type"] for e in events].count("start") == 1  # only rank 0 writes
    assert (tmp_path / "m" / "ddp-tiny.safetensors").is_file()
    epoch = [e for e in events if e["type"] == "epoch"][-1]
    assert epoch["images_per_s"] > 0 and 0.0 <= epoch["f1"] <= 1.0


def test_fine_tuning_starts_from_a_model_and_records_its_parent(data, straight_run, tmp_path):
    parent = straight_run / "models" / "tiny-trained.safetensors"
    args = [a for a in TINY_ARGS if a not in ("resnet18", "--encoder")]
    code = train_main(
        [
            *data,
            *args,
            "--epochs",
            "1",
            "--init",
            str(parent),
            "--out",
            str(tmp_path / "run"),
            "--export-dir",
            str(tmp_path),
            "--name",
            "tuned",
        ]
    )
    assert code == 0
    card = registry.resolve(tmp_path / "tuned.safetensors").card
    assert card.encoder == "resnet18"
    assert card.training["parent"]["name"] == "tiny-trained"
    assert card.training["parent"]["training"]["config"]["epochs"] == 2
    assert "cores" in card.training["hardware"] or "GPU" in card.training["hardware"]


def test_ema_run_validates_and_exports_the_average(ema_run):
    """--ema: the epoch rows hold the average's F1 and the raw weights' beside it, the
    checkpoint carries the average for resume, and the exported model is the average."""
    import torch

    from training.checkpoint import load_checkpoint

    row = _final_row(ema_run / "run")
    assert row["raw_f1"] != "" and row["raw_best_f1"] != ""
    best = load_checkpoint(ema_run / "run" / "best.pt")
    assert best["ema"]["updates"] == 2 * best["epoch"]  # two steps per epoch
    model = registry.load_model(registry.resolve(ema_run / "models" / "tiny-trained.safetensors"))
    exported = model.state_dict()
    name = next(n for n, v in best["model"].items() if v.is_floating_point() and v.numel() > 100)
    average, raw = best["ema"]["model"][name], best["model"][name]
    assert not torch.allclose(average, raw)
    assert torch.allclose(exported[name].float(), average.float(), atol=1e-2, rtol=1e-3)
    assert (exported[name].float() - average.float()).abs().max() < (
        exported[name].float() - raw.float()
    ).abs().max()


def test_export_last_exports_the_last_epochs_average(data, tmp_path):
    """--export last: the model is the last checkpoint's average, whichever epoch validated
    best, and the card says which epoch it is and which one was best."""
    import torch

    from training.checkpoint import load_checkpoint

    root = _straight(data, tmp_path, [*EMA_ARGS, "--export", "last"])
    last = load_checkpoint(root / "run" / "last.pt")
    info = registry.resolve(root / "models" / "tiny-trained.safetensors")
    assert info.card.training["exported_epoch"] == last["epoch"] == 2
    assert info.card.training["best_epoch"] in (1, 2)
    exported = registry.load_model(info).state_dict()
    name = next(n for n, v in last["model"].items() if v.is_floating_point() and v.numel() > 100)
    assert torch.allclose(exported[name].float(), last["ema"]["model"][name].float(), atol=1e-2)


def test_weight_average_ramps_its_decay_and_copies_counters():
    import torch

    from training.ema import WeightAverage

    net = torch.nn.Sequential(torch.nn.Conv2d(1, 1, 1, bias=False), torch.nn.BatchNorm2d(1))
    torch.nn.init.constant_(net[0].weight, 0.0)
    average = WeightAverage(net, decay=0.99)
    torch.nn.init.constant_(net[0].weight, 1.0)
    net[1].num_batches_tracked.fill_(7)
    average.update(net)  # first update keeps (1 + 1) / (10 + 1) of the old value
    assert float(average.module[0].weight) == pytest.approx(1 - 2 / 11)
    assert int(average.module[1].num_batches_tracked) == 7
    for _ in range(2000):
        average.update(net)
    assert average.current_decay() == 0.99
    assert float(average.module[0].weight) == pytest.approx(1.0, abs=1e-6)
