"""`python -m crackinspector.gui.training.screenshot OUT.png`: the chart window mid-run.

Trains a small real model on CrackForest photos (temporary runs and model folders, nothing
of the user's touched), waits until a few epochs are on the chart, saves a PNG of the run
window (atomically), then stops the run. Used for docs/images/training_chart.png.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path)
    p.add_argument("--data", type=Path, default=Path("../shared/data/crackforest"))
    p.add_argument("--pairs", type=int, default=12)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--shoot-after", type=int, default=5, help="epochs on the chart first")
    p.add_argument("--size", default="900x720")
    args = p.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    tmp = Path(tempfile.mkdtemp(prefix="crackinspector-shot-"))
    os.environ["CRACKINSPECTOR_RUNS_DIR"] = str(tmp / "runs")
    os.environ["CRACKINSPECTOR_MODELS_DIR"] = str(tmp / "models")
    images, masks = tmp / "data" / "images", tmp / "data" / "masks"
    images.mkdir(parents=True)
    masks.mkdir(parents=True)
    for src in sorted((args.data / "images").glob("*.jpg"))[: args.pairs]:
        shutil.copy(src, images)
        shutil.copy(args.data / "masks" / f"{src.stem}.png", masks)

    from PySide6.QtWidgets import QApplication

    from ..grab import save_widget_png
    from .manager import run_manager
    from .ui import TrainingUi

    app = QApplication.instance() or QApplication(sys.argv[:1])
    run = tmp / "runs" / "resnet18-crackforest"
    manager = run_manager()
    manager.start(run, [
        "--images", str(images), "--masks", str(masks), "--val-fraction", "0.25",
        "--encoder", "resnet18", "--init", "random", "--epochs", str(args.epochs),
        "--steps-per-epoch", "8", "--batch-size", "4", "--crop-size", "128",
        "--optimiser", "adamw", "--lr", "2e-3", "--log-every", "1",
        "--out", str(run), "--export-dir", str(tmp / "models"),
    ])  # fmt: skip
    monitor = TrainingUi(None, models_changed=lambda: None).open_monitor(run)
    w, h = (int(v) for v in args.size.split("x"))
    monitor.resize(w, h)
    while manager.is_running(run) and monitor.history.epochs_done < args.shoot_after:
        app.processEvents()
        time.sleep(0.05)
    for _ in range(20):  # let the last step arrive and paint
        app.processEvents()
        time.sleep(0.05)
    pixmap = save_widget_png(monitor, args.out)
    kb = Path(args.out).stat().st_size // 1024
    print(f"saved {args.out} ({pixmap.width()}x{pixmap.height()}, {kb} KB)")
    manager.stop(run)
    while manager.is_running(run):
        app.processEvents()
        time.sleep(0.05)
    monitor.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
