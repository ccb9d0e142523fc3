"""What every task's trial config shares: the batch, the cyclic LR, the length, where it runs."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TypeVar

from trainables.errors import UserError
from trainables.precision import PRECISIONS

C = TypeVar("C", bound="TrialConfig")


def require(condition: bool, message: str) -> None:
    if not condition:
        raise UserError(message)


@dataclass(frozen=True, kw_only=True)
class TrialConfig:
    """The fields of one trial that every task's loop reads; a task's config adds its own."""

    task: str
    """The task the trial's saved model belongs to (its model.json says so)."""
    batch_size: int = 32
    base_lr: float = 1e-4
    """Lower bound of the cyclic learning rate."""
    lr_ratio: float = 5.0
    """max_lr / base_lr (>= 1, so the bounds can never be inverted)."""
    weight_decay: float = 0.0
    max_epochs: int = 10
    seed: int = 0
    threads: int = 1
    """Torch intra-op threads: the CPUs Ray gave the trial."""
    device: str = "cpu"
    image_every: int = 2
    """Draw the validation samples (SR grids, ROC curves) every this many epochs, and at the
    first and last."""
    channels_last: bool = True
    """Train and validate in the NHWC memory layout (faster convolutions; see models.layout)."""
    precision: str = "fp32"
    """fp32, or bf16 autocast of the net's forward passes (see trainables.precision)."""

    def __post_init__(self) -> None:
        require(self.precision in PRECISIONS,
                f"unknown precision {self.precision!r}; known: {list(PRECISIONS)}")
        require(self.batch_size >= 1, f"batch_size must be positive, got {self.batch_size}")
        require(self.base_lr > 0, f"base_lr must be positive, got {self.base_lr}")
        require(self.lr_ratio >= 1, f"lr_ratio (max_lr/base_lr) must be >= 1, got {self.lr_ratio}")
        require(self.weight_decay >= 0, f"weight_decay must be >= 0, got {self.weight_decay}")
        require(self.max_epochs >= 1, f"max_epochs must be positive, got {self.max_epochs}")
        require(self.threads >= 1 and self.image_every >= 1,
                "threads and image_every must be >= 1")

    @classmethod
    def from_dict(cls: type[C], values: dict) -> C:
        """cls(**values), but a key that is not a field is an error (a typo in a space fails
        loudly instead of training with a default)."""
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - fields)
        if unknown:
            raise UserError(f"{cls.__name__}: unknown config keys {unknown}; known: "
                            f"{sorted(fields)}")
        missing = sorted(f.name for f in dataclasses.fields(cls)
                         if f.default is dataclasses.MISSING
                         and f.default_factory is dataclasses.MISSING and f.name not in values)
        if missing:
            raise UserError(f"{cls.__name__}: missing config keys {missing}")
        return cls(**values)
