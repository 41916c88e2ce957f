"""Training runs on disk, read back from their folders (Qt-free).

A run folder written by `crackinspector-train` holds config.json, data.json, metrics.csv
(one row per completed, checkpointed epoch), events.jsonl, train.log, last.pt/best.pt and
run.lock. Everything the runs list shows comes from these files, so it survives a restart
of the GUI: a run is running while a trainer holds its lock (training.runlock), whoever
started it; one without an end event and without a trainer was interrupted (killed, or
its computer went down) and can be resumed from its last complete epoch.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .history import RunHistory
from .runlock import LOCK_FILE, holder

RUNNING, FINISHED, STOPPED, FAILED, INTERRUPTED = (
    "running",
    "finished",
    "stopped",
    "failed",
    "interrupted",
)


@dataclass
class RunRecord:
    path: Path
    status: str
    config: dict[str, Any] = field(default_factory=dict)
    history: RunHistory = field(default_factory=RunHistory)
    epochs_done: int = 0  # checkpointed epochs (rows of metrics.csv)
    started: float | None = None  # Unix time of the first start event
    message: str = ""

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def epochs_total(self) -> int:
        return int(self.config.get("epochs") or self.history.epochs_total or 0)

    @property
    def best_f1(self) -> float | None:
        best = self.history.best_epoch()
        value = best.get("best_f1") if best else None
        return float(value) if value is not None else None

    @property
    def model(self) -> Path | None:
        end = self.history.end or {}
        return Path(end["model"]) if end.get("model") else None

    @property
    def can_resume(self) -> bool:
        """A stopped, interrupted or failed run that got as far as saving its config."""
        return (
            self.status in (STOPPED, INTERRUPTED, FAILED) and (self.path / "config.json").is_file()
        )


def read_config(run: Path) -> dict[str, Any]:
    try:
        data = json.loads((run / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def count_metric_rows(run: Path) -> int:
    try:
        with open(run / "metrics.csv", newline="", encoding="utf-8") as fh:
            return sum(1 for _ in csv.DictReader(fh))
    except (OSError, csv.Error):
        return 0


def status_of(history: RunHistory, live: bool) -> str:
    if live:
        return RUNNING
    if history.end is not None:
        return str(history.end.get("status") or FAILED)
    return INTERRUPTED


def read_run(run: Path, live: bool | None = None, history: RunHistory | None = None) -> RunRecord:
    """The record of one run folder; `live` None: ask the run's lock whether it trains now;
    `history` (a live one) saves re-reading events.jsonl."""
    history = history if history is not None else RunHistory.from_file(run / "events.jsonl")
    config = read_config(run) or history.config
    started = _first_start_time(run)
    status = status_of(history, holder(run) is not None if live is None else live)
    message = ""
    if status == FAILED:
        message = history.failure_text()
    elif status == INTERRUPTED:
        message = "no end was recorded: the trainer was killed or its computer stopped"
    return RunRecord(
        path=run,
        status=status,
        config=config,
        history=history,
        epochs_done=count_metric_rows(run),
        started=started,
        message=message,
    )


def _first_start_time(run: Path) -> float | None:
    try:
        with open(run / "events.jsonl", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if '"type":"start"' in line or '"type": "start"' in line:
                    try:
                        return float(json.loads(line).get("time"))
                    except (ValueError, TypeError):
                        return None
    except OSError:
        return None
    return None


def is_run_folder(path: Path) -> bool:
    markers = ("events.jsonl", "config.json", LOCK_FILE)
    return path.is_dir() and any((path / name).is_file() for name in markers)


def list_runs(root: Path, live: set[Path] | None = None) -> list[RunRecord]:
    """Every run under `root`, newest first; running: held by a trainer, or in `live` (run
    folders whose process the caller has just started, before it takes its lock)."""
    live = {p.resolve() for p in live or set()}
    if not root.is_dir():
        return []
    records = [
        read_run(p, True if p.resolve() in live else None)
        for p in root.iterdir()
        if is_run_folder(p)
    ]
    records.sort(key=lambda r: r.started or r.path.stat().st_mtime, reverse=True)
    return records
