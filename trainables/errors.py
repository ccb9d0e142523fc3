"""The one error type for problems a user can fix (bad flag, bad data, bad path)."""


class UserError(Exception):
    """Raised with a one-line message naming the file, flag or value at fault.

    The command-line entry points catch it once, print it on stderr and exit with code 2.
    """
