"""Resuming a search from a saved state that the interruption left out of step with storage.

Tune keeps a trial's CHECKPOINTS_KEPT best checkpoints and its latest. Registering a new one
deletes the one it displaces at once, but the experiment state that lists each trial's
checkpoints is saved only every so often. A search killed in between (a lost node, a restarted
machine) is read back naming a checkpoint that no longer exists: the trial fails on it at every
retry and ends in ERROR, its epochs lost (ray-project/ray#27790).

Before Tune reads the state back, the checkpoints missing from storage are struck from each
trial's saved record, and its latest becomes the newest one left, consistent with the results
saved in the same snapshot. The trial resumes from there and trains the epochs after it again
(its result.json then holds both reports of those epochs); with none left, it starts over.

The same snapshot keeps the decisions Tune held back until a trial's save returned (a PAUSE or
STOP waiting on its checkpoint). A search interrupted in between saved such a decision, but the
save it waited on died with that process. Read back, it was carried out on the trial's next
save in the resumed search, whatever the scheduler then decided: a trial promoted at a rung was
paused again with nothing left to resume it, and the search never ended. Those decisions are
dropped from the state; the trial's status and the scheduler's records say what it does next.
"""

from __future__ import annotations

import json

from ray.tune.experiment import Trial
from ray.tune.result import TRAINING_ITERATION

from search import storage
from search.tune_internals import (
    HELD_DECISIONS,
    CheckpointManager,
    TrainingResult,
    TrainingRunMetadata,
    checkpoint_results,
    find_newest_experiment_checkpoint,
    latest_checkpoint_result,
    set_checkpoint_results,
)
from trainables.errors import UserError


def repair_saved_state(experiment_path: str) -> list[str]:
    """Rewrite the newest saved experiment state so that no unfinished trial resumes from a
    checkpoint missing from storage, nor with a decision held for a save of the interrupted
    run; one line per trial whose checkpoint changed, saying from where it resumes."""
    fs, root = storage.filesystem(experiment_path)
    state_path = find_newest_experiment_checkpoint(root, fs=fs)
    if state_path is None:
        return []
    with fs.open_input_stream(state_path) as stream:
        raw = stream.readall()
    try:
        state = json.loads(raw)
        entries = state["trial_data"]
        runner = state["runner_data"]
        held = any(runner.get(name) for name in HELD_DECISIONS)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # torn or hand-edited
        raise UserError(f"--resume: {state_path} is not a saved experiment state Ray Tune can "
                        f"read ({type(exc).__name__}: {exc})") from None

    def on_storage(result: TrainingResult) -> bool:
        # The state holds the paths the checkpoints had when saved; Tune maps them into a moved
        # experiment by the trial folder, as here.
        trial_dir, checkpoint_dir = result.checkpoint.path.rstrip("/").split("/")[-2:]
        return storage.exists_on(fs, f"{root}/{trial_dir}/{checkpoint_dir}")

    changes = []
    for entry in entries:
        trial = json.loads(entry[0])
        if trial["status"] == Trial.TERMINATED:
            continue  # not run again: its record stays as it is
        metadata = TrainingRunMetadata.from_json_state(entry[1])
        change = _fall_back(metadata.checkpoint_manager, on_storage)
        if change:
            entry[1] = metadata.get_json_state()
            changes.append(f"trial {trial['trial_id']}: {change}")
    if held:
        runner.update({name: {} for name in HELD_DECISIONS})
    if changes or held:
        # Written beside it and moved over it, so that a crash here cannot leave a torn state
        # (the name does not match the pattern Tune reads the state by).
        staged = f"{state_path}.repaired"
        with fs.open_output_stream(staged) as out:
            out.write(json.dumps(state).encode())
        fs.move(staged, state_path)
    return changes


def _epoch(result: TrainingResult) -> int:
    return result.metrics.get(TRAINING_ITERATION, 0)


def _fall_back(manager: CheckpointManager | None, on_storage) -> str | None:
    """Strike the missing checkpoints from a trial's record (Tune's checkpoint manager keeps
    them in private fields, with no public way to drop one); what changed, or None."""
    latest = manager and latest_checkpoint_result(manager)
    if latest is None or on_storage(latest):
        return None
    kept = [result for result in checkpoint_results(manager) if on_storage(result)]
    newest = max(kept, key=_epoch, default=None)
    set_checkpoint_results(manager, kept, newest)
    resumes = f"resumes from epoch {_epoch(newest)}" if kept else "starts over"
    return f"the checkpoint of epoch {_epoch(latest)} is gone from storage; it {resumes}"
