"""A finished search given more trials: `--resume --num-samples N` (Ray Tune cannot: a restored
run keeps the sample count it was saved with, ray-project/ray#42221).

Every run lenstune starts hands Tune an ExtendableSearch in place of the SearchGenerator Tune
would wrap its searcher in. Before a resumed run's fit, the driver asks for more (`request`);
when Tune restores the search's saved state it raises its count, and gives a searcher that
takes configurations (the refit's FixedConfigs) the new ones. The searchers' own saved state
(TPE's study, ASHA's rungs) is restored as it is, so the new trials follow from every earlier
one, and finished trials are not run again.
"""

from __future__ import annotations

from ray.tune.search import SearchGenerator

_requests: dict[str, dict] = {}
"""Run key -> what its restored search is to be given (this process's next restore)."""


def request(key: str, num_samples: int | None = None, configs: list[dict] | None = None) -> None:
    """Ask the run `key`, restored next in this process, for `num_samples` trials in all, or
    for `configs` (those it does not hold yet are added)."""
    _requests[key] = {"num_samples": num_samples, "configs": configs}


class ExtendableSearch(SearchGenerator):
    """Tune's SearchGenerator, whose count a resumed run may raise."""

    def __init__(self, searcher, key: str) -> None:
        super().__init__(searcher)
        self.key = key

    def _innermost(self):
        searcher = self.searcher
        while hasattr(searcher, "searcher"):
            searcher = searcher.searcher
        return searcher

    def restore_from_dir(self, dirpath: str) -> None:
        super().restore_from_dir(dirpath)
        wanted = _requests.pop(self.key, None)
        if wanted is None:
            return
        state = self.get_state()
        total = state["total_samples"]
        if wanted["configs"]:
            total = max(total, self._innermost().extend(wanted["configs"]))
        if wanted["num_samples"]:
            total = max(total, wanted["num_samples"])
        if total > state["total_samples"]:
            self.set_state(state | {"total_samples": total, "finished": False})
