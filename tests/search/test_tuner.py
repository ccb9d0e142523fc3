import timm
import torch

from search.config import SearchConfig
from search.tuner import _space_options, _trial_constants


def test_pretrained_is_offered_only_for_nets_with_local_weights(tmp_path):
    torch.save(timm.create_model("resnet18").state_dict(), tmp_path / "resnet18.pth")
    cfg = SearchConfig(task="classify", name="w", weights_dir=tmp_path)
    offered = _space_options(cfg)["pretrained_models"]
    assert "resnet18" in offered and "mobilevit_ref" not in offered
    assert _trial_constants(cfg) == {"precision": "auto", "weights_dir": str(tmp_path)}


def test_superres_space_gets_the_lr_options():
    cfg = SearchConfig(task="superres", name="s", lr_range=(1e-4, 1e-3), max_lr_ratio=4.0)
    assert _space_options(cfg) == {"lr_range": (1e-4, 1e-3), "max_lr_ratio": 4.0, "models": None}
    assert _trial_constants(cfg) == {"precision": "auto"}


def test_precision_reaches_every_trial():
    for task in ("superres", "classify"):
        cfg = SearchConfig(task=task, name="p", precision="bf16")
        assert _trial_constants(cfg)["precision"] == "bf16"


def test_asha_uses_the_configured_reduction_factor(tmp_path):
    from search.tuner import build_tuner

    cfg = SearchConfig(task="superres", name="rf", reduction_factor=3, grace_epochs=1,
                       max_epochs=9)
    tuner = build_tuner(cfg, lambda config: None, str(tmp_path))
    scheduler = tuner._local_tuner._tune_config.scheduler
    # Rungs at grace * rf^k epochs: 1, 3 and 9 (private attributes: no public accessor).
    assert sorted(epochs for epochs, _ in scheduler._brackets[0]._rungs) == [1, 3, 9]


def test_actors_are_reused_only_on_a_runtime_this_process_started(tmp_path, monkeypatch):
    from cluster import runtime
    from search.tuner import build_tuner

    cfg = SearchConfig(task="superres", name="reuse")
    for own in (True, False):  # a cluster may be joined without --address (RAY_ADDRESS)
        monkeypatch.setattr(runtime, "runtime_started_in_this_process", lambda own=own: own)
        tuner = build_tuner(cfg, lambda config: None, str(tmp_path))
        assert tuner._local_tuner._tune_config.reuse_actors is own
