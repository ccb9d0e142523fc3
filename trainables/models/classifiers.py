"""Classifiers from timm with one input channel: ResNet, EfficientNet, MobileViT, MobileNetV3,
and the rotation-equivariant ResNet-18s of models.equivariant, registered in timm.

`mobilevit_ref` is the reference work's small MobileViT (transformer dims 32/48/64, channels
32/32/48/96/96), registered in timm so that it is built like every other net.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

import timm
import torch
from huggingface_hub import try_to_load_from_cache
from timm.models import build_model_with_cfg, get_pretrained_cfg, register_model
from timm.models.byobnet import ByobNet, ByoModelCfg
from timm.models.mobilevit import _inverted_residual_block, _mobilevit_block
from torch import nn

from trainables.errors import UserError
from trainables.models import equivariant  # noqa: F401  (registers c8_resnet18, d8_resnet18)
from trainables.models.families import CLASSIFIERS, FAMILIES

__all__ = ["CLASSIFIERS", "FAMILIES", "build_classifier", "pretrained_weights"]

_MOBILEVIT_REF = ByoModelCfg(
    blocks=(
        _inverted_residual_block(d=1, c=32, s=1, br=2.0),
        _inverted_residual_block(d=2, c=32, s=2, br=2.0),
        _mobilevit_block(d=1, c=48, s=2, transformer_dim=32, transformer_depth=2, patch_size=2,
                         br=2.0),
        _mobilevit_block(d=1, c=96, s=2, transformer_dim=48, transformer_depth=2, patch_size=2,
                         br=2.0),
        _mobilevit_block(d=1, c=96, s=2, transformer_dim=64, transformer_depth=2, patch_size=2,
                         br=2.0),
    ),
    stem_chs=16, stem_type="3x3", stem_pool="", downsample="", act_layer="silu",
    num_features=192,
)


NO_PRETRAINED = ("mobilevit_ref", "c8_resnet18", "d8_resnet18")
"""Nets of lenstune's own, with no ImageNet weights anywhere."""


@register_model
def mobilevit_ref(pretrained: bool = False, **kwargs) -> ByobNet:
    if pretrained:
        raise UserError("mobilevit_ref has no pretrained weights; train it from scratch")
    return build_model_with_cfg(ByobNet, "mobilevit_ref", False, model_cfg=_MOBILEVIT_REF,
                                feature_cfg={"flatten_sequential": True}, **kwargs)


def _cached_weights(name: str) -> Path | None:
    """Weights already in the Hugging Face (timm) or torch hub cache; nothing is downloaded."""
    cfg = get_pretrained_cfg(name)
    if cfg is None:
        return None
    if cfg.hf_hub_id:
        for filename in ("model.safetensors", "pytorch_model.bin"):
            hit = try_to_load_from_cache(cfg.hf_hub_id, filename)
            if isinstance(hit, str):
                return Path(hit)
    if cfg.url:
        path = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(cfg.url).path)
        if path.is_file():
            return path
    return None


def pretrained_weights(name: str, weights_dir: str | Path | None = None) -> Path | None:
    """ImageNet weights for `name`: WEIGHTS_DIR/<name>.{safetensors,pth,pt,bin} (WEIGHTS_DIR
    defaults to $LENSTUNE_WEIGHTS), else the timm/torch cache; None when there are none."""
    folder = weights_dir or os.environ.get("LENSTUNE_WEIGHTS")
    if folder:
        for suffix in (".safetensors", ".pth", ".pt", ".bin"):
            path = Path(folder) / f"{name}{suffix}"
            if path.is_file():
                return path
    return _cached_weights(name) if name not in NO_PRETRAINED else None


def build_classifier(
    name: str, num_classes: int, pretrained: bool = False, drop_rate: float = 0.0,
    weights_dir: str | Path | None = None,
) -> nn.Module:
    """A timm classifier for 1-channel images.

    pretrained=True loads ImageNet weights found by `pretrained_weights` (timm sums the first
    convolution's RGB filters into one channel and drops the ImageNet head); missing weights are
    a UserError naming where they were looked for.
    """
    if name not in CLASSIFIERS:
        raise UserError(f"unknown classifier {name!r}; known: {', '.join(CLASSIFIERS)}")
    kwargs = {"in_chans": 1, "num_classes": num_classes, "drop_rate": drop_rate}
    if not pretrained:
        return timm.create_model(name, pretrained=False, **kwargs)
    path = pretrained_weights(name, weights_dir)
    if path is None:
        where = weights_dir or os.environ.get("LENSTUNE_WEIGHTS") or "the timm/torch cache"
        raise UserError(f"pretrained weights for {name} not found: put {name}.pth (or "
                        f".safetensors) in {where}, or set LENSTUNE_WEIGHTS")
    return timm.create_model(name, pretrained=True, pretrained_cfg_overlay={"file": str(path)},
                             **kwargs)
