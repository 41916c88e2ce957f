"""Qt-free parts of training planning and run following: the data plan the trainer and the
wizard share, run names, log cleaning, model comparison, previews, following appended files
and the run folder lock. Real CrackForest pairs, real files."""

from __future__ import annotations

import io
import json
import os

import numpy as np
import pytest
from tqdm import tqdm
from training_helpers import make_pairs

from crackinspector.core.io.pairing import DataError, Pair
from crackinspector.core.model.card import ModelCard
from training.compare import NOT_MEASURED, comparable, comparison_rows
from training.config import TrainConfig
from training.logtext import StderrCleaner
from training.names import default_run_name, name_problem
from training.plan import plan_data, require_training_pairs, steps_per_epoch
from training.preview import make_previews
from training.runlock import RunInUse, RunLock, holder
from training.tail import EventTail, FileTail


def test_plan_follows_split_lists_oversampling_and_the_validation_limit(crackforest, tmp_path):
    a_images, a_masks = make_pairs(crackforest, tmp_path / "a", ["001", "002", "003", "004"])
    b_images, b_masks = make_pairs(crackforest, tmp_path / "b", ["010", "011", "012"])
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train": ["001", "002"], "val": ["003"], "test": ["004"]}))
    cfg = TrainConfig(
        images=[str(a_images), str(b_images)],
        masks=[str(a_masks), str(b_masks)],
        splits=[str(split), str(tmp_path / "all-train.json")],
        oversample=[1.0, 3.0],
    )
    (tmp_path / "all-train.json").write_text(json.dumps({"train": ["010", "011", "012"]}))
    plan = plan_data(cfg)
    assert [p.stem for p in plan.train] == ["001", "002", "010", "011", "012"]
    assert plan.weights == [1.0, 1.0, 3.0, 3.0, 3.0]
    assert [p.stem for p in plan.val] == ["003"]
    assert plan.folders[0].left_out == 1 and plan.folders[0].split_lists == ("test", "train", "val")
    # a fraction drawn from the training pairs keeps their weights in step; the limit is seeded
    cfg.splits, cfg.val_fraction, cfg.val_limit = [], 0.5, 2
    plan = plan_data(cfg)
    assert len(plan.train) == len(plan.weights) == 3 and len(plan.val) == 2
    assert plan_data(cfg).val == plan.val  # the same draw every time
    b_weights = {p.stem: w for p, w in zip(plan.train, plan.weights, strict=True)}
    assert all(w == (3.0 if s.startswith("01") else 1.0) for s, w in b_weights.items())


def test_refusals_and_step_counts_are_the_trainers():
    with pytest.raises(DataError, match="no usable training pairs"):
        require_training_pairs(plan_data(TrainConfig()), 8, 0)
    assert steps_per_epoch(17, 4, 0) == 4
    assert steps_per_epoch(17, 4, 0, world_size=2) == 2
    assert steps_per_epoch(3, 8, 0) == 1
    assert steps_per_epoch(3, 8, 25) == 25


