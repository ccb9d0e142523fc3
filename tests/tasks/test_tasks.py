"""The task registry and what a task tells a search: options, constants, nets, warm starts."""

import optuna
import pytest
import timm
import torch

from search.config import SearchConfig
from spaces import classify
from tasks import get_task, task_names
from trainables.errors import UserError


def test_the_tasks_are_listed_once_and_each_names_its_pieces():
    assert task_names() == ["superres", "classify", "anomaly"]
    for name in task_names():
        task = get_task(name)
        assert task.name == name and task.mode in ("max", "min")
        assert task.metric in task.leaderboard_metrics
        assert task.trial_config.__name__.endswith("TrialConfig")
        assert task.space.WARM_START and callable(task.space.space)
    with pytest.raises(UserError, match="--task 'segment': unknown task; known: superres"):
        get_task("segment")


def test_pretrained_is_offered_only_for_nets_with_local_weights(tmp_path):
    torch.save(timm.create_model("resnet18").state_dict(), tmp_path / "resnet18.pth")
    cfg = SearchConfig(task="classify", name="w", weights_dir=tmp_path)
    task = get_task("classify")
    offered = task.space_options(cfg)["pretrained_models"]
    assert "resnet18" in offered and "mobilevit_ref" not in offered
    assert task.trial_constants(cfg) == {"task": "classify", "precision": "auto",
                                         "weights_dir": str(tmp_path)}


def test_superres_space_gets_the_lr_options():
    cfg = SearchConfig(task="superres", name="s", lr_range=(1e-4, 1e-3), max_lr_ratio=4.0)
    task = get_task("superres")
    assert task.space_options(cfg) == {"lr_range": (1e-4, 1e-3), "max_lr_ratio": 4.0,
                                       "models": None}
    assert task.trial_constants(cfg) == {"task": "superres", "precision": "auto"}


def test_each_task_searches_its_own_lr_range_unless_told():
    from search.run import parse_args
    from spaces import anomaly, classify, superres

    for argv, expected in ((["--task", "superres"], (superres.LR_RANGE, superres.MAX_LR_RATIO)),
                           (["--task", "classify"], ((1e-4, 1e-3), 5.0)),
                           (["--task", "anomaly"], ((1e-4, 3e-3), 10.0)),
                           (["--task", "superres", "--lr-range", "1e-4", "3e-3",
                             "--max-lr-ratio", "10"], ((1e-4, 3e-3), 10.0))):
        cfg = parse_args(argv)
        assert (cfg.lr_range, cfg.max_lr_ratio) == expected
    assert superres.LR_RANGE[1] * superres.MAX_LR_RATIO <= 2e-3  # the SR nets' stable peaks
    assert classify.LR_RANGE[1] * classify.MAX_LR_RATIO <= 5e-3  # the classifiers' stable peaks
    assert anomaly.LR_RANGE[1] * anomaly.MAX_LR_RATIO > 1.2e-2  # the anomaly winner's peak


def test_help_gives_each_tasks_lr_bounds_and_no_empty_defaults():
    from search.run import build_parser

    text = " ".join(build_parser().format_help().split())
    assert "superres 3e-5 4e-4, classify 1e-4 1e-3, anomaly 1e-4 3e-3" in text
    assert "superres 5, classify 5, anomaly 10" in text
    assert "(default: laptop)" in text and "default: None" not in text


def test_precision_reaches_every_trial():
    for task in ("superres", "classify"):
        cfg = SearchConfig(task=task, name="p", precision="bf16")
        assert get_task(task).trial_constants(cfg)["precision"] == "bf16"


def _suggest(trial, **options):
    constants = classify.space(trial, **options) or {}
    return {**trial.params, **constants}


def test_models_restricts_the_nets_and_drops_the_other_nets_warm_starts():
    task = get_task("classify")
    nets = task.resolve_models(("resnet18", "mobilevit"))
    assert nets == ("resnet18", "mobilevit_ref", "mobilevit_xxs", "mobilevit_xs", "mobilevit_s")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(40):
        trial = study.ask()
        seen.add(_suggest(trial, models=nets)["model"])
        study.tell(trial, 0.5)
    assert seen == set(nets)
    kept, dropped = task.warm_start(nets)
    assert [p["resnet_model"] for p in kept] == ["resnet18"]
    assert dropped == ["resnet34", "efficientnet_b2"]
    assert task.warm_start(None) == (classify.WARM_START, [])


def test_the_first_trials_are_the_references_then_one_of_each_family_they_leave_out():
    from search.tuner import build_searcher

    task = get_task("classify")
    nets = task.resolve_models(("resnet18", "equivariant", "mobilevit_ref"))
    assert task.first_points(nets) == [classify.WARM_START[0], {"family": "mobilevit"},
                                       {"family": "equivariant"}]
    assert get_task("superres").first_points(None)[4:] == [{"model": "srgan"}]
    # through the search's own searcher (real Optuna): the rest of each trial is sampled
    cfg = SearchConfig(task="classify", name="first", models=("resnet18", "equivariant",
                                                               "mobilevit_ref"), num_samples=6)
    searcher = build_searcher(cfg)
    configs = [searcher.suggest(f"t{i}") for i in range(4)]
    assert {k: configs[0][k] for k in classify.WARM_START[0]} == classify.WARM_START[0]
    assert configs[1]["model"] == "mobilevit_ref"
    assert configs[2]["model"] in ("c8_resnet18", "d8_resnet18")
    assert len({c["base_lr"] for c in configs}) == 4


def test_an_unknown_model_name_lists_the_known_ones():
    with pytest.raises(UserError, match="unknown vgg16; known for classify: resnet, "):
        get_task("classify").resolve_models(("resnet18", "vgg16"))


def test_every_laptop_preset_names_known_nets_and_keeps_a_reference_net():
    from search.config import preset_defaults
    from trainables.models.classifiers import CLASSIFIERS

    for name in ("classify", "anomaly"):
        models = preset_defaults("laptop", name)["models"]
        assert set(models) <= set(CLASSIFIERS)
        # The report compares the search against a reference configuration it ran.
        space = get_task(name).space
        assert {space.net_of(p) for p in space.WARM_START} & set(models)
    # The equivariant nets learned the most per image (docs/benchmarks.md, section 11).
    assert {"c8_resnet18", "d8_resnet18"} <= set(preset_defaults("laptop", "classify")["models"])
