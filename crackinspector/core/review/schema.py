"""The store's tables, and the steps that bring an older store up to date.

`PRAGMA user_version` holds the schema version. MIGRATIONS[i] takes a store from version
i to i + 1; a new store runs them all. Add a step, never edit one that shipped.
"""

from __future__ import annotations

import sqlite3

_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE inspection (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    project TEXT NOT NULL DEFAULT '',
    element TEXT NOT NULL DEFAULT '',
    location TEXT NOT NULL DEFAULT '',
    inspector TEXT NOT NULL DEFAULT '',
    date TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '',
    updated_at TEXT
);
INSERT INTO inspection (id) VALUES (1);
CREATE TABLE photos (
    path TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    file_size INTEGER,
    file_mtime_ns INTEGER,
    status TEXT NOT NULL DEFAULT 'unreviewed'
        CHECK (status IN ('unreviewed', 'accepted', 'false_alarm', 'corrected', 'follow_up')),
    reviewer TEXT NOT NULL DEFAULT '',
    reviewed_at TEXT,
    note TEXT NOT NULL DEFAULT '',
    model TEXT,
    threshold REAL,
    updated_at TEXT NOT NULL
);
CREATE TABLE masks (
    path TEXT PRIMARY KEY REFERENCES photos(path) ON DELETE CASCADE,
    content_hash TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    crack_pixels INTEGER NOT NULL,
    png BLOB NOT NULL,
    updated_at TEXT NOT NULL
);
"""

# Version 2: calibration moves in from calibration.json; the severity table per inspection.
_V2 = """
ALTER TABLE inspection ADD COLUMN severity_json TEXT;
CREATE TABLE calibration (
    scope TEXT PRIMARY KEY,  -- '' for the folder, else the photo's key
    mm_per_px REAL NOT NULL CHECK (mm_per_px > 0),
    method TEXT NOT NULL,
    reference_json TEXT,
    note TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL
);
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V2)
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Run the missing steps, each in its own transaction; returns the version reached.

    `conn` must be in autocommit mode (isolation_level=None).
    """
    version = schema_version(conn)
    while version < target:
        script = MIGRATIONS[version]
        version += 1
        try:
            conn.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {version};")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return version
