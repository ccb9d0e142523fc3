"""The typed configuration of one search, built from the command line."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from tasks import get_task
from trainables.errors import UserError
from trainables.precision import SEARCH_PRECISIONS

ASHA_MODES = ("stop", "pause")
"""What ASHA does with a trial outside its rung's top 1/rf: Ray's ASHAScheduler stops it when
it arrives; search.promotion_asha pauses it until later arrivals make it top (or the search
ends)."""

# The defaults of every size-like option, per preset; a task adds its own (tasks/). `laptop`
# finishes on 2 CPU cores in 13-23 minutes; `cluster` is the reference scale, for GPUs. Each
# rung (grace * rf^k) and the last epoch fall at the cyclic LR's low point (a multiple of its
# 4-epoch cycle); a rung after 2 epochs ranked trials by how fast they start, not how they end.
PRESETS: dict[str, dict] = {
    "laptop": {"num_samples": 8, "max_epochs": 8, "grace_epochs": 4, "concurrency": 2,
               "cpus_per_trial": 1.0, "gpus_per_trial": 0.0, "refit_top": 2, "refit_seeds": 1,
               "refit_epochs": None, "models": None, "asha": "pause"},
    "cluster": {"num_samples": 64, "max_epochs": 40, "grace_epochs": 8, "concurrency": 16,
                "cpus_per_trial": 2.0, "gpus_per_trial": 0.25, "refit_top": 3,
                "refit_seeds": 3, "refit_epochs": None, "models": None, "asha": "pause"},
}
def preset_defaults(preset: str, task: str) -> dict:
    """The preset's defaults, with the task's own sizes (tasks/: data size, image size...)."""
    return PRESETS[preset] | get_task(task).presets.get(preset, {})


def experiment_path(storage: str, name: str) -> str:
    """Where experiment `name` lives in `storage` (a folder or a URI)."""
    return f"{storage.rstrip('/')}/{name}"


def default_cache_dir() -> Path:
    return Path(os.environ.get("LENSTUNE_CACHE", Path.home() / ".cache" / "lenstune"))


@dataclass(frozen=True)
class SearchConfig:
    """One search: what task, on which data, how many trials, where results go."""

    task: str
    """A task of tasks.TASKS (superres, classify, anomaly)."""
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
    models: tuple[str, ...] | None = None
    """The nets (or families of nets) the search may choose; None: all of the task's."""
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
    asha: str = "pause"
    """stop: a trial outside the top 1/reduction_factor of its rung stops there (Ray's ASHA);
    pause: it waits there, and resumes if later arrivals make it top (ASHA as published)."""
    concurrency: int = 2
    refit_top: int = 0
    """After the search, its best this-many configurations are trained again from scratch."""
    refit_epochs: int | None = None
    """Epochs of each refit trial; None: max_epochs."""
    refit_seeds: int = 1
    """Fresh seeds each refit configuration is trained with (its mean and std are reported)."""
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    precision: str = "auto"
    """bf16 autocast of every trial's forward passes where its device has bf16 units (GPUs since
    Ampere, CPUs with AVX512-BF16 or AMX), else fp32 (auto); or fp32, or bf16, everywhere."""
    lr_range: tuple[float, float] | None = None
    """Bounds of the searched base learning rate; None: the task's (its space's LR_RANGE)."""
    max_lr_ratio: float | None = None
    """Largest max_lr / base_lr the search tries; None: the task's (MAX_LR_RATIO)."""
    seed: int = 0
    optuna_storage: str | None = None
    """An RDB URL for the Optuna study (postgresql://...); None: SQLite in the experiment."""
    resume: bool = False
    address: str | None = None
    dashboard: bool = True
    verbose: bool = False
    """Ray Tune's own console output instead of lenstune's table."""
    mlflow: str | None = None
    """An MLflow tracking URI (a file: folder or a server) every trial is logged to."""
    cache_dir: Path = field(default_factory=default_cache_dir)

    def __post_init__(self) -> None:
        task = get_task(self.task)  # an unknown task is refused here
        task.resolve_models(self.models)
        if self.lr_range is None:
            object.__setattr__(self, "lr_range", task.space.LR_RANGE)
        if self.max_lr_ratio is None:
            object.__setattr__(self, "max_lr_ratio", task.space.MAX_LR_RATIO)
        for flag, value in (("--num-samples", self.num_samples), ("--max-epochs", self.max_epochs),
                            ("--grace-epochs", self.grace_epochs),
                            ("--concurrency", self.concurrency), ("--sim-count", self.sim_count)):
            if value < 1:
                raise UserError(f"{flag} must be positive, got {value}")
        for flag, value in (("--refit-top", self.refit_top),
                            ("--refit-seeds", self.refit_seeds)):
            if value < 0:
                raise UserError(f"{flag} must be >= 0 (0 turns the refit off), got {value}")
        if self.refit_epochs is not None and self.refit_epochs < 1:
            raise UserError(f"--refit-epochs must be at least 1, got {self.refit_epochs}")
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
        if self.precision not in SEARCH_PRECISIONS:
            raise UserError(f"--precision {self.precision!r}: unknown; known: "
                            f"{', '.join(SEARCH_PRECISIONS)}")
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
    def nets(self) -> tuple[str, ...] | None:
        """The nets --models selects (families expanded); None: all."""
        return get_task(self.task).resolve_models(self.models)

    @property
    def refits(self) -> bool:
        """Whether the search's winners are trained again after it."""
        return self.refit_top > 0 and self.refit_seeds > 0

    @property
    def refit_length(self) -> int:
        return self.refit_epochs or self.max_epochs

    @property
    def is_uri(self) -> bool:
        return "://" in self.storage

    @property
    def experiment_path(self) -> str:
        return experiment_path(self.storage, self.name)
