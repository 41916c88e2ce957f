"""Checks on written files shared by unit and GUI tests (this module holds no tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pypdf
from PIL import Image


def assert_only_complete_files(folder: Path) -> list[Path]:
    """Every file under `folder` is whole: images decode, reports parse; no temporaries."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert not [p for p in files if ".part" in p.name], "temporary files left behind"
    for p in files:
        if p.suffix == ".png":
            with Image.open(p) as im:
                im.load()
        elif p.suffix == ".json":
            json.loads(p.read_text(encoding="utf-8"))
        elif p.suffix == ".pdf":
            assert len(pypdf.PdfReader(p).pages) >= 1
        elif p.suffix in (".csv", ".html"):
            assert p.read_text(encoding="utf-8").endswith("\n")
    return files
