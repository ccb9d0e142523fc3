"""The task registry: each task's trial config, training loop and net builder, by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from trainables import classify, superres
from trainables.errors import UserError


@dataclass(frozen=True)
class Task:
    name: str
    config_cls: type
    """A frozen dataclass with from_dict(); its loop reports the net spec with each state."""
    fit: Callable
    """fit(cfg, data, report, state=None, logdir=None) -> last metrics."""
    build_net: Callable[[dict], nn.Module]
    """Builds the net again from a checkpoint's net spec."""


TASKS: dict[str, Task] = {
    "superres": Task("superres", superres.SRTrialConfig, superres.fit, superres.build_net),
    "classify": Task("classify", classify.ClassifyTrialConfig, classify.fit, classify.build_net),
    "anomaly": Task("anomaly", classify.AnomalyTrialConfig, classify.fit, classify.build_net),
}


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise UserError(f"unknown task {name!r}; known: {', '.join(TASKS)}")
    return TASKS[name]
