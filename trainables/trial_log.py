"""One TensorBoard log per trial: scalars, images, and the HParams entry written at the start."""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams


def _hparam_value(value):
    return value if isinstance(value, (bool, int, float, str)) else str(value)


class TrialLog:
    """A SummaryWriter that registers the trial in TensorBoard's HParams view before epoch 1.

    Ray's TBXLoggerCallback writes hyperparameters only when a trial ends; writing the experiment
    and session-start summaries first lets the HParams view show running and stopped trials, with
    the latest value of each metric tag read from the scalars written each epoch.
    """

    def __init__(self, logdir: str | Path, hyperparameters: dict, metric_tags: list[str]) -> None:
        self.writer = SummaryWriter(log_dir=str(logdir))
        clean = {k: _hparam_value(v) for k, v in hyperparameters.items()}
        experiment, session_start, self._session_end = hparams(
            clean, {tag: float("nan") for tag in metric_tags}
        )
        self.writer.file_writer.add_summary(experiment)
        self.writer.file_writer.add_summary(session_start)

    def scalars(self, step: int, values: dict[str, float]) -> None:
        for tag, value in values.items():
            self.writer.add_scalar(tag, value, step)
        self.writer.flush()

    def image(self, step: int, tag: str, image: torch.Tensor) -> None:
        self.writer.add_image(tag, image, step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.file_writer.add_summary(self._session_end)
        self.writer.close()
