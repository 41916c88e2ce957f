"""Inputs of the width benchmark: synthetic cracks of known width, the labelled sets, and the
model's probability maps cached on disk (see bench_width.py).

Synthetic cracks: a crack's coverage of each pixel (anti-aliased: 1 inside, 0 outside, the
covered fraction on its border) for a centre line and a width, darkening a real crack-free
texture (negatives: gravel, concrete plates, plain paving) multiplicatively by 45-70 %, with the
darkening blurred by the lens (Gaussian, sigma 0.8 px), grey-level noise (sigma 3) and JPEG
quality 90. Shapes: straight (any angle), curved (a circular arc) and branched (a Y).
Rendering is deterministic for a (shape, width, seed).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("CRACKINSPECTOR_SHARED_DATA", REPO.parent / "shared" / "data"))
CACHE = REPO / "scratch" / "width_cache"
RENDER_VERSION = 2  # bump when the synthetic rendering changes: the cache key holds it
SIZE = 320
TEXTURE_PICKS = (
    ("gravel", 0), ("concrete-plates", 0), ("paving-stones", 3),
    ("gravel", 2), ("concrete-plates", 1), ("paving-stones", 8),
)  # fmt: skip
SHAPES = ("straight", "curved", "branched")
WIDTHS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15)


@dataclass(frozen=True)
class Sample:
    """One photo with its ground truth. `width` is the true width (synthetic only)."""

    set: str
    stem: str
    image: np.ndarray  # RGB uint8
    truth: np.ndarray  # bool mask
    width: float | None = None
    shape: str = ""


# ------------------------------------------------------------------ synthetic cracks


def _polyline_distance(points: np.ndarray, h: int, w: int) -> np.ndarray:
    """Distance from every pixel centre to a polyline (float32 HxW)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    best = np.full((h, w), np.inf, np.float32)
    for a, b in itertools.pairwise(points.astype(np.float32)):
        d = b - a
        t = np.clip(((xx - a[0]) * d[0] + (yy - a[1]) * d[1]) / max(float(d @ d), 1e-9), 0, 1)
        np.minimum(best, np.hypot(xx - a[0] - t * d[0], yy - a[1] - t * d[1]), out=best)
    return best


def centre_lines(shape: str, rng: np.random.Generator) -> list[np.ndarray]:
    """Centre lines (x, y) in a SIZE x SIZE photo; ends at least 40 px inside the photo."""
    c = SIZE / 2
    if shape == "straight":
        a = rng.uniform(0, math.pi)
        r = rng.uniform(100, 120)
        u = np.array([math.cos(a), math.sin(a)])
        return [np.array([c - r * u, c + r * u])]
    if shape == "curved":
        radius = rng.uniform(110, 180)
        a0 = rng.uniform(0, 2 * math.pi)
        span = 200 / radius
        t = np.linspace(a0, a0 + span, 80)
        mid = a0 + span / 2
        centre = np.array([c - radius * math.cos(mid), c - radius * math.sin(mid)])
        return [np.stack([centre[0] + radius * np.cos(t), centre[1] + radius * np.sin(t)], 1)]
    if shape == "branched":
        a = rng.uniform(0, 2 * math.pi)
        arm = [np.array([math.cos(a + k * 2.2), math.sin(a + k * 2.2)]) for k in (0, 1, 2)]
        hub = np.array([c, c]) + rng.uniform(-10, 10, 2)
        main = np.array([hub + 115 * arm[0], hub, hub + 115 * arm[1]])
        return [main, np.array([hub, hub + 100 * arm[2]])]
    raise ValueError(shape)


