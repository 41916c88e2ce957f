"""Screenshots of the review loop: a mask being edited, and the review filter at work.

    .venv/bin/python scripts/screenshot_review.py [--out-dir DIR] [--readme docs/images/review.png]

Copies eight CrackForest photos (../shared/data/crackforest, never into the repo) into a
scratch folder, analyses them with the bundled model, reviews four of them through the
real keys and a real brush stroke (QTest mouse events on the viewer), and saves
`review_editing.png` (brush tool, outline cursor, edited mask) and `review_filter.png`
(the "Unreviewed" filter, review badges, "N of 8 reviewed") under --out-dir; the editing one
is also written to --readme (palette-reduced under 400 KB like scripts/screenshot.py).
Offscreen unless $DISPLAY is set; throw-away settings, cache and inspection store.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "crackforest" / "images"
PHOTOS = [f"{i:03d}.jpg" for i in (1, 2, 3, 4, 5, 6, 7, 8)]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out-dir", default=str(Path(tempfile.gettempdir()) / "review-shots"))
    p.add_argument("--readme", default=str(REPO / "docs" / "images" / "review.png"))
    p.add_argument("--size", default="1500x900")
    return p.parse_args()


def pump(app, seconds: float = 0.2) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def wait(app, condition, timeout_s: float = 600.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        app.processEvents()
        if condition():
            return True
        time.sleep(0.02)
    return False


def grab_png(window, path: Path, small: bool = False) -> None:
    from PySide6.QtCore import QBuffer, QIODevice

    from crackinspector.core.io.atomic import atomic_write_bytes

    pixmap = window.grab()
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    pixmap.save(buf, "PNG")
    data = bytes(buf.data().data())
    if small:
        sys.path.insert(0, str(REPO / "scripts"))
        from screenshot import small_png

        data = small_png(data)
    atomic_write_bytes(path, data)
    print(f"saved {path}: {pixmap.width()}x{pixmap.height()}, {len(data) // 1024} KB")


def main() -> int:
    args = parse_args()
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    scratch = Path(tempfile.mkdtemp(prefix="ci-review-shots-"))
    os.environ["CRACKINSPECTOR_SETTINGS"] = str(scratch / "settings.ini")
    os.environ["CRACKINSPECTOR_CACHE_DIR"] = str(scratch / "cache")
    folder = scratch / "bridge-deck"
    folder.mkdir()
    for name in PHOTOS:
        shutil.copy(DATA / name, folder / name)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtTest import QTest

    from crackinspector.core.model.registry import resolve
    from crackinspector.gui.app import dispose, make_app
    from crackinspector.gui.main_window import MainWindow

    app = make_app()
    window = MainWindow(model=resolve("unet-resnet34"))
    w, h = (int(v) for v in args.size.lower().split("x"))
    window.resize(w, h)
    window.show()
    window.resizeDocks([window.review.dock], [420], Qt.Orientation.Horizontal)
    window.open_path(folder)
    state, review = window.state, window.review
    review.open_details  # noqa: B018 - the dialog is not needed for the shot
    state.store.set_info(project="Bridge A7", element="Deck, span 2", inspector="R. K.")
    window.controller.analyse_all()
    ok = wait(app, lambda: not window.controller.busy and window.overlay.result is not None)
    wait(app, lambda: not window.measurements.busy())
    viewer = window.viewer

    def press(key) -> None:
        QTest.keyClick(viewer, key)
        pump(app, 0.1)

    press(Qt.Key.Key_A)  # 001 accepted
    press(Qt.Key.Key_N)
    press(Qt.Key.Key_F)  # 002 false alarm
    press(Qt.Key.Key_N)
    press(Qt.Key.Key_U)  # 003 follow-up with a note
    review.panel.note.setText("spalling next to the crack: check on site")
    review.save_note()
    press(Qt.Key.Key_N)  # 004: edit
    wait(app, lambda: review.session is not None and review.session.photo.name == "004.jpg")
    window.overlay.settle_now()
    viewer.set_zoom(1.6)
    viewer.centerOn(240, 160)
    pump(app, 0.3)
    press(Qt.Key.Key_E)
    review.tools.set_radius(4)
    vp = viewer.viewport()

    def at(x: float, y: float):
        return viewer.mapFromScene(QPointF(x, y))

    stroke = [(150 + 6 * i, 120 + 2.2 * i + 6 * ((i % 7) - 3) / 3) for i in range(30)]
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(*stroke[0]))
    for p in stroke[1:]:
        QTest.mouseMove(vp, at(*p))
        pump(app, 0.01)
    QTest.mouseRelease(
        vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(*stroke[-1])
    )
    QTest.mouseMove(vp, at(stroke[-1][0] + 25, stroke[-1][1] + 12))
    wait(app, lambda: not window.measurements.busy())
    pump(app, 0.5)
    grab_png(window, out / "review_editing.png")
    grab_png(window, Path(args.readme), small=True)

    press(Qt.Key.Key_V)
    viewer.fit()
    combo = review.panel.filter_combo
    combo.setCurrentIndex(combo.findData("unreviewed"))
    pump(app, 0.5)
    grab_png(window, out / "review_filter.png")
    print(f"analysed: {ok}; {state.review_summary().text()}; store {state.store.path}")
    dispose(window)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
