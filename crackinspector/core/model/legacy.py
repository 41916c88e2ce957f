"""The research scripts' networks: TernausNet-style `UNet16` (VGG16) and `UNetResNet`
(ResNet34 / ResNet101), written here from their description in
../shared/data/seed-checkpoints/README.md, with the same state-dict keys, so that their
users' checkpoints load unchanged.

Both register the encoder's convolutions twice (under `encoder.*` and as the stages
`conv1`..`conv5`), so the same tensors appear under two names in the state dict; saving
keeps one copy (see registry.save_model). Unlike the scripts, no dropout runs before the
final convolution at inference. Inputs whose sides are not a multiple of the network's
stride (32 for VGG, 64 for ResNet) are padded by edge replication inside `forward` and the
output cropped back, so any tile size the Predictor plans works.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

NUM_FILTERS = 32
LEGACY_ARCHITECTURES = ("UNet16", "UNetResNet")
RESNET_DEPTHS = {"resnet34": 34, "resnet101": 101}
# The scripts' `--model` names -> (architecture, encoder) of our card.
SCRIPT_MODELS = {
    "vgg16": ("UNet16", "vgg16"),
    "resnet34": ("UNetResNet", "resnet34"),
    "resnet101": ("UNetResNet", "resnet101"),
}
LEGACY_THRESHOLD = 0.2  # what the scripts used
LEGACY_TILE = 448  # the scripts' training crops


class ConvRelu(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv(x), inplace=True)


class DecoderBlockV2(nn.Module):
    """Bilinear 2x upsampling, then two 3x3 ConvRelu (`block.1`, `block.2`)."""

    def __init__(self, in_channels: int, middle_channels: int, out_channels: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
            ConvRelu(in_channels, middle_channels),
            ConvRelu(middle_channels, out_channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


def _pad_to(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """`x` padded at the bottom and right (edge replication) to a multiple of `multiple`."""
    h, w = x.shape[-2], x.shape[-1]
    pad_h = (multiple - h % multiple) % multiple
    pad_w = (multiple - w % multiple) % multiple
    if isinstance(pad_h, int) and isinstance(pad_w, int) and pad_h == 0 and pad_w == 0:
        return x
    return F.pad(x, [0, pad_w, 0, pad_h], mode="replicate")


class _Padded(nn.Module):
    """Base for networks that need their input sides to be a multiple of `stride`."""

    stride = 32

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2], x.shape[-1]
        out = self.forward_aligned(_pad_to(x, self.stride))
        return out[..., :h, :w]

    def forward_aligned(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def _vgg16_features() -> nn.Sequential:
    """torchvision's VGG16 `features` layout (no batch norm): 13 convs, 5 max-pools."""
    layers: list[nn.Module] = []
    in_ch = 3
    for v in (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512):
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(in_ch, int(v), 3, padding=1), nn.ReLU(inplace=True)]
            in_ch = int(v)
    layers.append(nn.MaxPool2d(2, 2))
    return nn.Sequential(*layers)


class UNet16(_Padded):
    """U-Net with a VGG16 encoder whose convolutions are reused as the stages conv1..conv5."""

    stride = 32

    def __init__(self, num_classes: int = 1) -> None:
        super().__init__()
        f = NUM_FILTERS
        self.pool = nn.MaxPool2d(2, 2)
        self.encoder = _vgg16_features()
        self.relu = nn.ReLU(inplace=True)
        e = self.encoder

        def stage(indices: Iterable[int]) -> nn.Sequential:
            parts: list[nn.Module] = []
            for i in indices:
                parts += [e[i], self.relu]
            return nn.Sequential(*parts)

        self.conv1 = stage((0, 2))
        self.conv2 = stage((5, 7))
        self.conv3 = stage((10, 12, 14))
        self.conv4 = stage((17, 19, 21))
        self.conv5 = stage((24, 26, 28))
        self.center = DecoderBlockV2(512, f * 16, f * 8)
        self.dec5 = DecoderBlockV2(512 + f * 8, f * 16, f * 8)
        self.dec4 = DecoderBlockV2(512 + f * 8, f * 16, f * 8)
        self.dec3 = DecoderBlockV2(256 + f * 8, f * 8, f * 2)
        self.dec2 = DecoderBlockV2(128 + f * 2, f * 4, f)
        self.dec1 = ConvRelu(64 + f, f)
        self.final = nn.Conv2d(f, num_classes, 1)

    def forward_aligned(self, x: torch.Tensor) -> torch.Tensor:
        c1 = self.conv1(x)
        c2 = self.conv2(self.pool(c1))
        c3 = self.conv3(self.pool(c2))
        c4 = self.conv4(self.pool(c3))
        c5 = self.conv5(self.pool(c4))
        center = self.center(self.pool(c5))
        d5 = self.dec5(torch.cat([center, c5], 1))
        d4 = self.dec4(torch.cat([d5, c4], 1))
        d3 = self.dec3(torch.cat([d4, c3], 1))
        d2 = self.dec2(torch.cat([d3, c2], 1))
        d1 = self.dec1(torch.cat([d2, c1], 1))
        return self.final(d1)


