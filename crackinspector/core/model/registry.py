"""Model files and the registry of bundled and user models.

A model is a pair in one folder: `<name>.safetensors` (weights) and `<name>.json` (its card).
Loading never unpickles: weights come from safetensors, and legacy PyTorch checkpoints are
imported with `torch.load(weights_only=True)` only.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from crackinspector.core.errors import ModelError
from crackinspector.core.io.atomic import atomic_path
from crackinspector.core.io.paths import user_folder
from crackinspector.core.model.card import ModelCard
from crackinspector.core.model.legacy import (
    LEGACY_ARCHITECTURES,
    LEGACY_THRESHOLD,
    LEGACY_TILE,
    SCRIPT_MODELS,
    build_legacy,
    detect_script_model,
    shared_keys,
)

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
    # resources/ ships as crackinspector.resources (setuptools package-dir), which mypy
    # cannot see from the source tree; importing it by name keeps the check honest elsewhere
    resources = importlib.import_module("crackinspector.resources")
    return Path(resources.resource_dir("models"))


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
    found: list[ModelInfo] = []
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


def unusable_models() -> list[str]:
    """One line per model file in the bundled and user folders that `list_models` skips
    because its card is missing or invalid: "path: reason"."""
    problems = []
    for folder in (bundled_models_dir(), user_models_dir()):
        for weights in sorted(folder.glob("*.safetensors")) if folder.is_dir() else []:
            try:
                ModelCard.load(weights.with_suffix(".json"))
            except ModelError as exc:
                problems.append(str(exc))
    return problems


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
    if card.architecture in LEGACY_ARCHITECTURES:
        try:
            return build_legacy(card.architecture, card.encoder, card.classes)
        except ValueError as exc:
            raise ModelError(card.name, str(exc)) from None
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
    """Load weights into `model`, or explain in one line why they do not fit.

    A key naming a tensor the model shares with an earlier key (the research networks'
    stages) may be absent: saved models keep one copy (see `save_model`)."""
    own = model.state_dict()
    aliases = shared_keys(model)
    state = dict(state)
    for key, first in aliases.items():
        if key not in state and first in state:
            state[key] = state[first]
        elif first not in state and key in state:
            state[first] = state[key]
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
    state = {k: _stored(v, dtype) for k, v in model.state_dict().items()}
    for alias in shared_keys(model):  # one copy of a shared tensor (safetensors insists)
        del state[alias]
    card.weights_dtype = str(dtype).removeprefix("torch.")
    card.validate(folder / f"{card.name}.json")
    weights = folder / f"{card.name}.safetensors"
    meta = {"name": card.name, "encoder": card.encoder, "architecture": card.architecture}
    with atomic_path(weights) as tmp:
        save_file(state, str(tmp), metadata=meta)
        # safetensors writes a fresh file of its own with mode 0600: give the weights the
        # permissions the card beside them gets (a plain open() under the user's umask)
        os.chmod(tmp, _plain_file_mode())
    card.save(weights.with_suffix(".json"))
    return ModelInfo(card.name, weights, card, "file")


def _stored(tensor: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """`tensor` as saved: floating point in `dtype`, except where a value lies beyond
    `dtype`'s range (a batch norm's running variance behind an unnormalised VGG encoder
    reaches 1e5, float16 ends at 65504 and would store inf, which silences the channel):
    such a tensor stays float32."""
    t = tensor.detach().cpu()
    if t.is_floating_point():
        finite = t[torch.isfinite(t)]
        fits = finite.numel() == 0 or float(finite.abs().max()) <= torch.finfo(dtype).max
        t = t.to(dtype if fits else torch.float32)
    return t.contiguous()


def _plain_file_mode() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


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


_TORCH_WARNING = re.compile(
    r"Re-running `torch\.load` with `weights_only`.*?trusted source\.", re.S
)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _unsafe_reason(exc: BaseException) -> str:
    """torch's refusal in one line, keeping its warning that a full load can run code."""
    text = _ANSI.sub("", str(exc)).strip()
    if not text:
        return type(exc).__name__
    detail = re.search(r"WeightsUnpickler error: ([^\n]*)", text)
    reason = (detail.group(1) if detail else text.splitlines()[0])[:200].strip()
    warning = _TORCH_WARNING.search(text)
    if warning:
        reason += ". torch: " + " ".join(warning.group(0).split())
    return reason


def check_import_name(name: str, folder: Path, force: bool = False) -> None:
    """Refuse a name a bundled model (or alias) has, since it would be hidden behind it, and
    an existing model of that name in `folder` unless `force`."""
    if not _NAME_RE.match(name):
        raise ModelError(name, "model names use letters, digits, '.', '_' and '-' only")
    bundled = {m.name for m in _scan(bundled_models_dir(), "bundled")}
    if name in bundled or ALIASES.get(name) in bundled:
        raise ModelError(name, "is the name of a bundled model; choose another with --name")
    if (folder / f"{name}.safetensors").exists() and not force:
        raise ModelError(
            folder / f"{name}.safetensors", "a model of this name exists; use --force to replace it"
        )


