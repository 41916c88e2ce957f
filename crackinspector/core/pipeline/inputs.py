"""Which photos a run works on: collecting inputs, naming outputs, splitting into shards.

One rule for each, used by `predict`, `export` and the GUI's export:
- Inputs: files as given, folders searched recursively (core.io.imageio.find_images);
  files under the output folder are left out, so writing results into the photo folder is
  safe to re-run. An input that yields nothing (an empty folder, a symbolic link loop, a
  broken link) is a `Problem` naming it; the rest of the batch goes on.
- Output names: the photo's stem; a repeated stem (also differing only in case, for
  case-insensitive disks) gets `-2`, `-3`, ... in input order (`output_keys`).
- Shards: `--shard I/N` keeps every N-th photo of the whole list starting at the I-th,
  after the names are given, so shard runs on different machines name their files exactly
  as one run over all photos would, and `merge` can put their reports together.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from crackinspector.core.errors import CrackInspectorError
from crackinspector.core.io.imageio import IMAGE_EXTENSIONS, find_images


@dataclass(frozen=True)
class Problem:
    """An input that gave no photo, and why (one line)."""

    item: str
    reason: str

    def __str__(self) -> str:
        return f"{self.item}: {self.reason}"


@dataclass(frozen=True)
class Photo:
    """One photo of the run: where it is, its output key and its place in the whole list."""

    path: Path
    key: str
    index: int


@dataclass(frozen=True)
class Shard:
    """Part `index` (1-based) of `count`."""

    index: int = 1
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> Shard:
        """'2/5' -> Shard(2, 5); a clear error for anything else."""
        try:
            i, n = (int(v) for v in text.split("/"))
        except ValueError:
            raise CrackInspectorError(f"--shard wants I/N such as 2/5, got {text!r}") from None
        if not 1 <= i <= n:
            raise CrackInspectorError(f"--shard {text}: I must be between 1 and N")
        return cls(i, n)

    def select(self, photos: Sequence[Photo]) -> list[Photo]:
        return [p for p in photos if p.index % self.count == self.index - 1]

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def output_keys(paths: Sequence[Path]) -> list[str]:
    """Output file stems: the photo's stem, `-2`, `-3` ... for repeats (case-insensitive)."""
    seen: set[str] = set()
    keys = []
    for p in paths:
        base = p.stem or "image"
        key, n = base, 1
        while key.casefold() in seen:
            n += 1
            key = f"{base}-{n}"
        seen.add(key.casefold())
        keys.append(key)
    return keys


def link_problem(path: Path) -> str | None:
    """Why a symbolic link cannot be followed ('symbolic link loop'), or None."""
    if not path.is_symlink():
        return None
    try:
        path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop"
        if exc.errno == errno.ENOENT:
            return "broken symbolic link (its target does not exist)"
        return f"cannot follow symbolic link ({exc.strerror or exc})"
    return None


def _resolved(path: Path) -> Path | None:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop on Python < 3.13
        return None


def _is_inside(path: Path, folder: Path | None) -> bool:
    resolved = _resolved(path)
    if folder is None or resolved is None:
        return False
    return resolved == folder or folder in resolved.parents


def _bad_links(folder: Path) -> list[Problem]:
    """Links inside `folder` that point nowhere or into a loop (which a search skips
    without a word); only those named like images, or looping, are worth a line."""
    problems = []
    for root, dirs, files in os.walk(folder):
        for name in sorted(dirs + files):
            p = Path(root) / name
            reason = link_problem(p)
            if reason and (reason == "symbolic link loop" or p.suffix.lower() in IMAGE_EXTENSIONS):
                problems.append(Problem(str(p), reason))
    return problems


def _once(problems: list[Problem]) -> list[Problem]:
    """Each problem once, although a bad link may be both given and found in a folder."""
    seen: set[str] = set()
    out = []
    for p in problems:
        key = os.path.abspath(p.item)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def collect_inputs(
    inputs: Sequence[str | Path], out_dir: Path | None = None
) -> tuple[list[Photo], list[Problem]]:
    """The photos to work on (keys and indexes given) and the inputs that yield none."""
    out = _resolved(out_dir) if out_dir is not None else None
    problems: list[Problem] = []
    usable: list[Path] = []
    for item in inputs:
        p = Path(item)
        reason = link_problem(p)
        if reason:
            problems.append(Problem(str(item), reason))
            continue
        usable.append(p)
        if p.is_dir():
            problems += _bad_links(p)
            if not any(not _is_inside(q, out) for q in find_images([p])):
                looked = ", ".join(IMAGE_EXTENSIONS)
                problems.append(Problem(str(item), f"no images found (looked for {looked})"))
    problems = _once(problems)
    paths = [q for q in find_images(usable) if not link_problem(q) and not _is_inside(q, out)]
    photos = [
        Photo(path, key, i)
        for i, (path, key) in enumerate(zip(paths, output_keys(paths), strict=True))
    ]
    return photos, problems
