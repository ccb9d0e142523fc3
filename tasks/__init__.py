"""The tasks lenstune searches: each one object holding everything task-specific, by name.

A task's module is imported when the task is first asked for, and its training loop when first
used: naming a task costs no torch, timm or scikit-learn import (seconds on a small machine).
Adding a task is one module with a `Task` (see tasks.task) and one line here.
"""

from __future__ import annotations

import importlib

from tasks.task import Task
from trainables.errors import UserError

TASKS: dict[str, str] = {
    "superres": "tasks.superres:SUPERRES",
    "classify": "tasks.classify:CLASSIFY",
    "anomaly": "tasks.classify:ANOMALY",
}
"""Task name -> "module:attribute" of its Task."""

_registered: dict[str, Task] = {}


def register_task(task: Task) -> None:
    """Make `task` known by its name in this process (a plug-in's or a test's own task)."""
    if task.name in TASKS or task.name in _registered:
        raise ValueError(f"task {task.name!r} registered twice")
    _registered[task.name] = task


def task_names() -> list[str]:
    return [*TASKS, *_registered]


def get_task(name: str) -> Task:
    if name in _registered:
        return _registered[name]
    if name not in TASKS:
        raise UserError(f"--task {name!r}: unknown task; known: {', '.join(task_names())}")
    module, attribute = TASKS[name].split(":")
    return getattr(importlib.import_module(module), attribute)


def load_model(folder, device: str = "cpu"):
    """The net of a checkpoint (or a best/ folder) in eval mode, and its spec (model.json)."""
    from trainables.checkpoint import load_weights, read_net_spec

    spec = read_net_spec(folder)
    if spec["task"] not in task_names():
        raise UserError(f"{folder}: a model of task {spec['task']!r}, which this lenstune does "
                        f"not know ({', '.join(task_names())})")
    try:
        net = get_task(spec["task"]).build_net(spec)
    except (KeyError, ValueError, TypeError) as exc:
        raise UserError(f"{folder}/model.json: malformed ({exc!r})") from None
    return load_weights(folder, net, device), spec
