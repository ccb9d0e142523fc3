"""Refit: the search's best configurations trained again from scratch, to full length, with fresh
seeds.

ASHA's short rungs rank nets by how fast they learn, and the best of many noisy trials is
flattered by its luck; trained again with seeds the search never used, the winners say how good
they are. The refit is a second Ray Tune run in the experiment's folder (NAME/refit/): the
search's trainable, checkpoints, retries and resume, no early stopping.
"""

from __future__ import annotations

import pickle

from ray import tune
from ray.tune.search import ConcurrencyLimiter, Searcher

from search import storage
from search.config import SearchConfig
from search.extend import ExtendableSearch
from search.tuner import reuse_actors, run_config, trial_dirname
from tasks import get_task

REFIT = "refit"
RUN_KEYS = ("seed", "max_epochs", "tta")
"""What a refit trial's config adds to the search trial's it repeats (tasks' refit_constants
included)."""
NOT_REFIT = ("diverged", "error")


def refit_key(name: str) -> str:
    """The refit run's key for search.extend."""
    return f"{name}/{REFIT}"


def refit_path(experiment: str) -> str:
    return f"{experiment.rstrip('/')}/{REFIT}"


def has_refit(experiment: str) -> bool:
    return storage.exists(f"{refit_path(experiment)}/tuner.pkl")


def refit_seeds(seed: int, count: int) -> list[int]:
    """Seeds no search trial used (every search trial trains with `seed`)."""
    return [seed + 1 + i for i in range(count)]


def search_config(config: dict) -> dict:
    """The searched configuration a (refit) trial's config holds."""
    return {k: v for k, v in config.items() if k not in RUN_KEYS}


def config_key(config: dict) -> str:
    return repr(sorted(search_config(config).items()))


def winners(rows: list[dict], configs: dict[str, dict], top: int) -> list[dict]:
    """The configurations of the `top` best search trials (leaderboard rows, best first), each
    configuration once; trials that diverged or failed are passed over."""
    chosen: dict[str, dict] = {}
    for row in rows:
        if len(chosen) == top:
            break
        if (row.get("phase") != "search" or row["status"] in NOT_REFIT
                or row["trial"] not in configs):
            continue
        config = configs[row["trial"]]
        chosen.setdefault(config_key(config), config)
    return list(chosen.values())


def refit_trial_configs(cfg: SearchConfig, winning: list[dict]) -> list[dict]:
    """One trial per winning configuration and fresh seed, the seeds of one configuration
    side by side."""
    constants = get_task(cfg.task).refit_constants()
    return [search_config(config) | constants | {"seed": seed, "max_epochs": cfg.refit_length}
            for config in winning for seed in refit_seeds(cfg.seed, cfg.refit_seeds)]


class FixedConfigs(Searcher):
    """Suggests exactly `configs`, in order, then no more; saved with the run, so that a resumed
    refit goes on with the configurations it had not started. (Tune's BasicVariantGenerator
    takes preset points only for keys of a param_space, and a conditional space's points do
    not share their keys.)"""

    def __init__(self, configs: list[dict]) -> None:
        super().__init__()
        self.configs = [dict(c) for c in configs]
        self.given = 0

    def extend(self, configs: list[dict]) -> int:
        """Add the configurations not held yet (a search extended after its refit); returns
        how many it holds."""
        self.configs += [dict(c) for c in configs if c not in self.configs]
        return len(self.configs)

    def suggest(self, trial_id: str) -> dict | str:
        if self.given == len(self.configs):
            return Searcher.FINISHED
        self.given += 1
        return dict(self.configs[self.given - 1])

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        pass

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as out:
            pickle.dump({"configs": self.configs, "given": self.given}, out)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as saved:
            self.__dict__.update(pickle.load(saved))


def build_refit_tuner(cfg: SearchConfig, trainable, configs: list[dict]) -> tune.Tuner:
    """The refit run: exactly `configs`, in order, `cfg.concurrency` at once, none stopped."""
    return tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            search_alg=ExtendableSearch(
                ConcurrencyLimiter(FixedConfigs(configs), max_concurrent=cfg.concurrency),
                key=refit_key(cfg.name)),
            num_samples=len(configs), reuse_actors=reuse_actors(),
            trial_dirname_creator=trial_dirname),
        run_config=run_config(cfg, REFIT, len(configs), cfg.refit_length),
    )
