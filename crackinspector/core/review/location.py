"""Where a photo folder's inspection store lives.

By default inside the folder (`<folder>/.crackinspector/inspection.sqlite`), so it travels
with the photos. When the folder cannot be written (a camera card, a read-only share) the
store goes to the user data folder, under a name made from the folder's absolute path:
`<user data>/inspections/<folder name>-<hash of the path>/inspection.sqlite`
($CRACKINSPECTOR_INSPECTIONS_DIR replaces `<user data>/inspections`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

from crackinspector.core.io.paths import user_folder

DATA_DIR = ".crackinspector"  # the same folder calibration.json lives in
STORE_FILE = "inspection.sqlite"
ENV_INSPECTIONS_DIR = "CRACKINSPECTOR_INSPECTIONS_DIR"


def folder_store_path(folder: Path) -> Path:
    return folder / DATA_DIR / STORE_FILE


def user_inspections_dir() -> Path:
    override = os.environ.get(ENV_INSPECTIONS_DIR)
    return Path(override) if override else user_folder("data") / "inspections"


def user_store_path(folder: Path) -> Path:
    """The store of `folder` in the user data folder, keyed by the folder's absolute path."""
    digest = hashlib.sha256(str(folder).encode("utf-8", "surrogateescape")).hexdigest()[:16]
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in folder.name)[:40]
    return user_inspections_dir() / f"{name or 'root'}-{digest}" / STORE_FILE


def can_write_in(folder: Path) -> bool:
    """True when a file can really be created in `folder` (made if missing).

    Permission bits are not enough (root ignores them; a read-only mount does not), so
    this creates and removes a probe file.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".probe-", dir=folder)
    except OSError:
        return False
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return True


def existing_store(folder: Path) -> Path | None:
    """The store file of `folder` if it has one: the folder's own, unless the folder is
    read-only and the review went on in the user data folder."""
    own, user = folder_store_path(folder), user_store_path(folder)
    if own.is_file() and (not user.is_file() or os.access(own.parent, os.W_OK)):
        return own
    return user if user.is_file() else None


def writable_store_path(folder: Path) -> tuple[Path, bool]:
    """(store path to write, True when it is the folder's own). Creates its parent folder.

    A read-only folder with a store in it (reviewed elsewhere) keeps that store as the
    starting point: the caller copies it to the returned user-data path.
    """
    own = folder_store_path(folder)
    if folder.is_dir() and (own.parent.is_dir() or os.access(folder, os.W_OK)):
        if can_write_in(own.parent):
            return own, True
        with contextlib.suppress(OSError):  # leave no empty .crackinspector behind
            own.parent.rmdir()
    path = user_store_path(folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path, False
