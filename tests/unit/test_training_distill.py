"""Knowledge distillation (--teacher): a real tiny teacher trained here, real CrackForest crops."""

from __future__ import annotations

from pathlib import Path

import pytest
from training_helpers import TINY_ARGS, make_pairs

from crackinspector.core.model import registry
from crackinspector.core.model.card import ModelCard
from training.cli import main as train_main
from training.config import TrainConfig
from training.distill import load_teacher
from training.events import read_events


@pytest.fixture(scope="module")
def data(crackforest, tmp_path_factory):
    root = tmp_path_factory.mktemp("distill-data")
    images, masks = make_pairs(crackforest, root, ["007", "008", "009", "010"])
    return ["--images", str(images), "--masks", str(masks), "--val-fraction", "0.25"]


@pytest.fixture(scope="module")
def teacher(data, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("teacher")
    args = [*data, *TINY_ARGS, "--out", str(root / "run"), "--export-dir", str(root / "models")]
    assert train_main([*args, "--name", "tiny-teacher"]) == 0
    return root / "models" / "tiny-teacher.safetensors"


def _first_step_losses(run: Path) -> list[float]:
    return [e["train_loss"] for e in read_events(run / "events.jsonl") if e["type"] == "step"]


def test_distilled_run_adds_the_teachers_loss_and_records_it(data, teacher, tmp_path):
    """Same seed, same batches, same start: the first step's loss with a teacher is the
    masks' loss plus the (positive) loss against the teacher, so strictly larger; the run's
    config and the exported card name the teacher."""
    losses = {}
    for name, extra in (("plain", []), ("distilled", ["--teacher", str(teacher)])):
        out = tmp_path / name
        code = train_main([*data, *TINY_ARGS, *extra, "--distill-weight", "2",
                           "--out", str(out), "--export-dir", str(tmp_path / "models"),
                           "--name", f"student-{name}"])  # fmt: skip
        assert code == 0
        losses[name] = _first_step_losses(out)
    assert losses["distilled"][0] > losses["plain"][0] + 1e-3
    saved = TrainConfig.load(tmp_path / "distilled" / "config.json")
    assert saved.teacher == str(teacher) and saved.distill_weight == 2.0
    card = registry.resolve(tmp_path / "models" / "student-distilled.safetensors").card
    assert card.training["config"]["teacher"] == "tiny-teacher"  # no machine path in a card


def test_teacher_sees_its_own_normalisation(teacher):
    """A student normalised with other statistics: the teacher's input is mapped back to the
    teacher's own, so its probabilities match running it directly on its own input."""
    import torch

    info = registry.resolve(teacher)
    student = ModelCard(name="s", encoder="resnet18", mean=[0.5, 0.5, 0.5], std=[0.25, 0.3, 0.2])
    t = load_teacher(str(teacher), student, torch.device("cpu"))
    raw = torch.rand(1, 3, 64, 64)
    s_mean, s_std = (torch.tensor(v).view(1, 3, 1, 1) for v in (student.mean, student.std))
    t_mean, t_std = (torch.tensor(v).view(1, 3, 1, 1) for v in (info.card.mean, info.card.std))
    got = t.probabilities((raw - s_mean) / s_std, None)
    model = registry.load_model(info).eval()
    with torch.no_grad():
        want = torch.sigmoid(model((raw - t_mean) / t_std))
    assert torch.allclose(got, want, atol=1e-5)
    assert not any(p.requires_grad for p in t.model.parameters())


def test_missing_teacher_is_one_clear_line_before_the_data_loads(data, tmp_path, capsys):
    """Reported at once: on the bundled mix the data takes minutes to load, so the teacher
    is checked first (no data-plan line is printed before the error)."""
    missing = tmp_path / "no-such-teacher.safetensors"
    code = train_main([*data, *TINY_ARGS, "--teacher", str(missing), "--out", str(tmp_path / "r")])
    assert code == 1
    events = read_events(tmp_path / "r" / "events.jsonl")
    logged = [e["message"] for e in events if e["type"] == "log"]
    assert not any("pairs" in line for line in logged), logged
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        len(err) == 1
        and "no-such-teacher" in err[0]
        and err[0].startswith("crackinspector-train: error:")
    )
