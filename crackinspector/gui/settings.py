"""QSettings behind the typed schema of core.settings.

INI format everywhere (readable, diffable); $CRACKINSPECTOR_SETTINGS points at a specific
file, which is how tests keep away from the user's real settings.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QByteArray, QSettings

from crackinspector.core import settings as schema

ORGANISATION = "CrackInspector"
APPLICATION = "CrackInspector"


def open_qsettings() -> QSettings:
    override = schema.settings_file_override()
    if override is not None:
        override.parent.mkdir(parents=True, exist_ok=True)
        return QSettings(str(override), QSettings.Format.IniFormat)
    return QSettings(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANISATION, APPLICATION
    )


class AppSettings:
    """Typed get/set for the keys declared in core.settings.SCHEMA."""

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.q = qsettings if qsettings is not None else open_qsettings()

    def get(self, key: str) -> Any:
        raw = self.q.value(key)
        if isinstance(raw, QByteArray):
            raw = bytes(raw.data())
        return schema.coerce(key, raw)

    def set(self, key: str, value: Any) -> None:
        if key not in schema.SCHEMA:
            raise KeyError(key)
        kind = schema.SCHEMA[key].kind
        if kind == "bytes":
            value = QByteArray(bytes(value))
        elif kind == "optional_float" and value is None:
            value = ""
        elif kind == "list":
            value = [str(v) for v in value]
        self.q.setValue(key, value)

    def push_recent_folder(self, folder: str) -> list[str]:
        recent = schema.push_recent(self.get("folders/recent"), folder)
        self.set("folders/recent", recent)
        self.set("folders/last", recent[0])
        return recent

    def sync(self) -> None:
        self.q.sync()
