"""lenstune.json, written by search.run beside Ray's files: what the search was, and the bicubic
baseline. Read by --resume and the report; kept light to import (no Ray, torch or Optuna)."""

from __future__ import annotations

import json

from search import storage
from trainables.errors import UserError

MANIFEST = "lenstune.json"


def read_manifest(experiment: str) -> dict:
    path = f"{experiment.rstrip('/')}/{MANIFEST}"
    if not storage.exists(path):
        raise UserError(f"{experiment}: not a lenstune experiment (no {MANIFEST})")
    return json.loads(storage.read_text(path))
