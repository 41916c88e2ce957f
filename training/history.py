"""What a run has reported so far, rebuilt from its events (Qt-free).

The chart, the monitor and the runs list all read a `RunHistory`. It is fed the same events
whether they come live from the trainer's stdout or from `events.jsonl` after a restart, so
a reopened chart looks exactly like the live one did.

A resumed run appends to the same events.jsonl and restarts from its last complete epoch;
the steps of the interrupted epoch are run again, so on a `start` event with
`resumed_from_epoch` = E every step point beyond epoch E is dropped before the new ones come.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SMOOTHING = 0.8  # TensorBoard-style EMA weight, with bias correction for the first points

IMAGENET_HINT = (
    "ImageNet weights are downloaded from the internet the first time an encoder is used. "
    "This computer could not fetch them: connect to the internet and start again, or start "
    "from random weights or from an existing model instead."
)


@dataclass
class RunHistory:
    steps: list[tuple[float, float]] = field(default_factory=list)  # (epoch position, loss)
    smoothed: list[tuple[float, float]] = field(default_factory=list)
    epochs: list[dict[str, Any]] = field(default_factory=list)  # the `epoch` events
    start: dict[str, Any] | None = None
    end: dict[str, Any] | None = None
    last_step: dict[str, Any] | None = None
    logs: list[str] = field(default_factory=list)
    _ema: float = 0.0
    _ema_n: int = 0

    @classmethod
    def from_file(cls, path: str | Path) -> RunHistory:
        history = cls()
        for event in read_event_file(path):
            history.feed(event)
        return history

    # ------------------------------------------------------------------ feeding
    def feed(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "start":
            self._on_start(event)
        elif kind == "step":
            self._on_step(event)
        elif kind == "epoch":
            self.epochs = [e for e in self.epochs if e.get("epoch") != event.get("epoch")]
            self.epochs.append(event)
        elif kind == "end":
            self.end = event
        elif kind == "log" and event.get("message"):
            self.logs.append(str(event["message"]))

    def _on_start(self, event: dict[str, Any]) -> None:
        self.start = event
        self.end = None
        resumed = int(event.get("resumed_from_epoch") or 0)
        self.epochs = [e for e in self.epochs if int(e.get("epoch", 0)) <= resumed]
        keep = sum(1 for x, _ in self.steps if x <= resumed + 1e-9)
        del self.steps[keep:]
        del self.smoothed[keep:]
        self._ema_n = len(self.steps)
        if self.smoothed:
            # Undo the bias correction to continue the EMA where it was.
            self._ema = self.smoothed[-1][1] * (1 - SMOOTHING**self._ema_n)
        else:
            self._ema = 0.0
        self.last_step = None

    def _on_step(self, event: dict[str, Any]) -> None:
        loss = event.get("train_loss")
        per_epoch = int(event.get("steps_per_epoch") or 0)
        if loss is None or per_epoch <= 0:
            return
        x = float(event.get("global_step", 0)) / per_epoch
        self.steps.append((x, float(loss)))
        self._ema = SMOOTHING * self._ema + (1 - SMOOTHING) * float(loss)
        self._ema_n += 1
        self.smoothed.append((x, self._ema / (1 - SMOOTHING**self._ema_n)))
        self.last_step = event

    # ------------------------------------------------------------------ reading
    @property
    def config(self) -> dict[str, Any]:
        return dict((self.start or {}).get("config") or {})

    @property
    def epochs_total(self) -> int:
        if self.epochs and self.epochs[-1].get("epochs"):
            return int(self.epochs[-1]["epochs"])
        return int(self.config.get("epochs") or 0)

    @property
    def epochs_done(self) -> int:
        return max((int(e.get("epoch", 0)) for e in self.epochs), default=0)

    @property
    def steps_per_epoch(self) -> int:
        for source in (self.last_step, self.start):
            if source and source.get("steps_per_epoch"):
                return int(source["steps_per_epoch"])
        return 0

    def best_epoch(self) -> dict[str, Any] | None:
        best = [e for e in self.epochs if e.get("is_best")]
        return best[-1] if best else None

    def val_series(self, key: str) -> list[tuple[float, float]]:
        return [(float(e["epoch"]), float(e[key])) for e in self.epochs if e.get(key) is not None]

    def failure_text(self) -> str:
        """The end event's message, with what to do about it when we know."""
        if not self.end or self.end.get("status") != "failed":
            return ""
        message = str(self.end.get("message") or "training failed")
        if "ImageNet weights" in message:
            return f"{message}\n\n{IMAGENET_HINT}"
        return message


def read_event_file(path: str | Path) -> list[dict[str, Any]]:
    """Complete events of an events.jsonl (a line cut off by a kill is skipped)."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    events = []
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events
