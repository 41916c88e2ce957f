"""Model files and the registry of bundled and user models.

A model is a pair in one folder: `<name>.safetensors` (weights) and `<name>.json` (its card).
Loading never unpickles: weights come from safetensors, and legacy PyTorch checkpoints are
imported with `torch.load(weights_only=True)` only.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from crackinspector.core.errors import ModelError
from crackinspector.core.io.atomic import atomic_path
from crackinspector.core.io.paths import user_folder
from crackinspector.core.model.card import ModelCard

ENV_MODELS_DIR = "CRACKINSPECTOR_MODELS_DIR"
ALIASES = {"resnet34": "unet-resnet34", "vgg16": "unet-vgg16"}
DEFAULT_MODEL = "unet-resnet34"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class ModelInfo:
    """A model found on disk: where it is, what its card says, and where it came from."""

    name: str
    weights_path: Path
    card: ModelCard
    source: str  # "bundled", "user" or "file"

    @property
    def card_path(self) -> Path:
        return self.weights_path.with_suffix(".json")

    @property
    def identity(self) -> str:
        """Stable key for caches: changes whenever the weights or the card change."""
        return f"{self.name}@{self.card.version}#{weights_digest(self.weights_path)[:16]}"


def bundled_models_dir() -> Path:
    from crackinspector.resources import resource_dir

    return resource_dir("models")


def user_models_dir() -> Path:
    """Per-user model folder: $CRACKINSPECTOR_MODELS_DIR, else the platform's data folder."""
    override = os.environ.get(ENV_MODELS_DIR)
    return Path(override) if override else user_folder("data") / "models"


_digest_cache: dict[tuple[str, int, int], str] = {}


def weights_digest(path: Path) -> str:
    """SHA-256 of a weights file, cached by path, size and modification time."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _digest_cache:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        _digest_cache[key] = h.hexdigest()
    return _digest_cache[key]


def _scan(folder: Path, source: str) -> list[ModelInfo]:
    found = []
    if not folder.is_dir():
        return found
    for weights in sorted(folder.glob("*.safetensors")):
        try:
            card = ModelCard.load(weights.with_suffix(".json"))
        except ModelError:
            continue  # a half-copied model is skipped in listings; `resolve` explains it
        found.append(ModelInfo(weights.stem, weights, card, source))
    return found


def list_models() -> list[ModelInfo]:
    """Bundled models first, then the user's; a user model never hides a bundled one."""
    bundled = _scan(bundled_models_dir(), "bundled")
    names = {m.name for m in bundled}
    return bundled + [m for m in _scan(user_models_dir(), "user") if m.name not in names]


def resolve(name_or_path: str | Path | ModelInfo | None = None) -> ModelInfo:
    """A model by registry name, alias, or a path to its `.safetensors` or `.json` file."""
    if isinstance(name_or_path, ModelInfo):
        return name_or_path
    if name_or_path is None or name_or_path == "":
        name_or_path = DEFAULT_MODEL
    text = str(name_or_path)
    path = Path(text)
    if path.suffix in (".safetensors", ".json") or os.sep in text or path.exists():
        weights = path.with_suffix(".safetensors")
        if not weights.exists():
            raise ModelError(weights, "model weights not found")
        return ModelInfo(
            weights.stem, weights, ModelCard.load(weights.with_suffix(".json")), "file"
        )
    name = ALIASES.get(text, text)
    for folder, source in ((bundled_models_dir(), "bundled"), (user_models_dir(), "user")):
        weights = folder / f"{name}.safetensors"
        if weights.exists():
            return ModelInfo(name, weights, ModelCard.load(weights.with_suffix(".json")), source)
    known = ", ".join(m.name for m in list_models()) or "none"
    raise ModelError(name, f"no such model (known: {known})")


def build_model(card: ModelCard) -> torch.nn.Module:
    """An untrained network of the card's architecture; never downloads anything."""
    import segmentation_models_pytorch as smp

    try:
        return smp.Unet(
            encoder_name=card.encoder,
            encoder_weights=None,
            in_channels=card.in_channels,
            classes=card.classes,
            decoder_channels=list(card.decoder_channels),
        )
    except (KeyError, ValueError) as exc:
        raise ModelError(card.name, f"cannot build encoder {card.encoder!r}: {exc}") from None


