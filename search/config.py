"""The typed configuration of one search, built from the command line."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from trainables.errors import UserError
from trainables.precision import PRECISIONS

TASK_NAMES = ("superres", "classify", "anomaly")
ASHA_MODES = ("stop", "pause")
"""What ASHA does with a trial outside its rung's top 1/rf: Ray's ASHAScheduler stops it when
it arrives; search.promotion_asha pauses it until later arrivals make it top (or the search
ends)."""

# The defaults of every size-like option, per preset and task. `laptop` finishes on 2 CPU cores
# in under 10 minutes; `cluster` is the reference scale, for GPUs.
PRESETS: dict[str, dict] = {
    "laptop": {"num_samples": 8, "max_epochs": 6, "grace_epochs": 2, "concurrency": 2,
               "cpus_per_trial": 1.0, "gpus_per_trial": 0.0},
    "cluster": {"num_samples": 64, "max_epochs": 40, "grace_epochs": 4, "concurrency": 16,
                "cpus_per_trial": 2.0, "gpus_per_trial": 0.25},
}
TASK_PRESETS: dict[tuple[str, str], dict] = {
    # sim_count: pairs for superres, images per class otherwise. image_size: None = as stored.
    ("laptop", "superres"): {"sim_count": 600, "image_size": None},
    ("laptop", "classify"): {"sim_count": 300, "image_size": 48, "num_samples": 6},
    ("laptop", "anomaly"): {"sim_count": 300, "image_size": 48, "num_samples": 6},
    ("cluster", "superres"): {"sim_count": 10000, "image_size": None},
    ("cluster", "classify"): {"sim_count": 10000, "image_size": None},
    ("cluster", "anomaly"): {"sim_count": 5000, "image_size": None},
}


def preset_defaults(preset: str, task: str) -> dict:
    return PRESETS[preset] | TASK_PRESETS.get((preset, task), {})


def experiment_path(storage: str, name: str) -> str:
    """Where experiment `name` lives in `storage` (a folder or a URI)."""
    return f"{storage.rstrip('/')}/{name}"


def default_cache_dir() -> Path:
    return Path(os.environ.get("LENSTUNE_CACHE", Path.home() / ".cache" / "lenstune"))


@dataclass(frozen=True)
class SearchConfig:
    """One search: what task, on which data, how many trials, where results go."""

    task: str
    """superres (classify and anomaly follow)."""
    name: str
    """Experiment name: results go to storage/name."""
    storage: str = "lenstune_results"
    """A local folder (made absolute) or a pyarrow URI (s3://, gs://)."""
    data: Path | None = None
    """A data set in the task's layout; None simulates (once) the embedded default."""
    sim_count: int = 600
    """Size of the simulated default data set (pairs for superres, images per class else)."""
    image_size: int | None = None
    """classify/anomaly: resize images to this square size on load (None: as stored)."""
    weights_dir: Path | None = None
    """classify/anomaly: folder of local ImageNet weights (<model>.pth) for pretrained nets."""
    val_fraction: float | None = None
    """Seeded validation split; None: the data set's own val/ folder where it has one, else
    10 %. Given, it re-splits even a data set with its own val/ (train/ and val/ pooled)."""
    num_samples: int = 8
    """Trials to run, warm-start points included."""
    max_epochs: int = 6
    grace_epochs: int = 2
    """ASHA never stops a trial before this many epochs."""
    reduction_factor: int = 2
    """ASHA keeps the best 1/reduction_factor of the trials at each rung (grace * rf^k epochs)."""
    asha: str = "stop"
    """stop: a trial outside the top 1/reduction_factor of its rung stops there (Ray's ASHA);
    pause: it waits there, and resumes if later arrivals make it top (ASHA as published)."""
    concurrency: int = 2
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    precision: str = "fp32"
    """fp32, or bf16 autocast of every trial's forward passes (GPUs, CPUs with bf16 units)."""
    lr_range: tuple[float, float] = (1e-5, 1e-3)
    """Bounds of the searched base learning rate."""
    max_lr_ratio: float = 10.0
    """Largest max_lr / base_lr the search tries."""
    seed: int = 0
    optuna_storage: str | None = None
    """An RDB URL for the Optuna study (postgresql://...); None: SQLite in the experiment."""
    resume: bool = False
    address: str | None = None
    dashboard: bool = True
    cache_dir: Path = field(default_factory=default_cache_dir)

    def __post_init__(self) -> None:
        if self.task not in TASK_NAMES:
            raise UserError(f"--task {self.task!r}: unknown task; known: {', '.join(TASK_NAMES)}")
        for flag, value in (("--num-samples", self.num_samples), ("--max-epochs", self.max_epochs),
                            ("--grace-epochs", self.grace_epochs),
                            ("--concurrency", self.concurrency), ("--sim-count", self.sim_count)):
            if value < 1:
                raise UserError(f"{flag} must be positive, got {value}")
        if self.seed < 0:
            raise UserError(f"--seed must be >= 0, got {self.seed}")
        if self.reduction_factor < 2:
            raise UserError(f"--reduction-factor must be at least 2, got {self.reduction_factor}")
        if self.asha not in ASHA_MODES:
            raise UserError(f"--asha {self.asha!r}: unknown; known: {', '.join(ASHA_MODES)}")
        if self.grace_epochs > self.max_epochs:
            raise UserError(f"--grace-epochs {self.grace_epochs} exceeds --max-epochs "
                            f"{self.max_epochs}")
        if self.cpus_per_trial <= 0:
            raise UserError(f"--cpus-per-trial must be positive, got {self.cpus_per_trial}")
        if self.gpus_per_trial < 0 or (self.gpus_per_trial > 1 and self.gpus_per_trial % 1):
            raise UserError(f"--gpus-per-trial must be >= 0, and whole above 1, got "
                            f"{self.gpus_per_trial}")
        if self.precision not in PRECISIONS:
            raise UserError(f"--precision {self.precision!r}: unknown; known: "
                            f"{', '.join(PRECISIONS)}")
        low, high = self.lr_range
        if low <= 0 or high <= 0:
            raise UserError(f"--lr-range must be positive, got {low} {high}")
        if low >= high:
            raise UserError(f"--lr-range is inverted or empty: {low} >= {high}")
        if self.max_lr_ratio < 1:
            raise UserError(f"--max-lr-ratio must be >= 1 (max_lr >= base_lr), got "
                            f"{self.max_lr_ratio}")
        if self.image_size is not None and self.image_size < 16:
            raise UserError(f"--image-size must be at least 16, got {self.image_size}")
        if self.weights_dir is not None and not Path(self.weights_dir).is_dir():
            raise UserError(f"--weights-dir {self.weights_dir}: not a folder")
        if self.val_fraction is not None and not 0 < self.val_fraction < 1:
            raise UserError(f"--val-fraction must be between 0 and 1, got {self.val_fraction}")
        if not self.name or "/" in self.name or self.name in (".", ".."):
            raise UserError(f"--name {self.name!r}: must be a plain folder name")

    @property
    def is_uri(self) -> bool:
        return "://" in self.storage

    @property
    def experiment_path(self) -> str:
        return experiment_path(self.storage, self.name)
