"""The wheel holds every module and the resources, and works from outside the repository."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(REPO)],
        check=True, capture_output=True, cwd=out,
    )  # fmt: skip
    (found,) = out.glob("crackinspector-*.whl")
    return found


def test_wheel_contains_every_module_and_resource(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in ("crackinspector", "training"):
        for py in (REPO / package).rglob("*.py"):
            assert py.relative_to(REPO).as_posix() in names, f"{py} missing from the wheel"
    resources = REPO / "resources"
    for f in resources.rglob("*"):
        # an inspection store (.crackinspector/) appears when the app opens the samples
        if (
            f.is_file()
            and f.name != ".gitkeep"
            and not {"__pycache__", ".crackinspector"} & set(f.parts)
        ):
            rel = "crackinspector/resources/" + f.relative_to(resources).as_posix()
            assert rel in names, f"{rel} missing from the wheel"
    assert "crackinspector/resources/samples/CITATION.md" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "crackinspector = crackinspector.cli:main" in text
    assert "crackinspector-train = training.cli:main" in text


def test_installed_wheel_runs_outside_the_repo(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
         str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = (
        "import crackinspector, training; "
        "from crackinspector.resources import resource_dir; "
        "print(crackinspector.__file__); print(training.__file__); "
        "print(len(list(resource_dir('samples').glob('*.jpg'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, check=True,
                         capture_output=True, text=True).stdout.split()  # fmt: skip
    assert out[0].startswith(str(target)) and out[1].startswith(str(target))
    assert out[2] == "6"
    listing = subprocess.run(
        [sys.executable, "-m", "crackinspector", "models", "list"],
        env=env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for bundled in sorted((REPO / "resources" / "models").glob("*.safetensors")):
        assert bundled.stem in listing
