import optuna
import pytest

from spaces import superres
from trainables.superres import SRTrialConfig

RUN_SETTINGS = {"max_epochs": 1, "seed": 0, "threads": 1}


def _suggest(trial):
    params = superres.space(trial)
    return {**trial.params, **(params or {})}


def test_every_suggestion_is_a_valid_trial_config():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    models = set()
    for _ in range(60):
        trial = study.ask()
        config = _suggest(trial)
        SRTrialConfig.from_dict(config | RUN_SETTINGS)
        models.add(config["model"])
        study.tell(trial, 0.0)
    assert models == {"srresnet", "edsr", "srcnn", "srgan"}


@pytest.mark.parametrize("point", superres.WARM_START)
def test_warm_start_points_are_reproduced_exactly(point):
    study = optuna.create_study()
    study.enqueue_trial(point)
    config = _suggest(study.ask())
    assert {k: config[k] for k in point} == point
    SRTrialConfig.from_dict(config | RUN_SETTINGS)


def test_lr_bounds_can_never_be_inverted():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(30):
        trial = study.ask()
        superres.space(trial, lr_range=(1e-4, 2e-4), max_lr_ratio=3.0)
        assert 1e-4 <= trial.params["base_lr"] <= 2e-4
        assert 1.0 <= trial.params["lr_ratio"] <= 3.0
        study.tell(trial, 0.0)
