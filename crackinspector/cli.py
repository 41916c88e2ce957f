"""One entry point: the GUI by default, sub-commands for headless work.

`crackinspector`                 opens the main window
`crackinspector PATH`            opens the main window on a folder or image
`crackinspector predict ...`     and the other sub-commands below run without Qt
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from crackinspector import __version__
from crackinspector.core.errors import CrackInspectorError

# sub-command name -> module in crackinspector.commands with add_parser(subparsers) and run(args)
COMMANDS = {
    "predict": "predict",
    "export": "export",
    "evaluate": "evaluate",
    "models": "models",
    "doctor": "doctor",
    "review": "review",
    "merge": "merge",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crackinspector",
        description="Find, measure and report cracks in photos. "
        "Without a sub-command, opens the application.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS.values():
        importlib.import_module(f"crackinspector.commands.{module}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Anything that is not a sub-command (a path, --screenshot FILE, --model M ...) is the
    # GUI's; only the top-level help and version go to the sub-command parser.
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version")):
        if argv and not argv[0].startswith("-") and not Path(argv[0]).expanduser().exists():
            print(f"crackinspector: error: {unknown_command(argv[0])}", file=sys.stderr)
            return 2
        return start_gui(argv)
    args = build_parser().parse_args(argv)
    if args.command is None:
        build_parser().print_help()
        return 0
    try:
        return int(args.run(args) or 0)
    except CrackInspectorError as exc:
        print(f"crackinspector: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("crackinspector: interrupted", file=sys.stderr)
        return 130


def unknown_command(word: str) -> str:
    """One line for an argument that is neither a command nor an existing path."""
    close = difflib.get_close_matches(word.lower(), list(COMMANDS), n=1, cutoff=0.6)
    hint = f"did you mean 'crackinspector {close[0]}'?" if close else "see crackinspector --help"
    return (
        f"{word!r} is neither a command ({', '.join(COMMANDS)}) nor an existing file or "
        f"folder; {hint}"
    )


def start_gui(argv: list[str]) -> int:
    """The application, unless Qt cannot open a window here: then one line saying why
    (missing system libraries, no display) instead of Qt's abort and core dump."""
    from crackinspector.qtcheck import gui_problem

    problem = gui_problem()
    if problem:
        print(f"crackinspector: {problem}", file=sys.stderr)
        return 1
    from crackinspector.gui.app import run_gui

    return run_gui(argv)


if __name__ == "__main__":
    sys.exit(main())
