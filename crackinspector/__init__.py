"""CrackInspector: find, measure and report cracks in photos of concrete, pavement and masonry."""

__version__ = "0.1.0"
