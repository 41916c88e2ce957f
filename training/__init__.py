"""Training pipeline for CrackInspector models. Never imports Qt."""
