"""What the anomaly search tries: the classify space, two classes, with the reference's small
MobileViT trained from scratch as its warm start."""

from __future__ import annotations

from spaces.classify import FAMILY, LR_RANGE, MAX_LR_RATIO, NETS, net_of, space

WARM_START = [
    {"family": "mobilevit", "mobilevit_model": "mobilevit_ref", "pretrained": False,
     "dropout": 0.0, "batch_size": 32, "weight_decay": 3e-5, "augment": True, "base_lr": 1e-4,
     "lr_ratio": 5.0},
]

__all__ = ["FAMILY", "LR_RANGE", "MAX_LR_RATIO", "NETS", "WARM_START", "net_of", "space"]
