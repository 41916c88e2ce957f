"""Save a screenshot of the main window analysing a bundled sample, for the README.

    .venv/bin/python scripts/screenshot.py [--out docs/images/screenshot.png] [--model NAME]

Uses the bundled unet-resnet34 when it exists, else a small randomly initialised model
(whose "cracks" are noise: re-run once the bundled model is there). Runs offscreen unless
$DISPLAY is set (e.g. under xvfb-run), with throw-away settings and cache so nothing of
the user's is read or changed. The PNG is palette-reduced if needed to stay under 400 KB.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LIMIT_BYTES = 400_000


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(REPO / "docs" / "images" / "screenshot.png"))
    p.add_argument("--model", help="model name or weights path (default: bundled, else tiny)")
    p.add_argument("--image", default="cfd_101.jpg", help="sample to show (in resources/samples)")
    p.add_argument("--size", default="1440x900")
    p.add_argument("--compare", type=float, default=0.42, help="swipe divider position, 0 = off")
    return p.parse_args()


def pick_model(requested: str | None, scratch: Path):
    from crackinspector.core.model.registry import list_models, resolve

    if requested:
        return resolve(Path(requested).stem if Path(requested).suffix else requested)
    bundled = {m.name: m for m in list_models() if m.source == "bundled"}
    if "unet-resnet34" in bundled:
        return bundled["unet-resnet34"]
    if bundled:
        return next(iter(bundled.values()))
    sys.path.insert(0, str(REPO / "tests"))  # the test-only factory of the tiny model
    from model_factory import save_untrained_model

    return save_untrained_model(scratch / "models")


def small_png(png: bytes) -> bytes:
    """The PNG as is if small enough, else palette-reduced (octree keeps small, rare UI
    colours such as the status badges; median cut merges them into grey)."""
    print(f"raw PNG {len(png) // 1024} KB")
    if len(png) <= LIMIT_BYTES:
        return png
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    for colors in (256, 192, 128):
        buf = io.BytesIO()
        reduced = image.quantize(
            colors=colors, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
        )
        reduced.save(buf, format="PNG", optimize=True)
        if buf.tell() <= LIMIT_BYTES:
            break
    return buf.getvalue()


def show_measurements(window, app, timeout_s: float = 120.0) -> None:
    """Wait for the measurements panel to fill, then select the longest crack so the
    screenshot shows its highlight in the viewer."""
    import time

    panel = getattr(window, "measure_panel", None)
    if panel is None or window.overlay.result is None:
        return
    deadline = time.monotonic() + timeout_s
    while panel.measurement is None and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.02)
    m = panel.measurement
    if m is not None and m.n_cracks:
        panel.select_crack(max(range(m.n_cracks), key=lambda i: m.cracks[i].length_px))
    for _ in range(20):
        app.processEvents()


def main() -> int:
    args = parse_args()
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    scratch = Path(tempfile.mkdtemp(prefix="ci-screenshot-"))
    os.environ["CRACKINSPECTOR_SETTINGS"] = str(scratch / "settings.ini")
    os.environ["CRACKINSPECTOR_CACHE_DIR"] = str(scratch / "cache")
    if args.model and Path(args.model).suffix in (".safetensors", ".json"):
        # A model file (e.g. a fresh export not bundled yet) is listed like a user model, so
        # the picker shows its plain name.
        import shutil

        models = scratch / "user-models"
        models.mkdir()
        for suffix in (".safetensors", ".json"):
            shutil.copy(Path(args.model).with_suffix(suffix), models)
        os.environ["CRACKINSPECTOR_MODELS_DIR"] = str(models)

    from crackinspector.resources import resource_dir
    from PySide6.QtCore import QBuffer, QIODevice

    from crackinspector.core.io.atomic import atomic_write_bytes
    from crackinspector.gui.app import dispose, make_app, wait_for_current_result
    from crackinspector.gui.main_window import MainWindow

    app = make_app()
    model = pick_model(args.model, scratch)
    window = MainWindow(model=model)
    w, h = (int(v) for v in args.size.lower().split("x"))
    window.resize(w, h)
    window.open_path(resource_dir("samples") / args.image)
    window.layers_panel.checks["outlines"].setChecked(True)
    window.show()
    ok = wait_for_current_result(window)
    if ok and args.compare > 0:
        window.layers_panel.compare_check.setChecked(True)
        window.viewer.set_divider(args.compare)
    window.overlay.settle_now()
    for _ in range(20):
        app.processEvents()
    show_measurements(window, app)
    pixmap = window.grab()
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    pixmap.save(buf, "PNG")
    data = small_png(bytes(buf.data().data()))
    atomic_write_bytes(args.out, data)
    print(
        f"saved {args.out}: {pixmap.width()}x{pixmap.height()}, {len(data) // 1024} KB, "
        f"model {model.name} ({window.controller.model_description}), analysed: {ok}"
    )
    dispose(window)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
