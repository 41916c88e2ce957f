"""Training events: one JSON object per line, the live feed the GUI's wizard plots.

Schema (version 1), every event has `type`, `time` (Unix seconds) and `run`:
- start:  config (the full TrainConfig), device, amp, train_images, val_images, world_size,
          resumed_from_epoch
- step:   epoch (1-based), step (within the epoch), global_step, steps_per_epoch,
          train_loss, lr, images_per_s, eta_s
- epoch:  epoch, epochs, train_loss, val_loss, precision, recall, f1, iou, f1_tol2,
          iou_tol2, best_threshold, best_f1, lr, images_per_s, seconds, eta_s, is_best
- end:    status ("finished" | "stopped" | "failed"), best_epoch, best_f1, model (path of
          the exported model's .safetensors or null), message
- log:    message (free text for the log pane)
Floats that are undefined (no validation set) are null.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import IO, Any

SCHEMA_VERSION = 1
EVENT_TYPES = ("start", "step", "epoch", "end", "log")


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


class EventWriter:
    """Appends events to the run folder's events.jsonl and, optionally, a second stream."""

    def __init__(self, run_dir: Path, run: str, extra: str | None = None) -> None:
        self.run = run
        self._streams: list[IO[str]] = [open(run_dir / "events.jsonl", "a", encoding="utf-8")]  # noqa: SIM115
        if extra == "-":
            self._streams.append(sys.stdout)
        elif extra:
            self._streams.append(open(extra, "a", encoding="utf-8"))  # noqa: SIM115

    def emit(self, type_: str, **fields: Any) -> dict[str, Any]:
        if type_ not in EVENT_TYPES:
            raise ValueError(f"unknown event type {type_!r}")
        event = {"type": type_, "time": round(time.time(), 3), "run": self.run, **_clean(fields)}
        line = json.dumps(event, separators=(",", ":")) + "\n"
        for stream in self._streams:
            stream.write(line)
            stream.flush()
        return event

    def close(self) -> None:
        for stream in self._streams:
            if stream is not sys.stdout:
                stream.close()


def read_events(path: str | Path) -> list[dict[str, Any]]:
    """All complete events of a file (a line cut off by a kill is skipped)."""
    events = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return events
