"""A trial checkpoint folder: model.pt (weights), model.json (what builds the net and prepares
its input), state.pt (optimiser, scheduler, RNG, epoch), and <name>.json for any extras.

Everything loads with torch.load(weights_only=True), so a checkpoint can never run code.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from trainables.errors import UserError
from trainables.tasks import get_task

MODEL_WEIGHTS = "model.pt"
NET_SPEC = "model.json"
TRAINING_STATE = "state.pt"


def save_checkpoint(folder: str | Path, state: dict) -> None:
    """Write the state a training loop reports (model, net_spec, extras, the rest)."""
    folder = Path(folder)
    torch.save(state["model"], folder / MODEL_WEIGHTS)
    (folder / NET_SPEC).write_text(json.dumps(state["net_spec"], indent=2))
    for name, value in state.get("extras", {}).items():
        (folder / f"{name}.json").write_text(json.dumps(value))
    rest = {k: v for k, v in state.items() if k not in ("model", "net_spec", "extras")}
    torch.save(rest, folder / TRAINING_STATE)


def load_training_state(folder: str | Path) -> dict:
    """The state passed to the loop's report, for resuming a trial."""
    folder = Path(folder)
    state = torch.load(folder / TRAINING_STATE, map_location="cpu", weights_only=True)
    state["model"] = torch.load(folder / MODEL_WEIGHTS, map_location="cpu", weights_only=True)
    return state


def load_model(folder: str | Path, device: str = "cpu") -> tuple[nn.Module, dict]:
    """Rebuild the net of a checkpoint (or a best/ folder) in eval mode; returns (net, spec)."""
    folder = Path(folder)
    for name in (NET_SPEC, MODEL_WEIGHTS):
        if not (folder / name).is_file():
            raise UserError(f"{folder}: not a lenstune model folder (no {name})")
    try:
        spec = json.loads((folder / NET_SPEC).read_text())
        net = get_task(spec["task"]).build_net(spec)
    except (ValueError, KeyError) as exc:
        raise UserError(f"{folder / NET_SPEC}: malformed ({exc})") from None
    try:
        weights = torch.load(folder / MODEL_WEIGHTS, map_location=device, weights_only=True)
        net.load_state_dict(weights)
    except Exception as exc:  # a corrupt file, or weights of another net
        reason = str(exc).splitlines()[0][:200]
        raise UserError(f"{folder / MODEL_WEIGHTS}: does not load into the net of {NET_SPEC} "
                        f"({reason})") from None
    return net.to(device).eval(), spec
