"""A trial function for fault tests: lenstune's run_trial with a hook on every report."""

from trainables.tune_adapter import run_trial


def run_trial_checking(check):
    """run_trial, calling check(config, metrics) before each epoch is reported (to crash there)."""
    def trial(config, data, settings):
        import ray.tune

        real_report = ray.tune.report

        def report(metrics, checkpoint=None):
            check(config, metrics)
            real_report(metrics, checkpoint=checkpoint)

        ray.tune.report = report
        try:
            run_trial(config, data, settings)
        finally:
            ray.tune.report = real_report

    return trial
