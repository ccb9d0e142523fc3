import optuna
import pytest

from spaces import anomaly, classify
from trainables.classify import ClassifyTrialConfig

RUN_SETTINGS = {"max_epochs": 1, "seed": 0, "threads": 1}


def _suggest(trial, **options):
    constants = classify.space(trial, **options) or {}
    return {**trial.params, **constants}


def test_every_suggestion_is_a_valid_trial_config():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    families = set()
    for _ in range(60):
        trial = study.ask()
        config = _suggest(trial)
        ClassifyTrialConfig.from_dict(config | RUN_SETTINGS)
        assert config["pretrained"] is False  # no weights on disk: scratch only
        families.add(config["family"])
        study.tell(trial, 0.5)
    assert families == set(classify.NETS)


def test_pretrained_is_searched_only_for_nets_with_weights():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(80):
        trial = study.ask()
        config = _suggest(trial, pretrained_models=("resnet18",))
        if config["model"] != "resnet18":
            assert config["pretrained"] is False
        else:
            seen.add(config["pretrained"])
        study.tell(trial, 0.5)
    assert seen == {False, True}


@pytest.mark.parametrize("point", classify.WARM_START + anomaly.WARM_START)
def test_warm_start_points_are_reproduced_exactly(point):
    study = optuna.create_study()
    study.enqueue_trial(point)
    config = _suggest(study.ask())
    assert {k: config[k] for k in point} == point
    ClassifyTrialConfig.from_dict(config | RUN_SETTINGS)



def test_every_familys_suggestion_has_a_field_in_the_trial_config():
    import dataclasses

    fields = {f.name for f in dataclasses.fields(ClassifyTrialConfig)}
    assert {f"{family}_model" for family in classify.NETS} <= fields


def test_each_space_searches_its_own_lr_bounds_by_default():
    # anomaly borrows classify's space but not its bounds (bench.learning_curves calls it bare)
    for module in (classify, anomaly):
        trial = optuna.create_study().ask()
        module.space(trial)
        lr = trial.distributions["base_lr"]
        assert (lr.low, lr.high) == module.LR_RANGE
        assert trial.distributions["lr_ratio"].high == module.MAX_LR_RATIO
    assert anomaly.LR_RANGE != classify.LR_RANGE