def load_state_dict(weights_path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not weights_path.exists():
        raise ModelError(weights_path, "model weights not found")
    try:
        return load_file(str(weights_path))
    except (SafetensorError, OSError, RuntimeError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelError(weights_path, f"corrupt or truncated weights file ({reason})") from None


def apply_state_dict(model: torch.nn.Module, state: dict[str, torch.Tensor], source: Path) -> None:
    """Load weights into `model`, or explain in one line why they do not fit."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    mismatched = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or mismatched:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]})")
        if mismatched:
            parts.append(f"{len(mismatched)} of another shape (e.g. {mismatched[0]})")
        raise ModelError(source, "weights do not fit the architecture: " + "; ".join(parts))
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()})


def load_model(info: ModelInfo | str | Path, device: torch.device | str = "cpu") -> torch.nn.Module:
    """The network with its weights, in eval mode and float32, on `device`."""
    info = resolve(info)
    model = build_model(info.card)
    apply_state_dict(model, load_state_dict(info.weights_path), info.weights_path)
    return model.float().eval().to(device)


def save_model(
    model: torch.nn.Module, card: ModelCard, folder: str | Path, dtype: torch.dtype = torch.float16
) -> ModelInfo:
    """Write `<folder>/<card.name>.safetensors` and `.json` atomically; returns the new entry."""
    from safetensors.torch import save_file

    if not _NAME_RE.match(card.name):
        raise ModelError(card.name, "model names use letters, digits, '.', '_' and '-' only")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {
        k: (v.detach().to("cpu", dtype) if v.is_floating_point() else v.detach().cpu()).contiguous()
        for k, v in model.state_dict().items()
    }
    card.weights_dtype = str(dtype).removeprefix("torch.")
    weights = folder / f"{card.name}.safetensors"
    with atomic_path(weights) as tmp:
        save_file(state, str(tmp), metadata={"name": card.name, "encoder": card.encoder})
    card.save(weights.with_suffix(".json"))
    return ModelInfo(card.name, weights, card, "file")


def _extract_state_dict(obj: object, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(obj, dict) and "model" in obj and isinstance(obj["model"], dict):
        obj = obj["model"]
    elif isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if (
        not isinstance(obj, dict)
        or not obj
        or not all(isinstance(v, torch.Tensor) for v in obj.values())
    ):
        raise ModelError(path, "not a state dict (nor a dict holding one under 'model')")
    return {k.removeprefix("module."): v for k, v in obj.items()}


def import_checkpoint(
    checkpoint: str | Path,
    encoder: str,
    name: str | None = None,
    folder: str | Path | None = None,
    threshold: float = 0.5,
) -> ModelInfo:
    """Convert a legacy PyTorch checkpoint into a model pair in the user's model folder."""
    path = Path(checkpoint)
    if not path.exists():
        raise ModelError(path, "file not found")
    if path.stat().st_size == 0:
        raise ModelError(path, "file is empty")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for bad pickles and zip files
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise ModelError(path, f"cannot read checkpoint safely ({reason})") from None
    state = _extract_state_dict(obj, path)
    card = ModelCard(
        name=name or f"{path.stem}-{encoder}",
        encoder=encoder,
        threshold=threshold,
        description=f"Imported from {path.name}",
        training={"imported_from": path.name},
    )
    model = build_model(card)
    apply_state_dict(model, state, path)
    return save_model(model, card, folder or user_models_dir())


def save_untrained_model(
    folder: str | Path,
    name: str = "tiny-resnet18",
    seed: int = 0,
    description: str = "randomly initialised; for tests, benchmarks and screenshots",
) -> ModelInfo:
    """A small, randomly initialised U-Net saved as a real model pair: it exercises every
    code path a trained model does (its maps are noise), in a fraction of the time."""
    torch.manual_seed(seed)
    card = ModelCard(
        name=name,
        encoder="resnet18",
        decoder_channels=(32, 16, 16, 8, 8),
        tile_size=128,
        description=description,
    )
    return save_model(build_model(card), card, folder, dtype=torch.float32)
