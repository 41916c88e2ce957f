"""Following files another process appends to: a run's events.jsonl and train.log (Qt-free).

The GUI reads a running trainer through its run folder alone, so a trainer it did not start
(or started before it was closed and reopened) is followed exactly like its own.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any


class FileTail:
    """The text appended to a file since the last `read()` (from `offset` at first)."""

    def __init__(self, path: str | Path, offset: int = 0) -> None:
        self.path = Path(path)
        self.offset = offset
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    @classmethod
    def at_end(cls, path: str | Path) -> FileTail:
        """Only what is appended from now on."""
        try:
            size = Path(path).stat().st_size
        except OSError:
            size = 0
        return cls(path, size)

    def read(self) -> str:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(0, 2)
                if fh.tell() < self.offset:  # replaced by a shorter file: start again
                    self.offset = 0
                    self._decoder.reset()
                fh.seek(self.offset)
                data = fh.read()
        except OSError:
            return ""
        self.offset += len(data)
        return self._decoder.decode(data)


class EventTail:
    """Complete events appended to an events.jsonl since the last call."""

    def __init__(self, path: str | Path) -> None:
        self._tail = FileTail(path)
        self._partial = ""

    def new_events(self) -> list[dict[str, Any]]:
        text = self._partial + self._tail.read()
        *lines, self._partial = text.split("\n")
        events = []
        for line in lines:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut off by a kill
            if isinstance(event, dict):
                events.append(event)
        return events
