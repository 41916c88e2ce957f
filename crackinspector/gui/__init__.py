"""The Qt application. Only this package imports PySide6."""
