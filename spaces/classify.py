"""What the classify search tries: architecture family and size, pretrained or scratch,
regularisation, augmentation, batch and the cyclic LR bounds."""

from __future__ import annotations

from trainables.models.families import FAMILIES

NETS = FAMILIES
"""The nets the space chooses from, by family."""
FAMILY = "family"
"""The parameter that picks the family."""

# Cyclic LR peaks up to 5e-3: in the side-by-side and preset runs every classify trial peaking at
# 5e-3 or less learned (ResNet-18 as well from 1e-3..3e-3 as from 1e-4..5e-4, the best MobileViT
# at 1.5e-3..5e-3, a C8 ResNet-18 at 0.979 from 2.9e-4..6.8e-4), and both peaking at 1e-2 or
# more failed: a MobileViT fell to chance, a D8 ResNet-18 swung 0.72-0.97 from epoch to epoch
# (docs/benchmarks.md section 9). The reference's 1e-4..5e-4 is inside. Within this range the
# side by side's D8 drew 6.0e-4..2.4e-3 and beat the reference ResNet-34 by 0.013 (section 7).
LR_RANGE = (1e-4, 1e-3)
MAX_LR_RATIO = 5.0

_REFERENCE = {"pretrained": False, "dropout": 0.0, "batch_size": 64, "weight_decay": 3e-5,
              "augment": True, "base_lr": 1e-4, "lr_ratio": 5.0}
# The reference work's configurations (lr 1e-4..5e-4, Adam weight decay 3e-5, batch 64).
WARM_START = [
    {"family": "resnet", "resnet_model": "resnet18", **_REFERENCE},
    {"family": "resnet", "resnet_model": "resnet34", **_REFERENCE},
    {"family": "efficientnet", "efficientnet_model": "efficientnet_b2", **_REFERENCE},
]


def net_of(point: dict) -> str:
    """The net a point of this space (a warm-start point, a trial's config) trains."""
    return point.get("model") or point[f"{point['family']}_model"]


def space(trial, lr_range: tuple[float, float] = LR_RANGE, max_lr_ratio: float = MAX_LR_RATIO,
          pretrained_models: tuple[str, ...] = (), models: tuple[str, ...] | None = None):
    """Define-by-run; `pretrained_models` are the nets whose ImageNet weights are on disk,
    `models` the nets it may choose (None: all)."""
    nets = {family: [n for n in names if models is None or n in models]
            for family, names in FAMILIES.items()}
    family = trial.suggest_categorical("family", [f for f, names in nets.items() if names])
    model = trial.suggest_categorical(f"{family}_model", nets[family])
    constants = {"model": model}
    if model in pretrained_models:
        trial.suggest_categorical("pretrained", [False, True])
    else:
        constants["pretrained"] = False
    trial.suggest_float("dropout", 0.0, 0.5)
    trial.suggest_categorical("batch_size", [32, 64, 128])
    trial.suggest_float("weight_decay", 1e-6, 1e-3, log=True)
    trial.suggest_categorical("augment", [True, False])
    trial.suggest_float("base_lr", *lr_range, log=True)
    trial.suggest_float("lr_ratio", 1.0, max_lr_ratio, log=True)
    return constants