class _BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_ch: int, ch: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, ch, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(ch)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(ch, ch, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(ch)
        self.downsample = _downsample(in_ch, ch * self.expansion, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class _Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_ch: int, ch: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, ch, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(ch)
        self.conv2 = nn.Conv2d(ch, ch, 3, stride, 1, bias=False)  # stride on the 3x3 (v1.5)
        self.bn2 = nn.BatchNorm2d(ch)
        self.conv3 = nn.Conv2d(ch, ch * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(ch * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(in_ch, ch * self.expansion, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def _downsample(in_ch: int, out_ch: int, stride: int) -> nn.Sequential | None:
    if stride == 1 and in_ch == out_ch:
        return None
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride, bias=False), nn.BatchNorm2d(out_ch))


class ResNetEncoder(nn.Module):
    """torchvision's ResNet layout (conv1, bn1, layer1..4, fc), without its forward."""

    LAYOUTS: ClassVar[dict[int, tuple[type[nn.Module], tuple[int, int, int, int]]]] = {
        34: (_BasicBlock, (3, 4, 6, 3)),
        101: (_Bottleneck, (3, 4, 23, 3)),
    }

    def __init__(self, depth: int) -> None:
        super().__init__()
        block, counts = self.LAYOUTS[depth]
        expansion: int = getattr(block, "expansion", 1)
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        in_ch = 64
        layers = []
        for i, (ch, n) in enumerate(zip((64, 128, 256, 512), counts, strict=True)):
            blocks = []
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                blocks.append(block(in_ch, ch, stride))
                in_ch = ch * expansion
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512 * expansion, 1000)  # in the checkpoints, unused here
        self.out_channels = 512 * expansion


class UNetResNet(_Padded):
    """U-Net on a ResNet34 / ResNet101 encoder, TernausNet's `UNetResNet` layout."""

    stride = 64

    def __init__(self, depth: int = 101, num_classes: int = 1) -> None:
        super().__init__()
        if depth not in ResNetEncoder.LAYOUTS:
            raise ValueError(f"UNetResNet depth must be 34 or 101, not {depth}")
        f = NUM_FILTERS
        self.pool = nn.MaxPool2d(2, 2)
        self.encoder = ResNetEncoder(depth)
        self.relu = nn.ReLU(inplace=True)
        b = self.encoder.out_channels
        e = self.encoder
        self.conv1 = nn.Sequential(e.conv1, e.bn1, self.relu, self.pool)
        self.conv2 = e.layer1
        self.conv3 = e.layer2
        self.conv4 = e.layer3
        self.conv5 = e.layer4
        self.center = DecoderBlockV2(b, f * 16, f * 8)
        self.dec5 = DecoderBlockV2(b + f * 8, f * 16, f * 8)
        self.dec4 = DecoderBlockV2(b // 2 + f * 8, f * 16, f * 8)
        self.dec3 = DecoderBlockV2(b // 4 + f * 8, f * 8, f * 2)
        self.dec2 = DecoderBlockV2(b // 8 + f * 2, f * 4, f * 4)
        self.dec1 = DecoderBlockV2(f * 4, f * 4, f)
        self.dec0 = ConvRelu(f, f)
        self.final = nn.Conv2d(f, num_classes, 1)

    def forward_aligned(self, x: torch.Tensor) -> torch.Tensor:
        c1 = self.conv1(x)
        c2 = self.conv2(c1)
        c3 = self.conv3(c2)
        c4 = self.conv4(c3)
        c5 = self.conv5(c4)
        center = self.center(self.pool(c5))
        d5 = self.dec5(torch.cat([center, c5], 1))
        d4 = self.dec4(torch.cat([d5, c4], 1))
        d3 = self.dec3(torch.cat([d4, c3], 1))
        d2 = self.dec2(torch.cat([d3, c2], 1))
        d1 = self.dec1(d2)
        return self.final(self.dec0(d1))


def build_legacy(architecture: str, encoder: str, classes: int = 1) -> nn.Module:
    """An untrained research-script network; raises ValueError for an unknown combination."""
    if architecture == "UNet16" and encoder == "vgg16":
        return UNet16(classes)
    if architecture == "UNetResNet" and encoder in RESNET_DEPTHS:
        return UNetResNet(RESNET_DEPTHS[encoder], classes)
    raise ValueError(f"no {architecture} network with encoder {encoder!r}")


def detect_script_model(keys: Iterable[str]) -> str | None:
    """Which of the scripts' models ("vgg16", "resnet34", "resnet101") a state dict's keys
    are from, or None when they are not one of them."""
    keys = set(keys)
    if not {"center.block.1.conv.weight", "final.weight", "encoder.conv1.weight"} & keys:
        return None
    if "dec1.conv.weight" in keys and "encoder.0.weight" in keys and "conv5.4.weight" in keys:
        return "vgg16"
    if "dec0.conv.weight" in keys and "encoder.layer4.0.conv1.weight" in keys:
        if "encoder.layer1.0.conv3.weight" in keys:  # bottleneck blocks
            deep = "encoder.layer3.22.conv1.weight" in keys
            return "resnet101" if deep and "encoder.layer3.23.conv1.weight" not in keys else None
        return "resnet34" if "encoder.layer3.5.conv1.weight" in keys else None
    return None


def shared_keys(model: nn.Module) -> dict[str, str]:
    """For each state-dict key whose tensor an earlier key already holds: that earlier key."""
    first: dict[int, str] = {}
    alias: dict[str, str] = {}
    for key, value in model.state_dict(keep_vars=True).items():
        ptr = value.data_ptr()
        if ptr in first and value.numel() > 0:
            alias[key] = first[ptr]
        else:
            first.setdefault(ptr, key)
    return alias
