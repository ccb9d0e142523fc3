"""The one error type for problems a user can fix (bad flag, bad data, bad path), and how every
lenstune command reports it: one `error:` line on stderr, exit code 2."""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable


class UserError(Exception):
    """Raised with a one-line message naming the file, flag or value at fault.

    The command-line entry points catch it once, print it on stderr and exit with code 2.
    """


USAGE_ERROR = 2


def exits_cleanly(main: Callable[..., int]) -> Callable[..., int]:
    """Wrap a CLI main so a UserError prints `error: ...` on stderr and returns exit code 2."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs) -> int:
        try:
            return main(*args, **kwargs)
        except UserError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return USAGE_ERROR

    return wrapper


class OneLineArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad flag is one `error:` line and exit code 2, like every other problem."""

    def error(self, message: str):
        raise UserError(f"{self.prog}: {message} (see --help)")
