"""Turning a trial's config dict into a frozen dataclass, rejecting keys it does not know."""

from __future__ import annotations

import dataclasses
from typing import TypeVar

from trainables.errors import UserError

C = TypeVar("C")


def config_from_dict(cls: type[C], values: dict) -> C:
    """cls(**values), but a key that is not a field is an error (a typo in a space fails loudly)."""
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise UserError(f"{cls.__name__}: unknown config keys {unknown}; known: {sorted(fields)}")
    required = {f.name for f in dataclasses.fields(cls)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    missing = sorted(required - set(values))
    if missing:
        raise UserError(f"{cls.__name__}: missing config keys {missing}")
    return cls(**values)


def require(condition: bool, message: str) -> None:
    if not condition:
        raise UserError(message)
