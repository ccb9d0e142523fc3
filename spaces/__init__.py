"""What to try: one define-by-run space per task, its metric and mode, and warm-start points.

A space module has METRIC, MODE, WARM_START, LR_RANGE, MAX_LR_RATIO, LEADERBOARD_PARAMS,
LEADERBOARD_METRICS and space(trial, lr_range, max_lr_ratio, ...).
"""

from types import ModuleType

from spaces import anomaly, classify, superres

SPACES: dict[str, ModuleType] = {"superres": superres, "classify": classify, "anomaly": anomaly}
