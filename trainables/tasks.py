"""The task registry: each task's trial config, training loop and net builder, by name.

A task's module is imported when the task is first used: a superres trial worker never imports
timm, scikit-learn or matplotlib (seconds of start-up on a small machine, paid by every new
trial actor).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from trainables.errors import UserError


@dataclass(frozen=True)
class Task:
    name: str
    module: str
    """The module holding the task's loop: fit(), build_net() and the config class."""
    config_name: str

    @property
    def _loop(self):
        return importlib.import_module(self.module)

    @property
    def config_cls(self) -> type:
        """A frozen dataclass with from_dict(); its loop reports the net spec with each state."""
        return getattr(self._loop, self.config_name)

    @property
    def fit(self) -> Callable:
        """fit(cfg, data, report, state=None, logdir=None) -> last metrics."""
        return self._loop.fit

    @property
    def build_net(self) -> Callable[[dict], nn.Module]:
        """Builds the net again from a checkpoint's net spec."""
        return self._loop.build_net


TASKS: dict[str, Task] = {
    "superres": Task("superres", "trainables.superres", "SRTrialConfig"),
    "classify": Task("classify", "trainables.classify", "ClassifyTrialConfig"),
    "anomaly": Task("anomaly", "trainables.classify", "AnomalyTrialConfig"),
}


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise UserError(f"unknown task {name!r}; known: {', '.join(TASKS)}")
    return TASKS[name]
