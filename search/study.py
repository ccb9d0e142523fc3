"""The Optuna study's storage: a SQLite file in the experiment by default, or a shared database."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trainables.errors import UserError

if TYPE_CHECKING:
    import optuna

STUDY_FILE = "optuna.db"


def default_study_url(experiment_path: str) -> str | None:
    """sqlite:///STORAGE/NAME/optuna.db for a local experiment; None (in memory) for a URI."""
    if "://" in experiment_path:
        return None
    return f"sqlite:///{experiment_path}/{STUDY_FILE}"


def open_study_storage(url: str) -> optuna.storages.RDBStorage:
    """Connect (creating the tables if needed); a malformed or unreachable URL is a UserError."""
    import optuna  # when used, so that search.run reads its flags without it

    try:
        return optuna.storages.RDBStorage(url)
    except Exception as exc:  # SQLAlchemy raises many types: bad URL, missing driver, no server
        reason = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise UserError(f"--optuna-storage {url}: cannot open ({reason})") from None


def load_study(url: str, name: str) -> optuna.Study | None:
    """The experiment's study, or None when it has none (in-memory) or it cannot be read."""
    import optuna

    try:
        return optuna.load_study(study_name=name, storage=url)
    except Exception:  # a report of a partial experiment must not fail on its study
        return None
