"""One entry point: the GUI by default, sub-commands for headless work.

`crackinspector`                 opens the main window
`crackinspector PATH`            opens the main window on a folder or image
`crackinspector predict ...`     and the other sub-commands below run without Qt
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from crackinspector import __version__
from crackinspector.core.errors import CrackInspectorError

# sub-command name -> module in crackinspector.commands with add_parser(subparsers) and run(args)
COMMANDS = {
    "predict": "predict",
    "export": "export",
    "evaluate": "evaluate",
    "models": "models",
    "review": "review",
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
        from crackinspector.gui.app import run_gui

        return run_gui(argv)
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


if __name__ == "__main__":
    sys.exit(main())
