"""Turning the trainer's stderr into log lines for the log pane (Qt-free).

tqdm redraws its bar with carriage returns; written to a text pane verbatim that is hundreds
of near-identical lines. Here each chunk of stderr becomes ("line", text) for text to keep
and ("progress", text) for the one live progress line, which the pane shows apart and
replaces ('' clears it).
"""

from __future__ import annotations

import re

_PROGRESS = re.compile(r"\d+/\d+ \[|\d+%\|")


def is_progress(text: str) -> bool:
    return bool(_PROGRESS.search(text))


class StderrCleaner:
    def __init__(self) -> None:
        self._buffer = ""

    def feed(self, text: str) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        self._buffer += text
        while "\n" in self._buffer:
            line, self._buffer = self._buffer.split("\n", 1)
            segments = [s for s in line.split("\r") if s]
            last = segments[-1].rstrip() if segments else ""
            if is_progress(last):
                out.append(("progress", ""))  # a bar that finished: nothing to keep
            elif last:
                out.append(("line", last))
        if "\r" in self._buffer:
            *done, self._buffer = self._buffer.split("\r")
            shown = [s for s in done if s]
            if shown:  # a run of spaces before \r is tqdm clearing its bar -> ''
                out.append(("progress", shown[-1].rstrip()))
        if is_progress(self._buffer):  # tqdm writes "\r<bar>", so the bar is the tail
            out.append(("progress", self._buffer.rstrip()))
        return out

    def flush(self) -> list[tuple[str, str]]:
        rest, self._buffer = self._buffer, ""
        return [("line", rest.rstrip())] if rest.strip() else []