def render(
    texture: np.ndarray, shape: str, width: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(RGB uint8 photo, bool truth mask) of one synthetic crack on `texture`."""
    rng = np.random.default_rng(seed)
    lines = centre_lines(shape, rng)
    dist = np.min([_polyline_distance(p, SIZE, SIZE) for p in lines], axis=0)
    cover = np.clip(width / 2 - dist + 0.5, 0.0, 1.0)  # anti-aliased coverage
    depth = rng.uniform(0.45, 0.7)
    dark = cv2.GaussianBlur(cover, (0, 0), 0.8) * depth
    img = texture.astype(np.float32) * (1.0 - dark[..., None])
    img += rng.normal(0, 3.0, img.shape).astype(np.float32)
    img = np.clip(img, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    img = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].copy()
    return img, dist <= width / 2


def textures(n: int) -> list[np.ndarray]:
    """`n` crack-free textures, SIZE x SIZE (centre crop, resized), cycling TEXTURE_PICKS:
    (class, position among that class's negatives at least 256 px on a side), chosen by eye
    as plain surfaces like concrete and asphalt (gravel reads like asphalt), without the
    joint grids that the other negatives are made of."""
    folder = SHARED / "negatives" / "images"
    pools: dict[str, list[Path]] = {}
    out: list[np.ndarray] = []
    for cls, k in itertools.islice(itertools.cycle(TEXTURE_PICKS), n):
        if cls not in pools:
            pools[cls] = [
                f
                for f in sorted(folder.glob(f"pavements__{cls}__*.jpg"))
                if min(cv2.imread(str(f)).shape[:2]) >= 256
            ]
        img = cv2.imread(str(pools[cls][k]))
        h, w = img.shape[:2]
        s = min(h, w)
        crop = img[(h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
        out.append(cv2.resize(crop, (SIZE, SIZE), interpolation=cv2.INTER_AREA)[..., ::-1].copy())
    return out


def synthetic(seeds: int = 2) -> Iterator[Sample]:
    """Every shape x width x seed; the texture changes with the seed and the shape."""
    tex = textures(len(SHAPES) * seeds)
    for (si, shape), width, seed in itertools.product(enumerate(SHAPES), WIDTHS, range(seeds)):
        image, truth = render(tex[si * seeds + seed], shape, width, 1000 * si + 17 * width + seed)
        yield Sample("synthetic", f"{shape}-w{width:02d}-s{seed}", image, truth, width, shape)


# ------------------------------------------------------------------ labelled sets


def _read_rgb(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise OSError(f"{path}: cannot be read")
    return img[..., ::-1].copy()


def labelled(name: str) -> Iterator[Sample]:
    """CrackForest test, uav75 val, masonry (all): photos and truth masks."""
    root = SHARED / name
    if name == "crackforest":
        stems = json.loads((root / "split.json").read_text())["test"]
    elif name == "uav75":
        stems = json.loads((root / "split.json").read_text())["val"]
    else:  # masonry: every MASONRY_EVERY-th of the 192 crops keeps the model's CPU time down
        stems = sorted(p.stem for p in (root / "masks").glob("*.png"))[::MASONRY_EVERY]
    for stem in stems:
        stem = Path(stem).stem
        image = next(iter(sorted((root / "images").glob(f"{stem}.*"))))
        mask = cv2.imread(str(root / "masks" / f"{stem}.png"), cv2.IMREAD_GRAYSCALE)
        yield Sample(name, stem, _read_rgb(image), mask > 127)


LABELLED_SETS = ("crackforest", "masonry", "uav75")
MASONRY_EVERY = 4


# ------------------------------------------------------------------ cached model output


def model_key(model: str) -> str:
    from crackinspector.core.model.registry import resolve

    return resolve(model).identity.replace("@", "-").replace("#", "-")


class ProbabilityCache:
    """The model's probability maps as 16-bit PNGs under scratch/width_cache/<model>/<set>/.

    A synthetic photo's file name holds RENDER_VERSION; a retrained model has another key.
    """

    def __init__(self, model: str) -> None:
        self.model = model
        self.folder = CACHE / model_key(model)
        self._predictor = None
        self.predicted = 0

    def _path(self, sample: Sample) -> Path:
        tag = f"r{RENDER_VERSION}-" if sample.set == "synthetic" else ""
        digest = hashlib.sha1(sample.image.tobytes()).hexdigest()[:10]
        return self.folder / sample.set / f"{tag}{sample.stem}-{digest}.png"

    def probability(self, sample: Sample) -> np.ndarray:
        path = self._path(sample)
        cached = cv2.imread(str(path), cv2.IMREAD_UNCHANGED) if path.exists() else None
        if cached is not None and cached.shape == sample.image.shape[:2]:
            return cached.astype(np.float32) / 65535.0
        if self._predictor is None:
            from crackinspector.core.infer.predictor import Predictor

            self._predictor = Predictor(self.model)
        prob = self._predictor.predict(sample.image)
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), np.round(prob * 65535.0).astype(np.uint16))
        self.predicted += 1
        return prob


if __name__ == "__main__":  # fill the cache: python benchmarks/bench_width_data.py [sets...]
    import time

    model = os.environ.get("BENCH_MODEL", "unet-resnet34")
    cache = ProbabilityCache(model)
    for name in sys.argv[1:] or ["synthetic", *LABELLED_SETS]:
        t = time.perf_counter()
        samples = synthetic() if name == "synthetic" else labelled(name)
        n = sum(1 for s in samples if cache.probability(s) is not None)
        print(f"{name}: {n} maps, {cache.predicted} predicted, {time.perf_counter() - t:.0f} s")
