"""Headless sub-commands of `crackinspector`; each module has `add_parser` and `run`."""