def import_checkpoint(
    checkpoint: str | Path,
    encoder: str | None = None,
    name: str | None = None,
    folder: str | Path | None = None,
    threshold: float | None = None,
    force: bool = False,
) -> ModelInfo:
    """Convert a PyTorch checkpoint into a model pair in the user's model folder.

    The research scripts' networks (UNet16, UNetResNet34/101) are recognised by their keys;
    an smp U-Net needs its `encoder`. The default threshold is the scripts' 0.2 for theirs
    and 0.5 otherwise. Weights keep the checkpoint's precision (float16 only if it was)."""
    path = Path(checkpoint)
    if not path.exists():
        raise ModelError(path, "file not found")
    if path.stat().st_size == 0:
        raise ModelError(path, "file is empty")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for bad pickles and zip files
        raise ModelError(path, f"cannot read checkpoint safely ({_unsafe_reason(exc)})") from None
    state = _extract_state_dict(obj, path)
    script_model = detect_script_model(state)
    if script_model is not None:
        architecture, encoder = SCRIPT_MODELS[script_model]
        tile, default_threshold = LEGACY_TILE, LEGACY_THRESHOLD
    elif encoder:
        architecture, tile, default_threshold = "Unet", 448, 0.5
    else:
        raise ModelError(
            path,
            "not one of the research scripts' networks (UNet16, UNetResNet34/101); "
            "for a segmentation-models-pytorch U-Net give its --encoder",
        )
    folder = Path(folder) if folder is not None else user_models_dir()
    name = name or f"{path.stem}-{encoder}"
    check_import_name(name, folder, force)
    card = ModelCard(
        name=name,
        encoder=encoder,
        architecture=architecture,
        tile_size=tile,
        threshold=default_threshold if threshold is None else threshold,
        description=f"Imported from {path.name}",
        training={"imported_from": path.name, "network": script_model or "smp-unet"},
    )
    card.validate(f"{path.name} (import)")
    model = build_model(card)
    apply_state_dict(model, state, path)
    floats = [v.dtype for v in state.values() if v.is_floating_point()]
    dtype = torch.float16 if floats and all(d == torch.float16 for d in floats) else torch.float32
    return save_model(model, card, folder, dtype=dtype)


MANIFEST = "manifest.json"  # beside bundled models: {"sha256": {"<file>": "<hex digest>"}}


def recorded_digests(folder: Path) -> dict[str, str]:
    """SHA-256 per weights file as recorded in `folder`'s manifest ({} when there is none)."""
    import json

    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    digests = data.get("sha256") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in digests.items()} if isinstance(digests, dict) else {}


@dataclass(frozen=True)
class ModelCheck:
    """One model file checked: readable card and weights, and its checksum."""

    name: str
    problem: str | None  # None: fine
    digest: str = ""


def check_model_files(folder: Path) -> list[ModelCheck]:
    """Every `.safetensors` in `folder`: its card loads and validates, the weights are
    readable, and their SHA-256 is the one the manifest records (when it records one)."""
    recorded = recorded_digests(folder)
    checks = []
    for weights in sorted(folder.glob("*.safetensors")):
        try:
            ModelCard.load(weights.with_suffix(".json"))
            digest = weights_digest(weights)
            load_state_dict(weights)
        except (ModelError, OSError) as exc:
            checks.append(ModelCheck(weights.stem, str(exc)))
            continue
        expected = recorded.get(weights.name)
        if expected is None and recorded:
            checks.append(ModelCheck(weights.stem, f"{weights}: not in {MANIFEST}", digest))
        elif expected is not None and expected != digest:
            problem = (
                f"{weights}: checksum {digest[:16]}... differs from the recorded "
                f"{expected[:16]}... (damaged or replaced)"
            )
            checks.append(ModelCheck(weights.stem, problem, digest))
        else:
            checks.append(ModelCheck(weights.stem, None, digest))
    return checks


def write_manifest(folder: Path) -> dict[str, str]:
    """Record the SHA-256 of every weights file in `folder` in its manifest (atomically);
    run it whenever bundled models are installed (scripts/ship_model.py)."""
    import json

    from crackinspector.core.io.atomic import atomic_write_text

    digests = {w.name: weights_digest(w) for w in sorted(folder.glob("*.safetensors"))}
    data = {"format": "crackinspector-model-manifest", "sha256": digests}
    atomic_write_text(folder / MANIFEST, json.dumps(data, indent=2) + "\n")
    return digests
