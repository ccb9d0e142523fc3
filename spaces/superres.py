"""What the superres search tries: net, size, upsampling, loss, batch and the cyclic LR bounds."""

from __future__ import annotations

# Cyclic LR peaks up to 2e-3: across the side-by-side runs every SR trial peaking at 1.7e-3 or
# less trained smoothly (6 of 6) and every one peaking at 3.3e-3 or more oscillated or collapsed
# below bicubic (5 of 5; docs/benchmarks.md section 9). The reference's 1e-4..5e-4 is inside.
LR_RANGE = (3e-5, 4e-4)
MAX_LR_RATIO = 5.0

NETS: dict[str, tuple[str, ...]] = {name: (name,) for name in
                                    ("srresnet", "edsr", "srcnn", "srgan")}
"""The nets the space chooses from, by family (here each net is its own)."""
FAMILY = "model"
"""The parameter that picks the family."""


def net_of(point: dict) -> str:
    """The net a point of this space (a warm-start point, a trial's config) trains."""
    return point["model"]


# The reference work's own configurations, run first so the report can say how far the search
# beat them (lr 1e-4..5e-4 is base_lr 1e-4 with ratio 5).
WARM_START = [
    {"model": "srresnet", "blocks": 1, "upsample": "pixelshuffle", "features": 64, "loss": "mse",
     "batch_size": 16, "base_lr": 1e-4, "lr_ratio": 5.0},
    {"model": "srresnet", "blocks": 1, "upsample": "pixelshuffle", "features": 64, "loss": "ssim",
     "batch_size": 16, "base_lr": 1e-4, "lr_ratio": 5.0},
    {"model": "edsr", "blocks": 4, "upsample": "pixelshuffle", "features": 64, "loss": "mse",
     "batch_size": 16, "base_lr": 1e-4, "lr_ratio": 5.0},
    {"model": "srcnn", "features": 64, "loss": "mse", "batch_size": 16, "base_lr": 1e-4,
     "lr_ratio": 5.0},
]


def space(trial, lr_range: tuple[float, float] = LR_RANGE, max_lr_ratio: float = MAX_LR_RATIO,
          models: tuple[str, ...] | None = None):
    """Define-by-run: suggests a trial's config; returns the constants its branch implies.
    `models` are the nets it may choose (None: all)."""
    model = trial.suggest_categorical("model", [n for n in NETS if models is None or n in models])
    constants = None
    if model in ("srresnet", "edsr", "srgan"):
        trial.suggest_int("blocks", 1, 8, log=True)
        trial.suggest_categorical("upsample", ["pixelshuffle", "deconv"])
    else:
        constants = {"blocks": 0, "upsample": "bicubic"}
    if model == "srgan":
        # SRGAN is known to be unstable on this task: very small adversarial weights included.
        trial.suggest_float("adv_weight", 1e-6, 1e-1, log=True)
        trial.suggest_categorical("disc_features", [16, 32, 64])
        trial.suggest_float("disc_lr", 1e-6, 1e-3, log=True)
        trial.suggest_int("warmup_epochs", 0, 2)
    trial.suggest_categorical("features", [16, 32, 64])
    trial.suggest_categorical("loss", ["mse", "ssim", "mse+ssim"])
    trial.suggest_categorical("batch_size", [8, 16, 32])
    trial.suggest_float("base_lr", *lr_range, log=True)
    trial.suggest_float("lr_ratio", 1.0, max_lr_ratio, log=True)
    return constants
