"""How one trial trains: data, models, losses, metrics and one training loop per task.

Nothing here imports `search` or `spaces`; only `trainables.tune_adapter` imports Ray Tune.
"""

__version__ = "0.1.0"
