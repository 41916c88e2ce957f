"""The inspection store: one SQLite database per photo folder holding the review.

Opening: `InspectionStore(folder)` (or `open_store`) opens the folder's store for writing,
making it when missing (location.py says where). Another process (or another window of
this one) already writing it makes this one read-only, saying "opened read-only: in use by
PID ...". A damaged file is moved aside (`inspection.sqlite.damaged-<time>`, nothing is
deleted) and a new store started; `messages` holds one line per such event for the user.

Durability: every change is its own committed transaction (WAL journal, synchronous=NORMAL:
a killed process never loses a commit and never corrupts the file). `save_mask` is the one
exception, made for the viewer's frequent calls: it commits the photo's status at once,
copies the mask (about 10 ms for 20 megapixels) and leaves PNG encoding (0.1-0.2 s) and the
blob's commit to a background thread, which writes within BATCH_SECONDS plus the encoding
time, coalescing repeated saves of a photo. `flush()` waits for it; `close()` flushes.
"""

from __future__ import annotations

import atexit
import contextlib
import getpass
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from crackinspector.core.analysis.calibration import (
    Calibration,
    CalibrationError,
    FolderCalibration,
    calibration_path,
    load_calibration,
)
from crackinspector.core.analysis.severity import SeverityScale
from crackinspector.core.errors import FileProblem
from crackinspector.core.io.cache import file_digest
from crackinspector.core.io.imageio import find_images
from crackinspector.core.review import location
from crackinspector.core.review.lock import StoreLock
from crackinspector.core.review.maskcodec import decode_mask, encode_mask
from crackinspector.core.review.records import (
    CORRECTED,
    STATUSES,
    UNREVIEWED,
    InspectionInfo,
    PhotoReview,
    ReviewError,
    ReviewSummary,
    StoreReadOnly,
    check_status,
    now_text,
)
from crackinspector.core.review.schema import SCHEMA_VERSION, migrate, schema_version

BATCH_SECONDS = 0.3  # how long save_mask waits for more saves before encoding
CALIBRATION_IMPORTED = "calibration_json_imported"


@dataclass
class _PendingMask:
    epoch: int  # the photo's reset count when saved: a reset since voids this save
    mask: np.ndarray
    content_hash: str


@dataclass(frozen=True)
class _Fingerprint:
    content_hash: str
    size: int
    mtime_ns: int


