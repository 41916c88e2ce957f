"""Everything that works without Qt. Nothing in this package may import PySide6."""