def test_tails_return_only_complete_new_events_and_new_text(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text('{"type":"start"}\n{"type":"st')
    tail = EventTail(path)
    assert tail.new_events() == [{"type": "start"}]
    with open(path, "a") as fh:
        fh.write('ep","step":1}\nnot json\n{"type":"end"}\n')
    assert tail.new_events() == [{"type": "step", "step": 1}, {"type": "end"}]
    assert tail.new_events() == []
    log = tmp_path / "train.log"
    log.write_bytes(b"old line\n")
    text = FileTail.at_end(log)
    data = "épaisseur\n".encode()
    with open(log, "ab") as fh:
        fh.write(data[:1])  # half of a two-byte character
    assert text.read() == ""
    with open(log, "ab") as fh:
        fh.write(data[1:])
    assert text.read() == "épaisseur\n"


def test_run_lock_names_its_holder_and_goes_with_release(tmp_path):
    lock = RunLock(tmp_path / "run").acquire()
    assert holder(tmp_path / "run") == os.getpid()
    with pytest.raises(RunInUse, match=f"in use by PID {os.getpid()}"):
        RunLock(tmp_path / "run").acquire()  # a second open file: flock conflicts
    lock.release()
    assert holder(tmp_path / "run") is None
    assert holder(tmp_path / "never-ran") is None


def test_run_names(tmp_path):
    import datetime as dt

    runs, models = tmp_path / "runs", tmp_path / "models"
    now = dt.datetime(2025, 3, 4, 5, 6)
    assert default_run_name("resnet34", runs, models, now) == "resnet34-20250304-0506"
    (runs / "resnet34-20250304-0506").mkdir(parents=True)
    assert default_run_name("resnet34", runs, models, now) == "resnet34-20250304-0506-2"
    models.mkdir()
    (models / "mine.safetensors").write_bytes(b"x")
    assert "already exists" in name_problem("mine", runs, models)
    assert "letters, digits" in name_problem("my run", runs, models)
    assert name_problem("ok-name_1.2", runs, models) == ""
    assert "bundled model" in name_problem("unet-resnet34", runs, models)  # it would be hidden
    assert "bundled model" in name_problem("vgg16", runs, models)  # an alias of one


def test_stderr_cleaner_keeps_messages_and_collapses_real_tqdm_bars():
    buf = io.StringIO()
    bar = tqdm(total=5, desc="epoch 1/2", file=buf, leave=False, mininterval=0, ascii=False)
    for _ in range(5):
        bar.update(1)
        bar.set_postfix(loss="0.5")
    bar.close()
    buf.write("Traceback (most recent call last):\n  File x\nValueError: bad\n")
    text = buf.getvalue()
    assert text.count("\r") > 5
    cleaner = StderrCleaner()
    out = []
    for i in range(0, len(text), 7):  # arbitrary chunking, as pipes deliver it
        out += cleaner.feed(text[i : i + 7])
    out += cleaner.flush()
    lines = [t for kind, t in out if kind == "line"]
    assert lines == ["Traceback (most recent call last):", "  File x", "ValueError: bad"]
    progress = [t for kind, t in out if kind == "progress"]
    assert any(t.startswith("epoch 1/2: 100%") for t in progress)
    assert progress[-1] == ""  # the bar was cleared when it closed


def test_comparison_is_honest_about_different_validation_sets():
    config = {"images": ["/d/images"], "masks": ["/d/masks"], "splits": [], "val_images": [],
              "val_masks": [], "val_fraction": 0.2, "seed": 0, "val_limit": 0}  # fmt: skip
    metrics = {"validation": {"best_f1": 0.61, "best_threshold": 0.4, "f1": 0.6, "iou": 0.43}}
    new = ModelCard(name="new", encoder="resnet18", training={"config": config}, metrics=metrics)
    same = ModelCard(name="old", encoder="resnet34", training={"config": dict(config)},
                     metrics={"validation": {"best_f1": 0.55, "f1": 0.5, "iou": 0.33}})  # fmt: skip
    other = ModelCard(name="other", encoder="resnet34",
                      training={"config": {**config, "val_fraction": 0.3}},
                      metrics={"validation": {"best_f1": 0.9}})  # fmt: skip
    untrained = ModelCard(name="bare", encoder="resnet18")
    assert comparable(new, same) and not comparable(new, other) and not comparable(new, untrained)
    rows, note = comparison_rows(new, same)
    assert rows[0] == ("F1 (at its threshold)", "0.610", "0.550")
    assert "same validation set" in note
    rows, note = comparison_rows(new, other)
    assert rows[0] == ("F1 (at its threshold)", "0.610", "–")
    assert NOT_MEASURED in note and "0.9" not in str(rows)
    rows, note = comparison_rows(new, None)
    assert "No model is in use" in note


def test_preview_thumbnail_shape_matches_the_photo_aspect(crackforest):
    pair = Pair("001", crackforest / "images" / "001.jpg", crackforest / "masks" / "001.png")
    ((_stem, thumb),) = make_previews([pair], height=64)
    assert thumb.shape == (64, 96, 3) and thumb.dtype == np.uint8


def test_the_wizard_check_reports_progress_and_matches_the_trainers_plan(crackforest):
    from training.check import DataChoice, check_data, choice_config

    choice = DataChoice(
        images=str(crackforest / "images"),
        masks=str(crackforest / "masks"),
        validation="split",
        split_file=str(crackforest / "split.json"),
    )
    seen: list[int] = []
    check = check_data(choice, previews=2, progress=seen.append)
    assert seen == [50]  # 72 train pairs read (CrackForest has no 'val' list; test never)
    assert not check.ok and "has no 'val' list" in check.reason
    plan = plan_data(choice_config(choice))
    assert check.n_train == len(plan.train) == 72 and check.n_val == len(plan.val) == 0
