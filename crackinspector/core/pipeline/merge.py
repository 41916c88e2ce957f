"""Put the output folders of shard runs (`--shard I/N`) together into one.

An export shard folder holds `report.json`: the merged folder gets every shard's per-photo
files and reports rebuilt from all photos (in the order of the whole photo list, by each
photo's `index`), totals recomputed by the same `summary` the export uses. A predict shard
folder holds `summary.csv`: the merged folder gets every shard's files and one summary.
Shards must come from the same model, threshold and settings; otherwise the merge is
refused naming the folder that differs. Photos named twice (the same key in two shards:
the shards overlap or one was run twice) are refused too.
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crackinspector.core.analysis.severity import SeverityScale
from crackinspector.core.errors import CrackInspectorError, FileProblem
from crackinspector.core.io.imageio import read_image
from crackinspector.core.pipeline.export import FORMATS, write_reports
from crackinspector.core.pipeline.outputs import (
    LOCK_NAME,
    FolderLock,
    OutputWriter,
    WriteFailed,
    prepare_out_dir,
)
from crackinspector.core.pipeline.predict import SUMMARY_FIELDS, SUMMARY_NAME
from crackinspector.core.report.model import SCHEMA_VERSION, merge_review_progress, summary
from crackinspector.core.report.overlay import figure_jpeg
from crackinspector.core.report.tables import write_csv


@dataclass
class MergeResult:
    out_dir: Path
    kind: str  # "export" or "predict"
    images: int = 0
    written: list[Path] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _kind(folder: Path) -> str:
    if (folder / "report.json").is_file():
        return "export"
    if (folder / SUMMARY_NAME).is_file():
        return "predict"
    raise FileProblem(folder, f"not a shard output folder (no report.json or {SUMMARY_NAME})")


def _load_doc(folder: Path) -> dict[str, Any]:
    path = folder / "report.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FileProblem(path, f"cannot read the report ({exc})") from None
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise FileProblem(
            path, f"report schema {doc.get('schema_version')!r} is not {SCHEMA_VERSION}"
        )
    return doc


def _same_run(docs: Sequence[tuple[Path, dict[str, Any]]]) -> None:
    first_dir, first = docs[0]
    for folder, doc in docs[1:]:
        for part in ("model", "settings"):
            a = {k: v for k, v in first[part].items() if k != "description"}
            b = {k: v for k, v in doc[part].items() if k != "description"}
            if a != b:
                raise FileProblem(
                    folder, f"made with other {part} than {first_dir} (not shards of one run)"
                )


def _unique(keys: list[str], what: str) -> None:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise CrackInspectorError(f"photo {key!r} is in more than one {what}: shards overlap")
        seen.add(key)


def _copy_files(folder: Path, rels: list[str], writer: OutputWriter) -> None:
    for rel in rels:
        source = folder / rel
        writer.write(rel, source.read_bytes)


def _merge_exports(folders: Sequence[Path], writer: OutputWriter, formats: Sequence[str]) -> int:
    docs = [(f, _load_doc(f)) for f in folders]
    _same_run(docs)
    images: list[tuple[Path, dict[str, Any]]] = []
    for folder, doc in docs:
        images += [(folder, img) for img in doc["images"]]
    inspections: list[dict[str, Any]] = []
    for _, d in docs:  # one list for all shards; each image's index re-pointed into it
        own = d.get("inspections", [])
        inspections += [i for i in own if i not in inspections]
        for img in d["images"]:
            if img.get("inspection") is not None:
                img["inspection"] = inspections.index(own[img["inspection"]])
    images.sort(key=lambda fi: fi[1].get("index", -1))
    _unique([img["key"] for _, img in images if img["status"] == "ok"], "shard report")
    for folder, img in images:
        _copy_files(folder, list(img["files"].values()), writer)
    entries = [img for _, img in images]
    doc = dict(docs[0][1])
    doc["created"] = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
    doc["summary"] = summary(entries, SeverityScale.from_dict(doc["settings"]["severity"]))
    doc["images"] = entries
    doc["review"] = merge_review_progress([d.get("review") for _, d in docs])
    doc["inspections"] = inspections
    figures = {}
    if "pdf" in formats:
        for img in entries:
            rel = img["files"].get("overlay")
            if rel and img["exported"]:
                figures[img["key"]] = figure_jpeg(read_image(writer.out_dir / rel))
    errors = write_reports(doc, figures, formats, writer, lambda: False)
    if errors:
        raise WriteFailed(FileProblem(writer.out_dir, "; ".join(errors)))
    return len(entries)


def _merge_predictions(folders: Sequence[Path], writer: OutputWriter) -> int:
    rows: list[dict[str, str]] = []
    for folder in folders:
        try:
            with open(folder / SUMMARY_NAME, newline="", encoding="utf-8") as fh:
                rows += list(csv.DictReader(fh))
        except (OSError, csv.Error, UnicodeDecodeError) as exc:
            raise FileProblem(folder / SUMMARY_NAME, f"cannot read the summary ({exc})") from None
        files = sorted(
            p.name
            for p in folder.iterdir()
            if p.is_file()
            and p.name not in (SUMMARY_NAME, LOCK_NAME)
            and not p.name.startswith(".")
        )
        _copy_files(folder, files, writer)
    rows.sort(key=lambda r: int(r.get("index") or -1))
    _unique([r["mask"] for r in rows if r.get("mask")], "shard summary")
    writer.write_with(writer.out_dir / SUMMARY_NAME, lambda p: write_csv(p, SUMMARY_FIELDS, rows))
    return len(rows)


def merge_shards(
    folders: Sequence[str | Path], out_dir: Path, formats: Sequence[str] = FORMATS
) -> MergeResult:
    """Merge shard output folders into `out_dir` (see the module docstring).

    Raises CrackInspectorError (one line) for folders that are not shards of one run, an
    output folder that cannot be written or is in use; WriteFailed for a write that fails.
    """
    paths = [Path(f) for f in folders]
    if not paths:
        raise CrackInspectorError("merge needs at least one shard folder")
    kinds = {p: _kind(p) for p in paths}
    if len(set(kinds.values())) > 1:
        raise CrackInspectorError("cannot merge predict and export folders together")
    kind = kinds[paths[0]]
    out = Path(out_dir)
    if any(out.resolve() == p.resolve() for p in paths):
        raise FileProblem(out, "the merged folder must not be one of the shard folders")
    prepare_out_dir(out)
    with FolderLock(out):
        writer = OutputWriter(out)
        if kind == "export":
            n = _merge_exports(paths, writer, formats)
        else:
            n = _merge_predictions(paths, writer)
    return MergeResult(out, kind, n, writer.written)
