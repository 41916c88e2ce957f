"""Shared fixtures: real data, a small real model, and isolation from the user's folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """../shared/data beside the checkout (CI lays it there), or $CRACKINSPECTOR_SHARED_DATA."""
    override = os.environ.get("CRACKINSPECTOR_SHARED_DATA")
    return Path(override) if override else REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    assert (path / "crackforest" / "images").is_dir(), f"real crack data not found at {path}"
    return path


@pytest.fixture(scope="session")
def crackforest(shared_data: Path) -> Path:
    return shared_data / "crackforest"


@pytest.fixture(autouse=True)
def _isolated_user_folders(tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> None:
    """No test reads or writes the user's model folder, cache or settings."""
    base = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("CRACKINSPECTOR_MODELS_DIR", str(base / "user-models"))
    monkeypatch.setenv("CRACKINSPECTOR_CACHE_DIR", str(base / "user-cache"))


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small randomly initialised U-Net saved as a real model pair (mechanics, not quality)."""
    from model_factory import save_untrained_model

    return save_untrained_model(tmp_path_factory.mktemp("tiny-model")).weights_path


@pytest.fixture(autouse=True)
def _isolated_settings(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads or writes the user's real GUI settings (an INI file per test instead)."""
    folder = tmp_path_factory.mktemp("settings")
    monkeypatch.setenv("CRACKINSPECTOR_SETTINGS", str(folder / "crackinspector.ini"))
