"""A trial checkpoint folder: model.pt (weights), model.json (what builds the net and prepares
its input), state.pt (optimiser, scheduler, RNG, epoch, extra state), and <name>.json for each
of the epoch's documents (e.g. evaluation.json).

Everything loads with torch.load(weights_only=True), so a checkpoint can never run code.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from trainables.errors import UserError

MODEL_WEIGHTS = "model.pt"
NET_SPEC = "model.json"
TRAINING_STATE = "state.pt"


def save_checkpoint(folder: str | Path, state: dict) -> None:
    """Write the state a training loop reports (trainables.epochs.epoch_state)."""
    folder = Path(folder)
    torch.save(state["model"], folder / MODEL_WEIGHTS)
    (folder / NET_SPEC).write_text(json.dumps(state["net_spec"], indent=2))
    for name, value in state.get("documents", {}).items():
        (folder / f"{name}.json").write_text(json.dumps(value))
    rest = {k: v for k, v in state.items() if k not in ("model", "net_spec", "documents")}
    torch.save(rest, folder / TRAINING_STATE)


def load_training_state(folder: str | Path) -> dict:
    """The state passed to the loop's report, for resuming a trial."""
    folder = Path(folder)
    state = torch.load(folder / TRAINING_STATE, map_location="cpu", weights_only=True)
    state["model"] = torch.load(folder / MODEL_WEIGHTS, map_location="cpu", weights_only=True)
    return state


def read_net_spec(folder: str | Path) -> dict:
    """model.json of a model folder (a checkpoint, a best/), or a UserError saying why not."""
    folder = Path(folder)
    for name in (NET_SPEC, MODEL_WEIGHTS):
        if not (folder / name).is_file():
            raise UserError(f"{folder}: not a lenstune model folder (no {name})")
    try:
        spec = json.loads((folder / NET_SPEC).read_text())
        spec["task"]
    except (ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{folder / NET_SPEC}: malformed ({exc})") from None
    return spec


def load_weights(folder: str | Path, net: nn.Module, device: str = "cpu") -> nn.Module:
    """`net` (built from the folder's model.json) with the folder's weights, in eval mode."""
    folder = Path(folder)
    try:
        weights = torch.load(folder / MODEL_WEIGHTS, map_location=device, weights_only=True)
        net.load_state_dict(weights)
    except Exception as exc:  # a corrupt file, or weights of another net
        reason = str(exc).splitlines()[0][:200]
        raise UserError(f"{folder / MODEL_WEIGHTS}: does not load into the net of {NET_SPEC} "
                        f"({reason})") from None
    return net.to(device).eval()
