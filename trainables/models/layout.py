"""Channels-last (NHWC) memory layout for training and inference.

Measured here (1 thread, fwd+bwd+Adam, bench/throughput.py and docs/benchmarks.md): oneDNN's NHWC
convolutions train SRResNet 1.3x, EfficientNet-B0 1.6x and MobileViT 1.25x faster than NCHW on
a CPU; on GPUs channels-last is what tensor-core convolutions want. For 1-channel inputs the two
layouts are the same memory, so converting a batch costs nothing unless it is a strided view.
"""

from __future__ import annotations

import torch
from torch import nn


def to_layout(model: nn.Module, channels_last: bool) -> nn.Module:
    return model.to(memory_format=torch.channels_last) if channels_last else model


def batch_layout(x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """The batch as one dense block in the model's layout (views from flips are copied once)."""
    return x.contiguous(memory_format=torch.channels_last if channels_last else
                        torch.contiguous_format)
