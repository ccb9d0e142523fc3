"""What to try: one define-by-run space per task, its metric and mode, and warm-start points.

A space module has METRIC, MODE, WARM_START, LR_RANGE, MAX_LR_RATIO, LEADERBOARD_PARAMS,
LEADERBOARD_METRICS, NETS (its nets by family), net_of(point) and
space(trial, lr_range, max_lr_ratio, ..., models).
"""

from types import ModuleType

from spaces import anomaly, classify, superres
from trainables.errors import UserError

SPACES: dict[str, ModuleType] = {"superres": superres, "classify": classify, "anomaly": anomaly}


def known_models(task: str) -> list[str]:
    """The family and net names --models takes for `task`."""
    nets = SPACES[task].NETS
    return list(dict.fromkeys([*nets, *(n for names in nets.values() for n in names)]))


def resolve_models(task: str, names: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """The nets `names` select (a family name selects all of its nets); None selects all."""
    if names is None:
        return None
    nets = SPACES[task].NETS
    unknown = [n for n in names if n not in known_models(task)]
    if unknown or not names:
        raise UserError(f"--models {','.join(names)}: unknown {', '.join(unknown) or 'empty'}; "
                        f"known for {task}: {', '.join(known_models(task))}")
    return tuple(dict.fromkeys(n for name in names for n in nets.get(name, (name,))))


def warm_start(task: str, models: tuple[str, ...] | None) -> tuple[list[dict], list[str]]:
    """The task's warm-start points whose nets `models` (resolved) select, and the nets of
    those it drops."""
    space = SPACES[task]
    kept = [p for p in space.WARM_START if models is None or space.net_of(p) in models]
    dropped = [space.net_of(p) for p in space.WARM_START if p not in kept]
    return kept, dropped
