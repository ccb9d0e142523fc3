"""Rotation-equivariant ResNet-18s over the cyclic group C8 and the dihedral group D8 (e2cnn).

Lensing images have no preferred orientation: steerable convolutions build that prior into the
net. The stages are ResNet-18's (a 7x7 stem, max pooling, 2+2+2+2 basic blocks), each feature a
regular field of the group, with as many channels as ResNet-18 has (64 to 512: 8 to 64 fields of
C8, 4 to 32 of D8); group pooling and global average pooling before the head make the output
invariant to the group.

A net with stride-2 steps samples an even-sized image at even pixels, which a quarter turn maps
to odd ones: the input is first resized (bilinear, corners aligned, which commutes with flips
and quarter turns) to the nearest size of 32k + 1 pixels above it, where every stride-2 step
keeps the centre pixel. Then the output is exactly invariant to quarter turns (and, for D8,
flips), and to 45-degree turns up to the grid's interpolation.

Registered in timm's registry like every other net here (`c8_resnet18`, `d8_resnet18`); e2cnn
is imported when one is built (3 s).
"""

from __future__ import annotations

import functools
import math
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from timm.models import register_model
from torch import nn

from trainables.errors import UserError

STAGE_CHANNELS = (64, 128, 256, 512)
"""ResNet-18's channels per stage; a stage has channels / |G| regular fields."""
DOWNSAMPLINGS = 5
"""Stride-2 steps: the stem, its max pooling, and stages 2 to 4."""


def odd_size(size: int) -> int:
    """The smallest 32k + 1 >= size: every stride-2 step then keeps the centre pixel."""
    step = 2 ** DOWNSAMPLINGS
    return step * max(1, math.ceil((size - 1) / step)) + 1


def _bytes(value):
    return value.tobytes() if hasattr(value, "tobytes") else value


def _solution_hash(self) -> int:
    return (hash(self.in_irrep) + hash(self.out_irrep) + hash(_bytes(self.mu))
            + hash(_bytes(self.gamma)))


class _NumPyOneCopy:
    """numpy as e2cnn's kernel functions were written for: `array(x, copy=False)` meant "copy
    only if needed" in NumPy 1 (asarray), and NumPy 2 raises where a copy is needed."""

    def __getattr__(self, name: str):
        return getattr(np, name)

    @staticmethod
    def array(obj, *args, copy=True, **kwargs):
        if copy is False:
            return np.asarray(obj, *args, **kwargs)
        return np.array(obj, *args, copy=copy, **kwargs)


@functools.cache
def _e2cnn():
    """e2cnn, imported once and fitted to NumPy 2 (e2cnn 0.2.3 predates it): its kernel bases
    hash with ndarray.tostring, which NumPy 2 removed (they hash the same bytes through
    tobytes), and its kernel sampling asks array(..., copy=False) for a copy-if-needed."""
    # e2cnn indexes its kernel masks with uint8 tensors, which torch warns of at every build.
    warnings.filterwarnings("ignore", message="indexing with dtype torch.uint8")
    import e2cnn
    from e2cnn.kernels import irreps_basis
    from e2cnn.kernels import utils as kernel_utils

    for name in ("R2FlipsSolution", "R2DiscreteRotationsSolution",
                 "R2FlipsDiscreteRotationsSolution", "R2FlipsContinuousRotationsSolution"):
        getattr(irreps_basis, name).__hash__ = _solution_hash
    kernel_utils.np = _NumPyOneCopy()
    return e2cnn


@functools.cache
def _basic_block():
    """ResNet's basic block in steerable convolutions (an e2cnn EquivariantModule, so defined
    once e2cnn is imported): two 3x3 convolutions, and a 1x1 one on the shortcut where the
    stride or the width changes."""
    enn = _e2cnn().nn

    class BasicBlock(enn.EquivariantModule):
        def __init__(self, in_type, out_type, stride: int) -> None:
            super().__init__()
            self.in_type, self.out_type = in_type, out_type
            self.body = enn.SequentialModule(
                enn.R2Conv(in_type, out_type, 3, padding=1, stride=stride, bias=False),
                enn.InnerBatchNorm(out_type), enn.ReLU(out_type, inplace=True),
                enn.R2Conv(out_type, out_type, 3, padding=1, bias=False),
                enn.InnerBatchNorm(out_type))
            self.shortcut = None
            if stride != 1 or in_type != out_type:
                self.shortcut = enn.SequentialModule(
                    enn.R2Conv(in_type, out_type, 1, stride=stride, bias=False),
                    enn.InnerBatchNorm(out_type))
            self.relu = enn.ReLU(out_type, inplace=True)

        def forward(self, x):
            skip = x if self.shortcut is None else self.shortcut(x)
            return self.relu(self.body(x) + skip)

        def evaluate_output_shape(self, input_shape):
            return self.body.evaluate_output_shape(input_shape)

    return BasicBlock


class EquivariantResNet18(nn.Module):
    """ResNet-18-like, equivariant to `group` (c8 or d8), invariant at its output."""

    def __init__(self, group: str, num_classes: int, drop_rate: float = 0.0) -> None:
        super().__init__()
        gspaces, enn = _e2cnn().gspaces, _e2cnn().nn
        self.gspace = (gspaces.Rot2dOnR2(N=8) if group == "c8"
                       else gspaces.FlipRot2dOnR2(N=8))
        order = self.gspace.fibergroup.order()

        def fields(channels: int):
            return enn.FieldType(self.gspace, [self.gspace.regular_repr] * (channels // order))

        self.in_type = enn.FieldType(self.gspace, [self.gspace.trivial_repr])
        stem = fields(STAGE_CHANNELS[0])
        layers = [enn.R2Conv(self.in_type, stem, 7, stride=2, padding=3, bias=False),
                  enn.InnerBatchNorm(stem), enn.ReLU(stem, inplace=True),
                  enn.PointwiseMaxPool(stem, 3, stride=2, padding=1)]
        current = stem
        for stage, channels in enumerate(STAGE_CHANNELS):
            out_type = fields(channels)
            for block in range(2):
                stride = 2 if stage > 0 and block == 0 else 1
                layers.append(_basic_block()(current, out_type, stride))
                current = out_type
        self.features = enn.SequentialModule(*layers)
        self.pool = enn.GroupPooling(current)
        self.num_features = len(current)
        self.head_drop = nn.Dropout(drop_rate)
        self.fc = nn.Linear(self.num_features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = odd_size(max(x.shape[-2:]))
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=True)
        features = self.pool(self.features(_e2cnn().nn.GeometricTensor(x, self.in_type))).tensor
        return self.fc(self.head_drop(features.mean(dim=(-2, -1))))


def _build(group: str, pretrained: bool, in_chans: int = 1, num_classes: int = 3,
           drop_rate: float = 0.0, **kwargs) -> EquivariantResNet18:
    if pretrained:
        raise UserError(f"{group}_resnet18 has no pretrained weights; train it from scratch")
    if in_chans != 1:
        raise UserError(f"{group}_resnet18 takes one input channel, not {in_chans}")
    return EquivariantResNet18(group, num_classes, drop_rate)


@register_model
def c8_resnet18(pretrained: bool = False, **kwargs) -> EquivariantResNet18:
    """ResNet-18-like, equivariant to rotations by multiples of 45 degrees."""
    return _build("c8", pretrained, **kwargs)


@register_model
def d8_resnet18(pretrained: bool = False, **kwargs) -> EquivariantResNet18:
    """ResNet-18-like, equivariant to rotations by multiples of 45 degrees and reflections."""
    return _build("d8", pretrained, **kwargs)