class InspectionStore:
    """The review of one photo folder. Thread-safe; use as a context manager or close()."""

    def __init__(self, folder: str | Path, *, read_only: bool = False) -> None:
        folder = Path(folder)
        if not folder.is_dir():
            raise FileProblem(folder, "not a folder")
        self.folder = folder.resolve()
        self.messages: list[str] = []  # one line each, for the user
        self.errors: list[str] = []  # background write failures, one line each
        self.read_only = read_only
        self.read_only_reason = "opened read-only" if read_only else ""
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._pending: dict[str, _PendingMask] = {}
        self._inflight: dict[str, _PendingMask] = {}
        self._resets: dict[str, int] = {}
        self._first_pending = 0.0
        self._flush_now = False
        self._closing = False
        self._closed = False
        self._writer: threading.Thread | None = None
        self._store_lock: StoreLock | None = None
        if read_only:
            found = location.existing_store(self.folder)
            if found is None:
                raise FileProblem(self.folder, "has no inspection store yet")
            self.path = found
            self._conn = self._open_reader(found)
        else:
            self.path = self._writable_path()
            lock = StoreLock(self.path.with_name(self.path.name + ".lock"))
            if lock.acquire():
                self._store_lock = lock
                try:
                    self._conn = self._open_writer(self.path)
                except BaseException:
                    lock.release()
                    raise
            else:
                self._set_read_only(f"opened read-only: in use by PID {lock.holder_pid or '?'}")
                self._conn = self._open_reader(self.path)
        self._version = schema_version(self._conn)
        atexit.register(self.close)

    # ------------------------------------------------------------------ opening
    def _set_read_only(self, reason: str) -> None:
        self.read_only = True
        self.read_only_reason = reason
        self.messages.append(f"{self.path}: {reason}")

    def _writable_path(self) -> Path:
        path, own = location.writable_store_path(self.folder)
        if own:
            return path
        self.messages.append(f"{self.folder}: folder is read-only; the review is kept in {path}")
        seed = location.folder_store_path(self.folder)
        if seed.is_file() and not path.exists():
            try:  # reviewed elsewhere: start from the folder's own store
                with (
                    contextlib.closing(_connect_read_only(seed)) as src,
                    contextlib.closing(sqlite3.connect(path)) as dst,
                ):
                    src.backup(dst)
            except sqlite3.Error as exc:
                self.messages.append(f"{seed}: cannot be copied ({exc}); starting a new review")
                for p in (path, Path(f"{path}-journal")):
                    if p.exists() and p.stat().st_size == 0:
                        p.unlink()
        return path

    def _open_writer(self, path: Path) -> sqlite3.Connection:
        try:
            conn = _connect(path)
        except sqlite3.Error as exc:
            raise FileProblem(path, f"cannot open the inspection store ({exc})") from None
        try:
            problem = _damage(conn)
            if problem is None:
                conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.DatabaseError as exc:
            if not _is_corruption(exc):  # locked, unreadable, disk errors: not damage
                conn.close()
                raise FileProblem(path, f"cannot open the inspection store ({exc})") from None
            problem = str(exc)
        if problem is not None:
            conn.close()
            backup = _move_aside(path)
            self.messages.append(
                f"{path}: damaged inspection store ({problem}); kept as {backup.name}, "
                "started a new one"
            )
            conn = _connect(path)
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        version = schema_version(conn)
        if version > SCHEMA_VERSION:
            conn.execute("PRAGMA query_only = ON")
            self._set_read_only(
                f"opened read-only: made by a newer CrackInspector (schema {version}, "
                f"this one knows {SCHEMA_VERSION})"
            )
            return conn
        with self._lock:
            self._conn = conn
            if version < SCHEMA_VERSION:
                migrate(conn)
            self._version = schema_version(conn)
            self._import_calibration_json()
        return conn

    def _open_reader(self, path: Path) -> sqlite3.Connection:
        if not path.is_file():
            raise FileProblem(path, "inspection store not found")
        try:
            if os.access(path, os.W_OK) and os.access(path.parent, os.W_OK):
                conn = _connect(path)
                conn.execute("PRAGMA query_only = ON")
            else:
                conn = _connect_read_only(path)
            problem = _damage(conn)
        except sqlite3.DatabaseError as exc:
            if not _is_corruption(exc):
                raise FileProblem(path, f"cannot open the inspection store ({exc})") from None
            problem = str(exc)
        if problem is not None:
            raise FileProblem(path, f"damaged inspection store ({problem})")
        return conn

    # ------------------------------------------------------------------ helpers
    def _require_writable(self) -> None:
        if self._closed:
            raise ReviewError(f"{self.path}: the inspection store is closed")
        if self.read_only:
            raise StoreReadOnly(f"{self.path}: {self.read_only_reason}")

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One committed change; a database failure (disk full, I/O error) becomes a
        ReviewError naming the store."""
        with self._lock:
            self._require_writable()
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                except BaseException:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise ReviewError(f"{self.path}: change not saved ({exc})") from None

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            if self._closed:
                raise ReviewError(f"{self.path}: the inspection store is closed")
            return self._conn.execute(sql, tuple(params)).fetchall()

    def _meta(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def key(self, photo: str | Path) -> str:
        """The photo's key: its path relative to the folder ('/'-separated).

        A relative `photo` is taken relative to the inspection folder.
        """
        p = Path(photo)
        if not p.is_absolute():
            p = self.folder / p
        for candidate, base in ((Path(os.path.abspath(p)), self.folder), (p.resolve(), None)):
            with contextlib.suppress(ValueError):
                return candidate.relative_to(base or self.folder).as_posix()
        raise ReviewError(f"{photo}: not inside the inspection folder {self.folder}")

    def photo_path(self, key: str) -> Path:
        return self.folder / key

    def _fingerprint(self, path: Path, row: sqlite3.Row | None = None) -> _Fingerprint | None:
        """The file's content hash now (None: no file); size and mtime spare re-hashing."""
        try:
            st = path.stat()
        except OSError:
            return None
        if (
            row is not None
            and row["file_size"] == st.st_size
            and row["file_mtime_ns"] == st.st_mtime_ns
        ):
            return _Fingerprint(row["content_hash"], st.st_size, st.st_mtime_ns)
        return _Fingerprint(file_digest(path), st.st_size, st.st_mtime_ns)

    def _require_photo(self, photo: str | Path) -> tuple[str, _Fingerprint]:
        key = self.key(photo)
        fp = self._fingerprint(self.photo_path(key))
        if fp is None:
            raise FileProblem(self.photo_path(key), "photo not found")
        return key, fp

    def _current_mask(self, key: str) -> _PendingMask | None:
        item = self._pending.get(key) or self._inflight.get(key)
        if item is not None and item.epoch == self._resets.get(key, 0):
            return item
        return None

    def _review(self, key: str, row: sqlite3.Row | None, mask_hash: str | None) -> PhotoReview:
        path = self.photo_path(key)
        fp = self._fingerprint(path, row)
        with self._lock:
            pending = self._current_mask(key)
        if pending is not None:
            mask_hash = pending.content_hash
        current = fp.content_hash if fp else None
        if row is None:
            return PhotoReview(path, key, missing=fp is None, has_mask=pending is not None)
        return PhotoReview(
            path=path,
            key=key,
            status=row["status"],
            reviewer=row["reviewer"],
            reviewed_at=row["reviewed_at"],
            note=row["note"],
            model=row["model"],
            threshold=row["threshold"],
            content_hash=row["content_hash"],
            has_mask=mask_hash is not None,
            changed=current is not None and current != row["content_hash"],
            mask_changed=mask_hash is not None and current is not None and mask_hash != current,
            missing=fp is None,
            in_store=True,
        )

    # ------------------------------------------------------------------ inspection
    def info(self) -> InspectionInfo:
        names = InspectionInfo.field_names()
        row = self._query(f"SELECT {', '.join(names)} FROM inspection WHERE id = 1")[0]
        return InspectionInfo(**{n: row[n] or "" for n in names})

    def set_info(self, **changes: str) -> InspectionInfo:
        """Change some of project, element, location, inspector, date, notes."""
        unknown = set(changes) - set(InspectionInfo.field_names())
        if unknown:
            raise ReviewError(f"unknown inspection detail(s): {', '.join(sorted(unknown))}")
        if changes:
            sets = ", ".join(f"{k} = ?" for k in changes)
            with self._transaction() as conn:
                conn.execute(
                    f"UPDATE inspection SET {sets}, updated_at = ? WHERE id = 1",
                    (*(str(v) for v in changes.values()), now_text()),
                )
        return self.info()

    def severity(self) -> SeverityScale | None:
        """The severity class table saved with this inspection (None: not chosen yet)."""
        if self._version < 2:
            return None
        text = self._query("SELECT severity_json FROM inspection WHERE id = 1")[0][0]
        return SeverityScale.from_dict(json.loads(text)) if text else None

    def set_severity(self, scale: SeverityScale | None) -> None:
        text = json.dumps(scale.to_dict()) if scale is not None else None
        with self._transaction() as conn:
            conn.execute(
                "UPDATE inspection SET severity_json = ?, updated_at = ? WHERE id = 1",
                (text, now_text()),
            )

    # ------------------------------------------------------------------ photos
    def photo(self, photo: str | Path) -> PhotoReview:
        """The review of one photo; a photo never reviewed gets the defaults (in_store False)."""
        key = self.key(photo)
        rows = self._query("SELECT * FROM photos WHERE path = ?", (key,))
        masks = self._query("SELECT content_hash FROM masks WHERE path = ?", (key,))
        return self._review(key, rows[0] if rows else None, masks[0][0] if masks else None)

    def photos(self) -> list[PhotoReview]:
        """Every photo the store knows, by key."""
        rows = self._query(
            "SELECT p.*, m.content_hash AS mask_hash FROM photos p "
            "LEFT JOIN masks m ON m.path = p.path ORDER BY p.path"
        )
        return [self._review(r["path"], r, r["mask_hash"]) for r in rows]

    def folder_photos(self) -> list[Path]:
        """The photos of the inspection folder (its subfolders too), sorted."""
        return [
            p
            for p in find_images([self.folder])
            if location.DATA_DIR not in p.relative_to(self.folder).parts
        ]

    def summary(self, photos: Iterable[str | Path] | None = None) -> ReviewSummary:
        """Counts by status over `photos` (default: the folder's); a changed photo counts
        as unreviewed (its decision was about other content) and in `changed`."""
        paths = self.folder_photos() if photos is None else list(photos)
        known = {r.key: r for r in self.photos()}
        counts = dict.fromkeys(STATUSES, 0)
        changed = 0
        keys = set()
        for p in paths:
            key = self.key(p)
            keys.add(key)
            review = known.get(key)
            if review is not None and review.changed:
                changed += 1
                counts[UNREVIEWED] += 1
            else:
                counts[review.status if review else UNREVIEWED] += 1
        missing = sum(1 for k, r in known.items() if r.missing and k not in keys)
        return ReviewSummary(len(paths), counts, changed, missing)

    def moved_photos(self) -> list[tuple[str, Path]]:
        """(old key, photo) pairs: a reviewed photo whose file is gone and an unreviewed
        photo of the folder with the very same content (renamed or moved). Nothing is
        matched silently: `relink` adopts a pair when the user agrees."""
        gone = {r.content_hash: r.key for r in self.photos() if r.missing and r.content_hash}
        if not gone:
            return []
        known = {r.key for r in self.photos()}
        pairs = []
        for path in self.folder_photos():
            key = self.key(path)
            if key in known:
                continue
            fp = self._fingerprint(path)
            if fp is not None and fp.content_hash in gone:
                pairs.append((gone.pop(fp.content_hash), path))
        return pairs

    def relink(self, old: str, photo: str | Path) -> PhotoReview:
        """Move the review (decision, edited mask, own calibration) of `old` to `photo`."""
        new, fp = self._require_photo(photo)
        with self._cond:
            if self._current_mask(old) is not None:
                raise ReviewError(f"{old}: an edited mask is still being saved; try again")
            with self._transaction() as conn:
                conn.execute("PRAGMA defer_foreign_keys = ON")
                cur = conn.execute(
                    "UPDATE photos SET path = ?, file_size = ?, file_mtime_ns = ?, "
                    "updated_at = ? WHERE path = ?",
                    (new, fp.size, fp.mtime_ns, now_text(), old),
                )
                if cur.rowcount == 0:
                    raise ReviewError(f"{old}: no review of that photo in the store")
                conn.execute("UPDATE masks SET path = ? WHERE path = ?", (new, old))
                if self._version >= 2:
                    conn.execute("UPDATE calibration SET scope = ? WHERE scope = ?", (new, old))
        return self.photo(new)

    def set_status(
        self,
        photo: str | Path,
        status: str,
        *,
        note: str | None = None,
        reviewer: str | None = None,
        model: str | None = None,
        threshold: float | None = None,
    ) -> PhotoReview:
        """Record a decision on the photo's current content (committed before returning).

        None keeps the stored note, model and threshold. `reviewer` defaults to the
        inspection's inspector, else the login name. Back to "unreviewed" clears who/when.
        An edited mask is kept whatever the status, but only "corrected" uses it.
        """
        status = check_status(status)
        key, fp = self._require_photo(photo)
        reviewed = status != UNREVIEWED
        who = (reviewer if reviewer is not None else self._default_reviewer()) if reviewed else ""
        self._upsert(key, fp, status, who, now_text() if reviewed else None, note, model, threshold)
        return self.photo(key)

    def set_note(self, photo: str | Path, note: str) -> PhotoReview:
        key, fp = self._require_photo(photo)
        with self._transaction() as conn:
            cur = conn.execute(
                "UPDATE photos SET note = ?, updated_at = ? WHERE path = ?",
                (str(note), now_text(), key),
            )
            if cur.rowcount == 0:
                self._insert_row(conn, key, fp, UNREVIEWED, "", None, str(note), None, None)
        return self.photo(key)

    def _default_reviewer(self) -> str:
        inspector = self.info().inspector
        if inspector:
            return inspector
        try:
            return getpass.getuser()
        except (OSError, KeyError, ImportError):
            return ""

    def _insert_row(
        self,
        conn: sqlite3.Connection,
        key: str,
        fp: _Fingerprint,
        status: str,
        reviewer: str,
        when: str | None,
        note: str | None,
        model: str | None,
        threshold: float | None,
    ) -> None:
        conn.execute(
            "INSERT INTO photos (path, content_hash, file_size, file_mtime_ns, status, "
            "reviewer, reviewed_at, note, model, threshold, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(path) DO UPDATE SET content_hash = excluded.content_hash, "
            "file_size = excluded.file_size, file_mtime_ns = excluded.file_mtime_ns, "
            "status = excluded.status, reviewer = excluded.reviewer, "
            "reviewed_at = excluded.reviewed_at, note = COALESCE(?, photos.note), "
            "model = COALESCE(?, photos.model), threshold = COALESCE(?, photos.threshold), "
            "updated_at = excluded.updated_at",
            (key, fp.content_hash, fp.size, fp.mtime_ns, status, reviewer, when, note or "",
             model, threshold, now_text(), note, model, threshold),
        )  # fmt: skip

    def _upsert(
        self,
        key: str,
        fp: _Fingerprint,
        status: str,
        reviewer: str,
        when: str | None,
        note: str | None,
        model: str | None,
        threshold: float | None,
    ) -> None:
        threshold = float(threshold) if threshold is not None else None
        with self._transaction() as conn:
            self._insert_row(conn, key, fp, status, reviewer, when, note, model, threshold)

    # ------------------------------------------------------------------ masks
    def save_mask(
        self,
        photo: str | Path,
        mask: np.ndarray,
        *,
        model: str | None = None,
        threshold: float | None = None,
        reviewer: str | None = None,
        note: str | None = None,
    ) -> None:
        """Keep an edited mask (bool, the photo's full resolution); the photo becomes
        "corrected". Returns after committing the status and copying the mask; the mask
        itself is committed by the background writer (see the module docstring)."""
        arr = np.array(mask, dtype=bool, copy=True)
        if arr.ndim != 2:
            raise ReviewError(f"{photo}: a mask must be two-dimensional, got shape {arr.shape}")
        key, fp = self._require_photo(photo)
        who = reviewer if reviewer is not None else self._default_reviewer()
        with self._cond:
            self._upsert(key, fp, CORRECTED, who, now_text(), note, model, threshold)
            if not self._pending:
                self._first_pending = time.monotonic()
            self._pending[key] = _PendingMask(self._resets.get(key, 0), arr, fp.content_hash)
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._write_loop, name="inspection-store-writer", daemon=True
                )
                self._writer.start()
            self._cond.notify_all()

    def mask(self, photo: str | Path) -> np.ndarray | None:
        """The photo's edited mask (a copy), or None when it has none."""
        key = self.key(photo)
        with self._lock:
            item = self._current_mask(key)
            if item is not None:
                return item.mask.copy()
            rows = self._query("SELECT png FROM masks WHERE path = ?", (key,))
        return decode_mask(rows[0][0]) if rows else None

    def mask_png(self, photo: str | Path) -> bytes | None:
        """The stored PNG of the photo's edited mask (after `flush()` for recent saves)."""
        rows = self._query("SELECT png FROM masks WHERE path = ?", (self.key(photo),))
        return bytes(rows[0][0]) if rows else None

    def reset_mask(self, photo: str | Path, previous: PhotoReview | None = None) -> PhotoReview:
        """Back to the model's mask: the edited one is dropped and "corrected" becomes
        `previous`'s decision (status, reviewer, time: what the photo had before it was
        edited), else "unreviewed". Other statuses stay."""
        key = self.key(photo)
        status, reviewer, when = UNREVIEWED, "", None
        if previous is not None and previous.status not in (UNREVIEWED, CORRECTED):
            status, reviewer, when = previous.status, previous.reviewer, previous.reviewed_at
        with self._cond:
            self._require_writable()
            self._resets[key] = self._resets.get(key, 0) + 1
            self._pending.pop(key, None)
            with self._transaction() as conn:
                conn.execute("DELETE FROM masks WHERE path = ?", (key,))
                conn.execute(
                    "UPDATE photos SET status = ?, reviewer = ?, reviewed_at = ?, "
                    "updated_at = ? WHERE path = ? AND status = ?",
                    (status, reviewer, when, now_text(), key, CORRECTED),
                )
        return self.photo(key)

    @property
    def pending_masks(self) -> int:
        """Masks saved but not yet committed."""
        with self._lock:
            return len(self._pending) + len(self._inflight)

    def flush(self) -> None:
        """Commit every mask saved so far, now; returns when they are in the file."""
        with self._cond:
            while self._pending or self._inflight:
                if self._writer is None or not self._writer.is_alive():
                    break
                self._flush_now = True
                self._cond.notify_all()
                self._cond.wait(0.5)

    def _write_loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    self._cond.wait()
                if not self._pending:
                    return
                deadline = self._first_pending + BATCH_SECONDS
                while not (self._flush_now or self._closing):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                batch, self._pending = self._pending, {}
                self._inflight = dict(batch)
                self._flush_now = False
            encoded = []
            for key, item in batch.items():
                try:
                    encoded.append((key, item, encode_mask(item.mask), int(item.mask.sum())))
                except (ValueError, OSError, MemoryError) as exc:
                    self.errors.append(f"{self.photo_path(key)}: mask not saved ({exc})")
            with self._cond:
                try:
                    self._write_masks(encoded)
                except (sqlite3.Error, ReviewError) as exc:
                    self.errors.append(f"{self.path}: edited masks not saved ({exc})")
                self._inflight = {}
                self._cond.notify_all()

    def _write_masks(self, encoded: list[tuple[str, _PendingMask, bytes, int]]) -> None:
        # A newer save of the same photo does not void this one (it is written next, so
        # saves land in order and one at least lands each round); a reset does.
        current = [e for e in encoded if self._resets.get(e[0], 0) == e[1].epoch]
        if not current:
            return
        with self._transaction() as conn:
            for key, item, png, pixels in current:
                h, w = item.mask.shape
                conn.execute(
                    "INSERT OR REPLACE INTO masks (path, content_hash, width, height, "
                    "crack_pixels, png, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (key, item.content_hash, w, h, pixels, png, now_text()),
                )

    # ------------------------------------------------------------------ calibration
    def _calibration_rows(self) -> dict[str, Calibration]:
        if self._version < 2:
            return {}
        rows = self._query("SELECT scope, mm_per_px, method, reference_json, note FROM calibration")
        out = {}
        for r in rows:
            ref = json.loads(r["reference_json"]) if r["reference_json"] else None
            out[r["scope"]] = Calibration(r["mm_per_px"], r["method"], ref, r["note"])
        return out

    def _set_calibration(self, scope: str, calibration: Calibration | None) -> None:
        with self._transaction() as conn:
            if calibration is None:
                conn.execute("DELETE FROM calibration WHERE scope = ?", (scope,))
                return
            conn.execute(
                "INSERT OR REPLACE INTO calibration (scope, mm_per_px, method, reference_json, "
                "note, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    scope,
                    calibration.mm_per_px,
                    calibration.method,
                    json.dumps(calibration.reference) if calibration.reference else None,
                    calibration.note,
                    now_text(),
                ),
            )

    def folder_calibration(self) -> Calibration | None:
        """The folder's scale (photos without their own use it)."""
        return self._calibration_rows().get("")

    def set_folder_calibration(self, calibration: Calibration | None) -> None:
        self._set_calibration("", calibration)

    def photo_calibration(self, photo: str | Path) -> Calibration | None:
        """The photo's own scale (None: it uses the folder's)."""
        return self._calibration_rows().get(self.key(photo))

    def set_photo_calibration(self, photo: str | Path, calibration: Calibration | None) -> None:
        """Set or (with None) remove a photo's own scale."""
        self._set_calibration(self.key(photo), calibration)

    def photo_calibrations(self) -> dict[str, Calibration]:
        """Every photo's own scale, by key."""
        return {k: v for k, v in self._calibration_rows().items() if k}

    def calibration_for(self, photo: str | Path) -> tuple[Calibration | None, str]:
        """(scale, source) for a photo: source 'image', 'folder' or 'none'."""
        rows = self._calibration_rows()
        own = rows.get(self.key(photo))
        if own is not None:
            return own, "image"
        return (rows[""], "folder") if "" in rows else (None, "none")

    def calibrations(self) -> FolderCalibration:
        """Everything as the FolderCalibration of calibration.py (per-photo by file name)."""
        rows = dict(self._calibration_rows())
        default = rows.pop("", None)
        return FolderCalibration(self.folder, default, {Path(k).name: v for k, v in rows.items()})

    def _import_calibration_json(self) -> None:
        """Read the folder's old calibration.json once; the store is the source after."""
        path = calibration_path(self.folder)
        if self._meta(CALIBRATION_IMPORTED) or not path.is_file():
            return
        try:
            old = load_calibration(self.folder)
        except (FileProblem, CalibrationError) as exc:
            self.messages.append(f"{exc}; not imported into the inspection store")
            return
        with self._transaction() as conn:
            entries = [("", old.default)] if old.default else []
            entries += sorted(old.images.items())
            for scope, cal in entries:
                conn.execute(
                    "INSERT OR IGNORE INTO calibration (scope, mm_per_px, method, "
                    "reference_json, note, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        scope,
                        cal.mm_per_px,
                        cal.method,
                        json.dumps(cal.reference) if cal.reference else None,
                        cal.note,
                        now_text(),
                    ),
                )
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                (CALIBRATION_IMPORTED, f"{path} at {now_text()}"),
            )

    # ------------------------------------------------------------------ closing
    def close(self) -> None:
        """Commit pending masks, release the store. Safe to call twice."""
        with self._cond:
            if self._closed:
                return
            self._closing = True
            self._cond.notify_all()
        writer = self._writer
        if writer is not None:
            writer.join()
        with self._lock:
            self._closed = True
            if not self.read_only:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._conn.close()
            if self._store_lock is not None:
                self._store_lock.release()
        atexit.unregister(self.close)

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> InspectionStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(folder: str | Path) -> InspectionStore:
    """The folder's store for writing (read-only when another process has it)."""
    return InspectionStore(folder)


