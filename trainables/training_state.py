"""What a training loop reports after each epoch, and how it resumes from it."""

from __future__ import annotations

import torch
from torch import nn


def epoch_state(model: nn.Module, optimizer, scheduler, gen: torch.Generator, epoch: int,
                net_spec: dict, **extra) -> dict:
    """Everything needed to continue after `epoch` (see trainables.checkpoint for the files)."""
    return {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "generator": gen.get_state(), "epoch": epoch,
            "net_spec": net_spec, **extra}


def resume(state: dict | None, model: nn.Module, optimizer, scheduler,
           gen: torch.Generator) -> int:
    """Load a reported state into the training objects; returns the first epoch to run."""
    if state is None:
        return 1
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    gen.set_state(state["generator"])
    return state["epoch"] + 1
