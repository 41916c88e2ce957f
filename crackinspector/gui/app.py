"""Qt application start-up: `crackinspector [PATH] [--model M] [--screenshot FILE]`.

Opens PATH (folder or image), else the last folder, else the bundled samples. With
`--screenshot FILE` the window analyses the first image, saves a PNG of itself and quits
(used by scripts/screenshot.py for the README).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from crackinspector import __version__


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="crackinspector", description="CrackInspector application")
    p.add_argument("path", nargs="?", help="folder of photos or one photo to open")
    p.add_argument("--model", help="model name or .safetensors path (default: last used)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), help="inference device")
    p.add_argument("--screenshot", metavar="FILE", help="save a PNG of the window and quit")
    p.add_argument("--size", default="1440x900", help="window size for --screenshot (WxH)")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return p


def start_path(requested: str | None, last_folder: str) -> Path:
    """What to open: the argument, else the last folder if it still exists, else samples."""
    from crackinspector.resources import resource_dir

    if requested:
        return Path(requested).expanduser()
    if last_folder and Path(last_folder).is_dir():
        return Path(last_folder)
    return resource_dir("samples")


def make_app():
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else "crackinspector"])
    app.setApplicationName("CrackInspector")
    app.setOrganizationName("CrackInspector")
    app.setApplicationVersion(__version__)
    import qtawesome as qta

    app.setWindowIcon(qta.icon("mdi6.magnify-scan", color="#d0304f"))
    return app


def run_gui(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    app = make_app()
    from .main_window import MainWindow

    window = MainWindow(model=args.model, device=args.device)
    if args.screenshot:
        w, h = (int(v) for v in args.size.lower().split("x"))
        window.resize(w, h)
    window.open_path(start_path(args.path, window.settings.get("folders/last")))
    window.show()
    code = take_screenshot(window, Path(args.screenshot)) if args.screenshot else app.exec()
    dispose(window)
    return code


def dispose(window) -> None:
    """Close and delete the window now, while Qt and Python are both fully alive.

    Leaving windows to interpreter shutdown lets Python and Qt tear objects down in an
    arbitrary order (seen once as a refcount abort at exit after a long benchmark).
    """
    import gc

    from PySide6.QtWidgets import QApplication

    window.close()  # idempotent: joins the worker threads and saves settings
    window.deleteLater()
    QApplication.sendPostedEvents(None, 0)  # 0 = QEvent.DeferredDelete
    QApplication.processEvents()
    gc.collect()


def wait_for_current_result(window, timeout_s: float = 600.0) -> bool:
    """Process events until the image on screen is analysed and measured, or failed (or
    there is no model)."""
    from PySide6.QtWidgets import QApplication

    from .results import Status

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        QApplication.processEvents()
        c, path = window.controller, window.state.current
        if path is None or c.model is None or c.model_ready_state == "failed":
            return False
        photo_ready = window.photo_shown() == path
        if photo_ready and c.status(path) == Status.FAILED:
            return True
        measured = window.measurements.measurement(path) is not None
        if photo_ready and window.overlay.result is not None and measured:
            return True
        time.sleep(0.02)
    return False


def take_screenshot(window, out: Path) -> int:
    """Wait for the first analysis, then save the window as PNG (atomically) and close."""
    from PySide6.QtWidgets import QApplication

    from .grab import save_widget_png

    ok = wait_for_current_result(window)
    window.overlay.settle_now()
    for _ in range(10):
        QApplication.processEvents()
        time.sleep(0.02)
    pixmap = save_widget_png(window, out)
    print(f"saved {out} ({pixmap.width()}x{pixmap.height()}, analysed: {ok})")
    window.close()
    return 0 if ok else 1