def open_existing_store(folder: str | Path) -> InspectionStore | None:
    """The folder's store read-only, or None when it has none; never creates anything."""
    folder = Path(folder)
    if not folder.is_dir() or location.existing_store(folder.resolve()) is None:
        return None
    return InspectionStore(folder, read_only=True)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    conn.row_factory = sqlite3.Row
    return conn


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A connection that cannot write. A WAL store on read-only media (a camera card)
    cannot make its shared-memory file, so it is opened as immutable there: nothing can
    be writing a medium this process cannot write either."""
    uri = path.resolve().as_uri()
    conn = sqlite3.connect(
        uri + "?mode=ro", uri=True, isolation_level=None, check_same_thread=False, timeout=10
    )
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError:
        conn.close()
        conn = sqlite3.connect(
            uri + "?mode=ro&immutable=1",
            uri=True,
            isolation_level=None,
            check_same_thread=False,
        )
    conn.row_factory = sqlite3.Row
    return conn


_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    """The file is damaged or not a database (not: locked, unreadable, out of space)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    text = str(exc)
    return "malformed" in text or "not a database" in text


def _damage(conn: sqlite3.Connection) -> str | None:
    """None for a sound database (or an empty new file), else what is wrong."""
    rows = conn.execute("PRAGMA quick_check").fetchall()
    results = [str(r[0]) for r in rows]
    if results == ["ok"]:
        return None
    return "; ".join(results[:3]) or "integrity check failed"


def _move_aside(path: Path) -> Path:
    """Rename a damaged store (and its journal files) to a free backup name."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 2
    while backup.exists():
        backup = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
        n += 1
    os.replace(path, backup)
    for suffix in ("-wal", "-shm", "-journal"):
        side = Path(f"{path}{suffix}")
        if side.exists():
            os.replace(side, Path(f"{backup}{suffix}"))
    return backup
