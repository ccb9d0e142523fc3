from search.config import SearchConfig


def test_asha_uses_the_configured_reduction_factor(tmp_path):
    from search.tune_internals import asha_rungs
    from search.tuner import build_tuner

    cfg = SearchConfig(task="superres", name="rf", reduction_factor=3, grace_epochs=1,
                       max_epochs=9, storage=str(tmp_path), asha="stop")
    tuner = build_tuner(cfg, lambda config: None)
    scheduler = tuner._local_tuner._tune_config.scheduler
    # Rungs at grace * rf^k epochs: 1, 3 and 9.
    assert sorted(epochs for epochs, _ in asha_rungs(scheduler)[0]) == [1, 3, 9]


def test_actors_are_reused_only_on_a_runtime_this_process_started(tmp_path, monkeypatch):
    from cluster import runtime
    from search.tuner import build_tuner

    cfg = SearchConfig(task="superres", name="reuse", storage=str(tmp_path))
    for own in (True, False):  # a cluster may be joined without --address (RAY_ADDRESS)
        monkeypatch.setattr(runtime, "runtime_started_in_this_process", lambda own=own: own)
        tuner = build_tuner(cfg, lambda config: None)
        assert tuner._local_tuner._tune_config.reuse_actors is own
