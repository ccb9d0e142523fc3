"""What the anomaly search tries: the classify space, two classes, with the reference's small
MobileViT trained from scratch as its warm start."""

from __future__ import annotations

from spaces import classify
from spaces.classify import FAMILY, NETS, net_of

# Wider than classify's: the anomaly side by side's best net, a ResNet-18, peaked at 1.2e-2
# (0.999 AUC after 4 epochs), and the reference MobileViT learned fastest at 3e-3..9e-3.
LR_RANGE = (1e-4, 3e-3)
MAX_LR_RATIO = 10.0

WARM_START = [
    {"family": "mobilevit", "mobilevit_model": "mobilevit_ref", "pretrained": False,
     "dropout": 0.0, "batch_size": 32, "weight_decay": 3e-5, "augment": True, "base_lr": 1e-4,
     "lr_ratio": 5.0},
]


def space(trial, lr_range: tuple[float, float] = LR_RANGE, max_lr_ratio: float = MAX_LR_RATIO,
          **options):
    """The classify space, searching anomaly's own LR bounds by default."""
    return classify.space(trial, lr_range, max_lr_ratio, **options)


__all__ = ["FAMILY", "LR_RANGE", "MAX_LR_RATIO", "NETS", "WARM_START", "net_of", "space"]
